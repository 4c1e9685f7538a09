"""The long form (melt_variations) and back (unmelt_variations)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import bspandas
import bspandas.frame.accessor
from bspandas import catalog
from bspandas import frame as reshape
from bspandas._io.dtypes import Backend
from tests.frame.frames import (
    BACKENDS,
    accounts_frame,
    drop_attrs,
    frame_of,
    join_accounts,
    mixed_frame,
    opportunities_frame,
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
