"""Pure reshaping functions: pivot/melt of variation columns, account/opportunity joins."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

import bspandas
import bspandas.frame.accessor
from bspandas import catalog
from bspandas._io.dtypes import Backend
from bspandas.frame import reshape

BACKENDS: tuple[Backend, ...] = ("numpy_nullable", "pyarrow")
STAGES = list(reshape.DEFAULT_STAGE_PROBABILITY)


# -- building typed frames by hand -----------------------------------------------------------


def typed(obj: str, name: str, values: Sequence[Any], backend: Backend = "numpy_nullable") -> Any:
    """``values`` with the catalog dtype of column ``name`` (both backends)."""
    info = reshape.catalog_columns([name], obj)[name]
    dtype = info.dtype(backend)
    kind = info.part.type
    if kind in ("date", "timestamp"):
        series = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    elif kind == "duration":
        series = pd.Series(pd.to_timedelta(pd.Series(values, dtype=object)))
    else:
        series = pd.Series(values, dtype=object)
    return series.astype(dtype).array


def frame_of(
    obj: str,
    data: Mapping[str, Sequence[Any]],
    backend: Backend = "numpy_nullable",
    index: pd.Index | None = None,
) -> pd.DataFrame:
    return pd.DataFrame(
        {name: typed(obj, name, values, backend) for name, values in data.items()}, index=index
    )


def accounts_frame(backend: Backend = "numpy_nullable", n: int = 4) -> pd.DataFrame:
    """Several metrics and periods, interleaved with plain and expanded columns."""
    rng = np.random.default_rng(7)
    ints = [int(v) for v in rng.integers(0, 50, n)]
    data: dict[str, Sequence[Any]] = {
        "ootb_account_crm_id": [f"001{i:04d}" for i in range(n)],
        "ootb_emails_sent_current_quarter": ints,
        "ootb_account_name": [f"Account {i}" for i in range(n)],
        "ootb_emails_sent_last_7_days": [v // 3 for v in ints],
        "ootb_account_percentage_emails_inbound_last_90_days": [
            None if i == 1 else 12.5 * i for i in range(n)
        ],
        "ootb_emails_sent_last_30_days": [None if i == 2 else v // 2 for i, v in enumerate(ints)],
        "ootb_account_original_owner_id": [1000 + i for i in range(n)],
        "ootb_account_original_owner_name": [f"Owner {i}" for i in range(n)],
        "ootb_churn_risk_score": [float(10 * i) for i in range(n)],
        "ootb_account_percentage_emails_inbound_last_30_days": [5.0 + i for i in range(n)],
    }
    return frame_of("account", data, backend)


def mixed_frame(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    """Variation columns of different dtypes: count, money, boolean, date, duration."""
    return frame_of(
        "account",
        {
            "ootb_account_crm_id": ["001A", "001B", "001C"],
            "ootb_meetings_held_last_7_days": [1, None, 3],
            "ootb_won_pipeline_value_current_year": [1000.5, 0.0, None],
            "ootb_executive_engagement_current": [True, None, False],
            "ootb_last_activity_date_current": ["2026-01-02", None, "2025-12-31"],
            "ootb_account_total_activities_time_spent_standard_last_30_days": [
                "1:30:00",
                "27:00:05",
                None,
            ],
        },
        backend,
    )


def opportunities_frame(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    return frame_of(
        "opportunity",
        {
            "crm_opportunity_id": ["006A", "006B", "006C", "006D", "006E", "006F"],
            "crm_account_id": ["0010001", "0010000", "0010001", "0019999", None, "0010003"],
            "ootb_opportunity_amount": [100.0, 250.0, None, 40.0, 10.0, 500.0],
            "ootb_opportunity_amount_currency": ["USD", "USD", "USD", "USD", "USD", "USD"],
            "ootb_opportunity_stage": [
                "Proposal",
                "Closed Won",
                "Negotiation",
                "Prospecting",
                "Closed Lost",
                "Closed Lost",
            ],
            "ootb_opportunity_is_closed": [False, True, False, False, True, True],
            "ootb_opportunity_close_date": ["2026-03-01", None, "2026-02-01", None, None, None],
            "ootb_opportunity_owner_id": [1, 2, 3, 4, 5, 6],
        },
        backend,
    )


def drop_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {}
    return out


# -- column names and objects ----------------------------------------------------------------


def test_variation_columns_map_names_once_including_doubled_percentages() -> None:
    frame = accounts_frame()
    found = reshape.variation_columns(frame, "account")
    assert found == {
        "ootb_emails_sent_current_quarter": ("ootb_emails_sent", "current_quarter"),
        "ootb_emails_sent_last_7_days": ("ootb_emails_sent", "last_7_days"),
        "ootb_account_percentage_emails_inbound_last_90_days": (
            "ootb_account_percentage_emails_inbound",
            "last_90_days",
        ),
        "ootb_emails_sent_last_30_days": ("ootb_emails_sent", "last_30_days"),
        "ootb_account_percentage_emails_inbound_last_30_days": (
            "ootb_account_percentage_emails_inbound",
            "last_30_days",
        ),
    }
    doubled = "ootb_account_percentage_emails_inbound_last_90_days_last_90_days"
    info = reshape.catalog_columns([doubled, "ootb_account_original_owner_name"], "account")
    assert (info[doubled].slug, info[doubled].period) == (
        "ootb_account_percentage_emails_inbound",
        "last_90_days",
    )
    owner = info["ootb_account_original_owner_name"]
    assert (owner.period, owner.part.suffix, owner.key) == (None, "_name", "user.name")


def test_infer_object_explicit_attrs_then_columns() -> None:
    opps = opportunities_frame()
    assert reshape.infer_object(opps) == "opportunity"
    assert reshape.infer_object(opps, "user") == "user"
    opps.attrs["backstory"] = {"object": "account"}
    assert reshape.infer_object(opps) == "account"
    opps.attrs["backstory"] = {"object": "nonsense"}
    assert reshape.infer_object(opps) == "opportunity"
    with pytest.raises(bspandas.UnknownObjectError):
        reshape.infer_object(opps, "deal")


def test_infer_object_without_catalog_columns_says_how_to_name_it() -> None:
    with pytest.raises(bspandas.QueryError, match=r"as_object\(\"account\"\)"):
        reshape.infer_object(pd.DataFrame({"a": [1], "b": [2]}))


def test_infer_object_lists_candidates_when_ambiguous() -> None:
    catalog.register("region__c", type="text", object="account")
    catalog.register("region__c", type="text", object="user")
    with pytest.raises(bspandas.QueryError) as info:
        reshape.infer_object(pd.DataFrame({"region__c": ["EMEA"]}))
    assert "account (1 columns)" in str(info.value)
    assert "user (1 columns)" in str(info.value)


def test_primary_key_column_prefers_crm_id() -> None:
    frame = pd.DataFrame(columns=["ootb_account_id", "ootb_account_name", "ootb_account_crm_id"])
    assert reshape.primary_key_column(frame, "account") == "ootb_account_crm_id"
    assert reshape.primary_key_column(pd.DataFrame(columns=["industry"]), "account") is None


def test_detect_backend_from_attrs_or_dtypes() -> None:
    assert reshape.detect_backend(accounts_frame("pyarrow")) == "pyarrow"
    assert reshape.detect_backend(accounts_frame()) == "numpy_nullable"
    frame = accounts_frame()
    frame.attrs["backstory"] = {"dtype_backend": "pyarrow"}
    assert reshape.detect_backend(frame) == "pyarrow"


# -- pivot -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_pivot_one_metric_gives_periods_in_canonical_order(backend: Backend) -> None:
    frame = accounts_frame(backend)
    frame.index = pd.Index(list("wxyz"), name="row")
    wide = reshape.pivot_variations(frame, "account", "ootb_emails_sent")
    # every other column stays, other metrics' period columns included, in frame order
    plain = [c for c in frame.columns if not c.startswith("ootb_emails_sent_")]
    assert "ootb_account_percentage_emails_inbound_last_90_days" in plain
    assert wide.columns.tolist() == [*plain, "last_7_days", "last_30_days", "current_quarter"]
    assert_series_equal(
        wide["last_30_days"], frame["ootb_emails_sent_last_30_days"], check_names=False
    )
    assert (wide.dtypes[plain] == frame.dtypes[plain]).all()
    assert wide.index.equals(frame.index)
    assert wide.attrs["backstory"]["pivot"]["metric"] == "ootb_emails_sent"
    assert_frame_equal(wide[plain], frame[plain])
    assert_frame_equal(reshape.flatten_variations(wide), frame)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pivot_all_metrics_uses_metric_period_levels_and_round_trips(backend: Backend) -> None:
    frame = accounts_frame(backend)
    wide = reshape.pivot_variations(frame, "account")
    assert wide.columns.names == ["metric", "period"]
    assert wide.columns.tolist()[:5] == [
        ("ootb_account_crm_id", ""),
        ("ootb_emails_sent", "last_7_days"),
        ("ootb_emails_sent", "last_30_days"),
        ("ootb_emails_sent", "current_quarter"),
        ("ootb_account_name", ""),
    ]
    name = wide["ootb_account_name"]
    assert isinstance(name, pd.Series)
    assert name.tolist() == frame["ootb_account_name"].tolist()
    emails = wide["ootb_emails_sent"]
    assert emails.columns.tolist() == ["last_7_days", "last_30_days", "current_quarter"]
    assert emails.dtypes.map(str).tolist() == [str(frame["ootb_emails_sent_last_7_days"].dtype)] * 3
    inbound = wide[("ootb_account_percentage_emails_inbound", "last_90_days")]
    assert inbound.isna().tolist() == [False, True, False, False]
    assert_frame_equal(reshape.flatten_variations(wide), frame)


def test_flatten_without_attrs_keeps_the_grouped_order() -> None:
    frame = accounts_frame()
    wide = drop_attrs(reshape.pivot_variations(frame, "account"))
    flat = reshape.flatten_variations(wide)
    grouped = [
        "ootb_account_crm_id",
        "ootb_emails_sent_last_7_days",
        "ootb_emails_sent_last_30_days",
        "ootb_emails_sent_current_quarter",
        "ootb_account_name",
        "ootb_account_percentage_emails_inbound_last_30_days",
        "ootb_account_percentage_emails_inbound_last_90_days",
        "ootb_account_original_owner_id",
        "ootb_account_original_owner_name",
        "ootb_churn_risk_score",
    ]
    assert_frame_equal(flat, frame[grouped])
    single = drop_attrs(reshape.pivot_variations(frame, "account", "ootb_emails_sent"))
    assert "last_7_days" in reshape.flatten_variations(single).columns  # cannot tell alone
    restored = reshape.flatten_variations(single, metric="ootb_emails_sent")
    assert "ootb_emails_sent_last_7_days" in restored.columns
    assert "last_7_days" not in restored.columns


def test_pivot_errors_name_what_is_there() -> None:
    frame = accounts_frame()
    with pytest.raises(bspandas.InvalidColumnsError, match="ootb_emails_sent"):
        reshape.pivot_variations(frame, "account", "ootb_meetings_held")
    with pytest.raises(bspandas.InvalidColumnsError, match="nothing to pivot"):
        reshape.pivot_variations(frame[["ootb_account_name"]], "account")
    clash = frame.assign(last_7_days=1)
    with pytest.raises(bspandas.InvalidColumnsError, match="already columns"):
        reshape.pivot_variations(clash, "account", "ootb_emails_sent")


def test_pivot_of_a_long_frame_is_the_pivot_of_the_original() -> None:
    frame = accounts_frame()
    long = reshape.melt_variations(frame, "account")
    assert_frame_equal(
        reshape.pivot_variations(long, metric="ootb_emails_sent"),
        reshape.pivot_variations(frame, "account", "ootb_emails_sent"),
    )


# -- melt ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_melt_layout_and_categories(backend: Backend) -> None:
    frame = accounts_frame(backend)
    long = reshape.melt_variations(frame, "account")
    ids = [c for c in frame.columns if c not in reshape.variation_columns(frame, "account")]
    assert long.columns.tolist() == [*ids, "metric", "period", "value"]
    assert len(long) == len(frame) * 5
    assert isinstance(long["metric"].dtype, pd.CategoricalDtype)
    assert long["metric"].cat.categories.tolist() == [
        "ootb_emails_sent",
        "ootb_account_percentage_emails_inbound",
    ]
    assert long["period"].cat.categories.tolist() == [
        "last_7_days",
        "last_30_days",
        "last_90_days",
        "current_quarter",
    ]
    first = long.iloc[: len(frame)]
    assert set(first["period"]) == {"current_quarter"}
    assert first["value"].tolist() == frame["ootb_emails_sent_current_quarter"].tolist()
    assert long.index.tolist() == list(frame.index) * 5
    for column in ids:
        assert long[column].dtype == frame[column].dtype
    expected = "double[pyarrow]" if backend == "pyarrow" else "Float64"
    assert str(long["value"].dtype) == expected  # counts and percentages together
    json.dumps(long.attrs["backstory"])  # attrs stay JSON-safe


def test_melt_keeps_a_shared_dtype_and_falls_back_to_object() -> None:
    frame = accounts_frame()
    counts = reshape.melt_variations(frame.filter(like="ootb_emails_sent"), "account")
    assert str(counts["value"].dtype) == "Int64"
    mixed = reshape.melt_variations(mixed_frame(), "account")
    assert mixed["value"].dtype == object
    assert mixed["metric"].cat.categories.tolist()[0] == "ootb_meetings_held"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("maker", [accounts_frame, mixed_frame])
def test_melt_unmelt_round_trip_is_exact(backend: Backend, maker: Any) -> None:
    frame = maker(backend)
    frame.attrs["backstory"] = {"object": "account", "rows": len(frame), "payload": {"a": 1}}
    long = reshape.melt_variations(frame)
    back = reshape.unmelt_variations(long)
    assert_frame_equal(back, frame, check_index_type=True, check_column_type=True)
    assert back.attrs["backstory"] == frame.attrs["backstory"]


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(10, 18, 2, name="n"),
        pd.Index(["a", "b", "b", "c"], name="dupes"),
        pd.MultiIndex.from_tuples([(1, "x"), (1, "y"), (2, "x"), (2, "y")], names=["i", "j"]),
        pd.DatetimeIndex(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"], tz="UTC"),
    ],
)
def test_round_trip_keeps_any_index(index: pd.Index) -> None:
    frame = accounts_frame().set_axis(index, axis=0)
    back = reshape.unmelt_variations(reshape.melt_variations(frame, "account"))
    assert_frame_equal(back, frame, check_index_type=True)


def test_round_trip_of_categoricals_with_extra_categories() -> None:
    catalog.register(
        "custom_account_tier",
        type="enumeration",
        values=["gold", "silver"],
        periods=["last_30_days", "last_90_days"],
    )
    dtype = pd.CategoricalDtype(["gold", "silver", "platinum"])
    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(["1", "2", "3"], dtype="string"),
            "custom_account_tier_last_90_days": pd.Categorical(
                ["gold", "platinum", None], dtype=dtype
            ),
            "custom_account_tier_last_30_days": pd.Categorical(
                ["silver", "gold", "gold"], dtype=dtype
            ),
        }
    )
    long = reshape.melt_variations(frame, "account")
    assert long["value"].dtype == dtype
    assert_frame_equal(reshape.unmelt_variations(long), frame)
    lost = reshape.unmelt_variations(drop_attrs(long), "account")
    assert lost["custom_account_tier_last_90_days"].tolist()[:2] == ["gold", "platinum"]
    assert lost["custom_account_tier_last_90_days"].cat.categories.tolist() == [
        "gold",
        "silver",
        "platinum",
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unmelt_without_attrs_uses_catalog_dtypes(backend: Backend) -> None:
    frame = mixed_frame(backend)
    long = drop_attrs(reshape.melt_variations(frame, "account"))
    back = reshape.unmelt_variations(long)
    assert_frame_equal(back, frame)  # id column first, then variations in block order
    numbers = accounts_frame(backend)
    long = drop_attrs(reshape.melt_variations(numbers, "account"))
    back = reshape.unmelt_variations(long)
    ids = [c for c in numbers.columns if c not in reshape.variation_columns(numbers, "account")]
    assert back.columns.tolist()[: len(ids)] == ids
    assert str(long["value"].dtype) in ("Float64", "double[pyarrow]")  # counts came back
    assert_frame_equal(back[numbers.columns], numbers)


def test_unmelt_after_filtering_and_shuffling() -> None:
    frame = accounts_frame()
    long = reshape.melt_variations(frame, "account")
    kept = long[long["value"].notna()].sample(frac=1.0, random_state=3)
    back = reshape.unmelt_variations(kept)
    assert sorted(back.index) == sorted(frame.index)
    back = back.sort_index()
    for column in frame.columns:
        assert back[column].dtype == frame[column].dtype
    assert_frame_equal(back[frame.columns], frame)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unmelt_of_filtered_mixed_dtypes_fills_the_gaps(backend: Backend) -> None:
    frame = mixed_frame(backend)
    long = reshape.melt_variations(frame, "account")
    kept = long[long["value"].notna()].iloc[::-1]
    back = reshape.unmelt_variations(kept).sort_index()
    assert_frame_equal(back[frame.columns], frame)


def test_orphan_warnings_point_at_the_callers_line() -> None:
    with pytest.warns(bspandas.BackstoryWarning) as record:
        join_accounts().backstory.join_opportunities(
            opportunities_frame(), how="outer", aggregate=True
        )
    assert record[0].filename == __file__


def test_unmelt_with_a_fresh_index_uses_the_key_column() -> None:
    frame = accounts_frame()
    long = reshape.melt_variations(frame, "account").reset_index(drop=True)
    shuffled = long.sample(frac=1.0, random_state=1)
    back = reshape.unmelt_variations(shuffled)
    back = back.set_index("ootb_account_crm_id").sort_index()
    expected = frame.set_index("ootb_account_crm_id").sort_index()
    assert_frame_equal(back[expected.columns], expected, check_index_type=False)


def test_unmelt_refuses_duplicates_and_non_long_frames() -> None:
    long = reshape.melt_variations(accounts_frame(), "account")
    doubled = pd.concat([long, long.iloc[:1]])
    doubled.attrs = long.attrs
    with pytest.raises(bspandas.InvalidColumnsError, match="several values"):
        reshape.unmelt_variations(doubled.iloc[::-1])
    with pytest.raises(bspandas.InvalidColumnsError, match="metric, period and value"):
        reshape.unmelt_variations(accounts_frame())


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_frames_round_trip(backend: Backend) -> None:
    frame = accounts_frame(backend).iloc[:0]
    long = reshape.melt_variations(frame, "account")
    assert len(long) == 0
    assert long.columns.tolist()[-3:] == ["metric", "period", "value"]
    assert_frame_equal(reshape.unmelt_variations(long), frame, check_index_type=True)
    assert_frame_equal(
        reshape.flatten_variations(reshape.pivot_variations(frame, "account")), frame
    )


def test_melt_of_a_pivoted_frame_equals_melt_of_the_original() -> None:
    frame = accounts_frame()
    assert_frame_equal(
        reshape.melt_variations(reshape.pivot_variations(frame, "account")),
        reshape.melt_variations(frame, "account"),
    )


def test_melt_id_columns_and_their_errors() -> None:
    frame = accounts_frame()
    long = reshape.melt_variations(frame, "account", id_vars=["ootb_account_crm_id"])
    assert long.columns.tolist() == ["ootb_account_crm_id", "metric", "period", "value"]
    back = reshape.unmelt_variations(long)
    assert back.columns.tolist()[0] == "ootb_account_crm_id"
    assert len(back.columns) == 6
    with pytest.raises(bspandas.InvalidColumnsError, match="id_vars"):
        reshape.melt_variations(frame, "account", id_vars=["ootb_emails_sent_last_7_days"])
    with pytest.raises(bspandas.InvalidColumnsError, match="Rename"):
        reshape.melt_variations(frame.rename(columns={"ootb_account_name": "value"}), "account")
    with pytest.raises(bspandas.InvalidColumnsError, match="nothing to melt"):
        reshape.melt_variations(frame[["ootb_account_name"]], "account")


def test_melt_result_does_not_share_memory_with_the_frame() -> None:
    frame = accounts_frame().filter(regex="crm_id|last_7_days")
    long = reshape.melt_variations(frame, "account")
    long.loc[long.index[0], "value"] = 99
    long.loc[long.index[0], "ootb_account_crm_id"] = "changed"
    assert frame["ootb_emails_sent_last_7_days"].iloc[0] != 99
    assert frame["ootb_account_crm_id"].iloc[0] != "changed"


PERIOD_CHOICES = ["last_7_days", "last_30_days", "current_quarter", "current_year"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(min_value=0, max_value=6),
    emails=st.lists(st.sampled_from(PERIOD_CHOICES), min_size=1, max_size=4, unique=True),
    meetings=st.lists(st.sampled_from(PERIOD_CHOICES), max_size=4, unique=True),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 1000),
)
def test_round_trips_hold_for_any_selection(
    rows: int, emails: list[str], meetings: list[str], backend: Backend, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    data: dict[str, Sequence[Any]] = {"ootb_account_name": [f"a{i}" for i in range(rows)]}
    columns = [f"ootb_emails_sent_{p}" for p in emails] + [
        f"ootb_meetings_held_{p}" for p in meetings
    ]
    order = rng.permutation(len(columns))
    for position in order:
        values = rng.integers(0, 9, rows).tolist()
        data[columns[position]] = [None if v == 0 else v for v in values]
    data["ootb_churn_risk_score"] = rng.random(rows).round(2).tolist()
    frame = frame_of("account", data, backend)
    assert_frame_equal(reshape.unmelt_variations(reshape.melt_variations(frame, "account")), frame)
    assert_frame_equal(
        reshape.flatten_variations(reshape.pivot_variations(frame, "account")), frame
    )


# -- describe --------------------------------------------------------------------------------


def test_describe_has_one_row_per_column() -> None:
    frame = accounts_frame().assign(notes=["n"] * 4)
    table = reshape.describe_columns(frame)
    assert table["column"].tolist() == [*frame.columns]
    assert table.columns.tolist() == [
        "column",
        "slug",
        "period",
        "type",
        "dtype",
        "range",
        "description",
        "label",
        "non_null",
    ]
    row = table.set_index("column").loc["ootb_emails_sent_last_30_days"]
    assert (row["slug"], row["period"], row["type"], row["dtype"]) == (
        "ootb_emails_sent",
        "last_30_days",
        "count",
        "Int64",
    )
    assert row["non_null"] == 3
    owner = table.set_index("column").loc["ootb_account_original_owner_name"]
    assert (owner["slug"], owner["type"], owner["label"]) == (
        "ootb_account_original_owner",
        "text",
        "Account Owner (name)",
    )
    score = table.set_index("column").loc["ootb_churn_risk_score"]
    assert score["range"] == "0-100"
    notes = table.set_index("column").loc["notes"]
    assert pd.isna(notes["slug"])
    assert pd.isna(notes["type"])
    assert str(table["non_null"].dtype) == "Int64"


# -- joins -----------------------------------------------------------------------------------


def join_accounts(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    return frame_of(
        "account",
        {
            "ootb_account_crm_id": ["0010000", "0010001", "0010002", "0010003"],
            "ootb_account_name": ["Acme", "Bolt", "Cask", "Dune"],
            "ootb_account_id": [10, 11, 12, 13],
            "ootb_churn_risk_score": [10.0, 20.0, None, 40.0],
            "ootb_engagement_trend": ["stable", None, "declining", "increasing"],
            "ootb_executive_engagement_current": [True, False, None, True],
        },
        backend,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_left_join_keeps_every_account_and_counts_orphans(backend: Backend) -> None:
    accounts, opps = join_accounts(backend), opportunities_frame(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # orphans are what how="left" leaves out: no warning
        joined = reshape.join_opportunities(accounts, opps)
    assert joined["ootb_account_name"].tolist() == ["Acme", "Bolt", "Bolt", "Cask", "Dune"]
    assert joined["crm_opportunity_id"].tolist()[:3] == ["006B", "006A", "006C"]
    assert pd.isna(joined["crm_opportunity_id"].iloc[3])
    assert joined.columns.tolist() == [*accounts.columns, *opps.columns]
    for column in accounts.columns:
        assert joined[column].dtype == accounts[column].dtype, column
    for column in opps.columns:
        assert joined[column].dtype == opps[column].dtype, column
    info = joined.attrs["backstory"]["join"]
    assert info == {
        "how": "left",
        "key": "account.crm_id",
        "on": ["ootb_account_crm_id", "crm_account_id"],
        "orphans": 2,
    }
    assert joined.attrs["backstory"]["object"] == "opportunity"


@pytest.mark.parametrize(
    ("how", "rows", "orphans_kept"),
    [("left", 5, 0), ("inner", 4, 0), ("right", 6, 2), ("outer", 7, 2)],
)
def test_how_decides_which_rows_stay(how: reshape.JoinHow, rows: int, orphans_kept: int) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rows are what `how` asked for: no warning
        joined = reshape.join_opportunities(accounts, opps, how=how)
    assert len(joined) == rows
    assert _pairs(joined) == _pairs(plain_merge(accounts, opps, how))
    no_account = joined["ootb_account_crm_id"].isna() & joined["crm_opportunity_id"].notna()
    assert int(no_account.sum()) == orphans_kept


@contextlib.contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def plain_merge(accounts: pd.DataFrame, opps: pd.DataFrame, how: str) -> pd.DataFrame:
    """The join in plain pandas on raw values (missing keys never match)."""
    left = pd.DataFrame({"acc": accounts["ootb_account_crm_id"].astype(object)})
    right = pd.DataFrame(
        {
            "opp_key": opps["crm_account_id"].astype(object).where(opps["crm_account_id"].notna()),
            "opp": opps["crm_opportunity_id"].astype(object),
        }
    )
    right["opp_key"] = right["opp_key"].fillna("<no account>")  # matches no account
    merged = left.merge(right, left_on="acc", right_on="opp_key", how=how)  # type: ignore[arg-type]
    return merged.rename(columns={"acc": "ootb_account_crm_id", "opp": "crm_opportunity_id"})


def _pairs(frame: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """(account, opportunity) pairs, missing values as None, in a stable order."""
    values = frame[["ootb_account_crm_id", "crm_opportunity_id"]].astype(object)
    pairs = [
        (None if pd.isna(a) else str(a), None if pd.isna(o) else str(o))
        for a, o in values.itertuples(index=False)
    ]
    return sorted(pairs, key=lambda p: (p[0] or "", p[1] or ""))


@pytest.mark.parametrize("how", ["left", "inner", "right", "outer"])
def test_joins_of_a_subset_of_accounts_do_not_warn(how: reshape.JoinHow) -> None:
    # Some accounts and all opportunities (two orphans, one without account id): the usual
    # case. Each join gives exactly plain pandas' rows for its `how`, so nothing is lost or
    # invented and nothing warns.
    accounts, opps = join_accounts().iloc[:2], opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deals = reshape.join_opportunities(accounts, opps, how=how)
        enriched = reshape.join_account(opps, accounts, how=how)
        rolled = reshape.join_opportunities(
            accounts, opps.dropna(subset=["crm_account_id"]), how=how, aggregate=True
        )
    assert _pairs(deals) == _pairs(plain_merge(accounts, opps, how))
    mirrored = {"left": "right", "right": "left"}.get(how, how)
    assert _pairs(enriched) == _pairs(plain_merge(accounts, opps, mirrored))
    orphans = ~opps["crm_account_id"].isin(accounts["ootb_account_crm_id"]).fillna(False)
    assert deals.attrs["backstory"]["join"]["orphans"] == int(orphans.sum()) == 3
    expected_keys = plain_merge(accounts, opps.dropna(subset=["crm_account_id"]), how)
    assert sorted(rolled["ootb_account_crm_id"].astype(str)) == sorted(
        expected_keys["ootb_account_crm_id"].fillna(expected_keys["opp_key"]).unique()
    )


@pytest.mark.parametrize("how", ["right", "outer"])
def test_rollup_that_must_keep_every_opportunity_warns_about_lost_ones(
    how: reshape.JoinHow,
) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with pytest.warns(bspandas.OrphanRowsWarning, match=rf"1 of 6 .*how='{how}' keeps every"):
        rolled = reshape.join_opportunities(accounts, opps, how=how, aggregate=True)
    # the opportunity without account id (006E) is in no row: 5 of the 6 are counted
    assert int(rolled["opportunity_count"].sum()) == int(opps["crm_account_id"].notna().sum())


def test_orphans_can_be_ignored_and_none_means_no_warning() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reshape.join_opportunities(accounts, opps, orphans="ignore")
        matched = opps[opps["crm_account_id"].isin(["0010000", "0010001"])]
        joined = reshape.join_opportunities(accounts, matched, how="inner")
    assert joined.attrs["backstory"]["join"]["orphans"] == 0


def test_missing_keys_never_match_each_other() -> None:
    accounts = join_accounts()
    accounts.loc[2, "ootb_account_crm_id"] = pd.NA
    accounts.loc[3, "ootb_account_crm_id"] = pd.NA  # two missing keys are not duplicates
    opps = opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps)
    assert joined.attrs["backstory"]["join"]["orphans"] == 3
    cask = joined[joined["ootb_account_name"] == "Cask"]
    assert len(cask) == 1
    assert pd.isna(cask["crm_opportunity_id"].iloc[0])
    assert joined["crm_opportunity_id"].notna().sum() == 3
    with no_warnings():  # orphans go where `how` says
        back = reshape.join_account(opps, accounts)
    assert back.attrs["backstory"]["join"]["orphans"] == 3
    assert back["ootb_account_name"].isna().sum() == 3
    assert back["crm_opportunity_id"].tolist() == opps["crm_opportunity_id"].tolist()


def test_duplicate_account_keys_are_listed() -> None:
    accounts = pd.concat([join_accounts(), join_accounts().iloc[[1, 1, 3]]], ignore_index=True)
    with pytest.raises(bspandas.SchemaValidationError) as info:
        reshape.join_opportunities(accounts, opportunities_frame())
    message = str(info.value)
    assert "2 duplicated key value(s)" in message
    assert "'0010001' (3 rows)" in message
    assert "'0010003' (2 rows)" in message
    cases = info.value.failure_cases
    assert cases is not None
    assert set(cases["failure_case"]) == {"0010001", "0010003"}
    with pytest.raises(bspandas.SchemaValidationError):
        reshape.join_account(opportunities_frame(), accounts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_frames_join_with_their_dtypes(backend: Backend) -> None:
    accounts, opps = join_accounts(backend), opportunities_frame(backend)
    none = reshape.join_opportunities(accounts, opps.iloc[:0])
    assert len(none) == len(accounts)
    assert none["crm_opportunity_id"].isna().all()
    assert (none.dtypes[opps.columns] == opps.dtypes).all()
    with no_warnings():  # orphans go where `how` says
        empty = reshape.join_opportunities(accounts.iloc[:0], opps)
    assert empty.attrs["backstory"]["join"]["orphans"] == 6
    assert len(empty) == 0
    assert (empty.dtypes[accounts.columns] == accounts.dtypes).all()
    rolled = reshape.join_opportunities(accounts, opps.iloc[:0], aggregate=True)
    assert rolled["opportunity_count"].tolist() == [0, 0, 0, 0]


def test_frames_whose_attrs_a_merge_dropped_still_join() -> None:
    accounts = join_accounts()
    accounts.attrs["backstory"] = {"object": "account", "rows": 4}
    extra = pd.DataFrame({"ootb_account_crm_id": accounts["ootb_account_crm_id"], "note": "x"})
    merged = accounts.merge(extra, on="ootb_account_crm_id")
    assert "backstory" not in merged.attrs
    opps = opportunities_frame().merge(pd.DataFrame({"crm_opportunity_id": ["006A"]}), how="left")
    assert "backstory" not in opps.attrs
    joined = reshape.join_opportunities(merged, opps, orphans="ignore")
    assert "note" in joined.columns
    assert len(joined) == 5


def test_fallback_keys_and_the_error_when_none_match() -> None:
    accounts = join_accounts().drop(columns=["ootb_account_crm_id"])
    opps = opportunities_frame().assign(
        crm_account_name=typed("opportunity", "crm_account_name", ["Bolt"] * 6)
    )
    key = reshape.join_key(accounts, opps)
    assert key == reshape.JoinKey("account.name", "ootb_account_name", "crm_account_name")
    joined = reshape.join_opportunities(accounts, opps)
    assert (joined["ootb_account_name"] == "Bolt").sum() == 6
    catalog.register("opportunity_account_internal__c", type="internal_id", object="opportunity")
    with pytest.raises(bspandas.InvalidColumnsError) as info:
        reshape.join_key(accounts[["ootb_account_id"]], opportunities_frame())
    message = str(info.value)
    assert "account.internal_id: ootb_account_id" in message
    assert "account.crm_id: crm_account_id" in message
    assert "on=(account_column, opportunity_column)" in message


def test_explicit_keys_and_same_named_columns_get_meaningful_suffixes() -> None:
    accounts = join_accounts().rename(columns={"ootb_account_crm_id": "account"})
    accounts["stage"] = "account-side"
    opps = opportunities_frame().rename(columns={"crm_account_id": "account"})
    opps["stage"] = "opportunity-side"
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps, on=("account", "account"))
    assert {"account_account", "account_opportunity", "stage_account", "stage_opportunity"} <= set(
        joined.columns
    )
    assert joined["stage_opportunity"].iloc[0] == "opportunity-side"
    assert len(joined) == 5
    with pytest.raises(bspandas.InvalidColumnsError, match="has no column 'nope'"):
        reshape.join_opportunities(accounts, opps, on=("account", "nope"))


def test_key_dtypes_that_differ_still_match_and_keep_their_dtypes() -> None:
    accounts, opps = join_accounts(), opportunities_frame("pyarrow")
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps)
    assert joined["crm_opportunity_id"].notna().sum() == 4
    assert joined["ootb_account_crm_id"].dtype == accounts["ootb_account_crm_id"].dtype
    assert joined["crm_account_id"].dtype == opps["crm_account_id"].dtype
    empty = reshape.join_opportunities(accounts, opps.iloc[:0])
    assert empty["crm_opportunity_id"].isna().all()
    assert len(empty) == len(accounts)
    with no_warnings():  # orphans go where `how` says
        reshape.join_account(opps, accounts.iloc[:0], how="inner")


@pytest.mark.parametrize(("how", "rows"), [("left", 6), ("inner", 4), ("right", 4), ("outer", 6)])
def test_join_account_keeps_opportunities(how: reshape.JoinHow, rows: int) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_account(opps, accounts, how=how)
    assert joined.attrs["backstory"]["join"]["orphans"] == 2
    assert len(joined) == rows + (1 if how in ("right", "outer") else 0)
    assert joined.columns.tolist()[: len(opps.columns)] == opps.columns.tolist()
    if how == "left":
        assert joined["crm_opportunity_id"].tolist() == opps["crm_opportunity_id"].tolist()
        assert joined["ootb_account_name"].tolist()[:3] == ["Bolt", "Acme", "Bolt"]
        assert joined["ootb_engagement_trend"].dtype == accounts["ootb_engagement_trend"].dtype


def test_join_rejects_an_unknown_how() -> None:
    with pytest.raises(bspandas.InvalidColumnsError, match="how must be"):
        reshape.join_opportunities(join_accounts(), opportunities_frame(), how="cross")  # type: ignore[arg-type]


# -- aggregation -----------------------------------------------------------------------------


def test_standard_rollup_per_account() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        rolled = reshape.join_opportunities(accounts, opps, aggregate=True)
    assert rolled.attrs["backstory"]["join"]["orphans"] == 2
    assert rolled.columns.tolist() == [
        *accounts.columns,
        "opportunity_count",
        "pipeline_total",
        "open_count",
        "open_value",
        "won_count",
        "won_value",
        "lost_count",
        "lost_value",
        "weighted_pipeline",
    ]
    by = rolled.set_index("ootb_account_name")
    assert by["opportunity_count"].tolist() == [1, 2, 0, 1]
    assert by["pipeline_total"].tolist() == [250.0, 100.0, 0.0, 500.0]
    assert by.loc["Bolt", "open_count"] == 2
    assert by.loc["Bolt", "open_value"] == 100.0  # the other amount is missing
    # Proposal 50 % of 100 plus Negotiation 75 % of a missing amount
    assert by.loc["Bolt", "weighted_pipeline"] == 50.0
    assert (by.loc["Acme", "won_count"], by.loc["Acme", "won_value"]) == (1, 250.0)
    assert (by.loc["Dune", "lost_count"], by.loc["Dune", "lost_value"]) == (1, 500.0)
    assert str(by["opportunity_count"].dtype) == "Int64"
    assert str(by["weighted_pipeline"].dtype) == "Float64"
    assert rolled.attrs["backstory"]["object"] == "account"
    assert rolled.attrs["backstory"]["join"]["orphans"] == 2


def test_rollup_prefers_converted_amount_and_given_probabilities() -> None:
    opps = opportunities_frame().assign(
        ootb_opportunity_converted_amount=typed(
            "opportunity", "ootb_opportunity_converted_amount", [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
        ),
        ootb_stage_probability=typed(
            "opportunity", "ootb_stage_probability", [10.0, None, None, 100.0, None, None]
        ),
    )
    rolled = reshape.aggregate_opportunities(opps, "crm_account_id")
    assert rolled.loc["0010001", "pipeline_total"] == 5.0
    # 10 % of 1 plus (no probability given: Negotiation 75 %) of 4
    assert rolled.loc["0010001", "weighted_pipeline"] == pytest.approx(0.1 + 3.0)
    assert rolled.loc["0019999", "weighted_pipeline"] == 8.0
    assert "<NA>" not in map(str, rolled.index)  # the opportunity without account is left out


def test_rollup_status_from_stage_when_flags_are_missing() -> None:
    opps = opportunities_frame().drop(columns=["ootb_opportunity_is_closed"])
    rolled = reshape.aggregate_opportunities(opps, "crm_account_id")
    assert rolled.loc["0010000", "won_count"] == 1
    assert rolled.loc["0010003", "lost_count"] == 1
    flags = opportunities_frame().drop(columns=["ootb_opportunity_stage"])
    flags["ootb_opportunity_is_won"] = typed(
        "opportunity", "ootb_opportunity_is_won", [False, True, False, False, False, False]
    )
    flags["ootb_stage_probability"] = typed("opportunity", "ootb_stage_probability", [50.0] * 6)
    rolled = reshape.aggregate_opportunities(flags, "crm_account_id")
    assert rolled.loc["0010000", "won_value"] == 250.0
    assert rolled.loc["0010003", "lost_value"] == 500.0
    assert rolled.loc["0010001", "weighted_pipeline"] == 50.0


@pytest.mark.parametrize(
    ("drop", "slug"),
    [
        (["ootb_opportunity_amount"], "ootb_opportunity_converted_amount"),
        (["ootb_opportunity_stage", "ootb_opportunity_is_closed"], "ootb_opportunity_is_closed"),
        (["ootb_opportunity_stage"], "ootb_opportunity_is_won"),
    ],
)
def test_rollup_says_which_slug_to_fetch(drop: list[str], slug: str) -> None:
    opps = opportunities_frame().drop(columns=drop)
    with pytest.raises(bspandas.InvalidColumnsError, match=slug):
        reshape.join_opportunities(join_accounts(), opps, aggregate=True, orphans="ignore")


def test_custom_aggregations_and_pyarrow_rollup() -> None:
    spec: dict[str, tuple[str, Any]] = {
        "deals": ("crm_opportunity_id", "count"),
        "biggest": ("ootb_opportunity_amount", "max"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a left roll-up leaves out orphans as asked
        rolled = reshape.join_opportunities(join_accounts(), opportunities_frame(), aggregate=spec)
    assert rolled["deals"].tolist()[:2] == [1, 2]
    assert rolled["biggest"].tolist()[:2] == [250.0, 100.0]
    assert rolled.attrs["backstory"]["join"]["aggregate"] == ["deals", "biggest"]
    with pytest.raises(bspandas.InvalidColumnsError, match="wrong"):
        reshape.join_opportunities(
            join_accounts(), opportunities_frame(), aggregate={"x": ("no", "sum")}
        )
    arrow = reshape.aggregate_opportunities(opportunities_frame("pyarrow"), "crm_account_id")
    assert str(arrow["opportunity_count"].dtype) == "int64[pyarrow]"
    assert str(arrow["pipeline_total"].dtype) == "double[pyarrow]"


def test_rollup_outer_keeps_orphan_accounts_keys() -> None:
    with pytest.warns(bspandas.OrphanRowsWarning, match="1 of 6 opportunities have no crm_acc"):
        rolled = reshape.join_opportunities(
            join_accounts(), opportunities_frame(), how="outer", aggregate=True
        )
    orphan = rolled[rolled["ootb_account_crm_id"] == "0019999"]
    assert len(orphan) == 1
    assert pd.isna(orphan["ootb_account_name"].iloc[0])
    assert orphan["opportunity_count"].iloc[0] == 1
    assert rolled["opportunity_count"].sum() == 5  # the opportunity without a key is left out


def test_pivoted_accounts_join_like_flat_ones() -> None:
    accounts = join_accounts().assign(
        ootb_emails_sent_last_7_days=typed("account", "ootb_emails_sent_last_7_days", [1, 2, 3, 4])
    )
    wide = reshape.pivot_variations(accounts, "account")
    flat = reshape.join_opportunities(accounts, opportunities_frame(), orphans="ignore")
    pivoted = reshape.join_opportunities(wide, opportunities_frame(), orphans="ignore")
    assert_frame_equal(pivoted, flat)
