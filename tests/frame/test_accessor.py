"""``df.backstory``: registration, object resolution, schema/validate/describe, reshaping, joins."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import bspandas
import bspandas.frame.accessor
from bspandas.frame.accessor import BackstoryAccessor
from tests.frame.frames import (
    BACKENDS,
    accounts_frame,
    drop_attrs,
    frame_of,
    join_accounts,
    opportunities_frame,
)

PROVENANCE: dict[str, Any] = {
    "object": "account",
    "payload": {"object": "account", "columns": [{"slug": "ootb_account_crm_id"}]},
    "host": "http://127.0.0.1:8000",
    "fetched_at": "2026-05-01T10:00:00+00:00",
    "rows": 4,
    "catalog_version": "test",
    "dtype_backend": "numpy_nullable",
}


def fetched_accounts() -> pd.DataFrame:
    """An account frame as read_query leaves it: catalog dtypes and provenance in attrs."""
    frame = accounts_frame()
    frame.attrs["backstory"] = json.loads(json.dumps(PROVENANCE))
    return frame


def test_importing_bspandas_accessor_registers_backstory_on_every_frame() -> None:
    assert isinstance(pd.DataFrame().backstory, BackstoryAccessor)
    assert bspandas.frame.accessor.__all__ == ["BackstoryAccessor"]
    assert "0 rows" in repr(pd.DataFrame().backstory)


def test_object_comes_from_attrs_then_columns_then_as_object() -> None:
    frame = fetched_accounts()
    assert frame.backstory.object == "account"
    frame.attrs["backstory"]["object"] = "opportunity"
    assert frame.backstory.object == "opportunity"
    assert drop_attrs(frame).backstory.object == "account"
    assert opportunities_frame().backstory.object == "opportunity"
    unknown = pd.DataFrame({"whatever": [1]})
    with pytest.raises(bspandas.QueryError, match="as_object"):
        _ = unknown.backstory.object
    assert unknown.backstory.as_object("user").object == "user"
    with pytest.raises(bspandas.UnknownObjectError):
        unknown.backstory.as_object("deal")


def test_accessor_keeps_no_state_between_accesses() -> None:
    frame = accounts_frame()
    configured = frame.backstory.as_object("user")
    assert configured.object == "user"
    assert frame.backstory.object == "account"  # as_object returned a new accessor
    assert frame.attrs == {}  # nothing was written onto the frame


def test_provenance_backend_and_key_column() -> None:
    frame = fetched_accounts()
    provenance = frame.backstory.provenance
    assert provenance == PROVENANCE
    provenance["rows"] = 0
    assert frame.attrs["backstory"]["rows"] == 4  # a copy
    assert frame.backstory.dtype_backend == "numpy_nullable"
    assert accounts_frame("pyarrow").backstory.dtype_backend == "pyarrow"
    assert frame.backstory.key_column() == "ootb_account_crm_id"
    infos = frame.backstory.catalog_columns()
    assert infos["ootb_emails_sent_last_7_days"].period == "last_7_days"


# -- schema, validation, describe ------------------------------------------------------------


def test_a_hand_built_frame_validates_against_the_catalog() -> None:
    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": ["0011234567890AB", "0011234567890AC"],
            "ootb_account_name": ["Acme", None],
            "ootb_emails_sent_last_30_days": [4, 7],
            "ootb_churn_risk_score": [72, 10],
            "ootb_last_activity_date_current": ["2026-01-02", None],
            "notes": [object(), object()],
        }
    )
    schema = frame.backstory.schema
    assert "notes" not in schema.columns
    assert schema.columns["ootb_emails_sent_last_30_days"].metadata["period"] == "last_30_days"
    validated = frame.backstory.validate()
    assert str(validated["ootb_emails_sent_last_30_days"].dtype) == "Int64"
    assert str(validated["ootb_churn_risk_score"].dtype) == "Float64"
    assert str(validated["ootb_last_activity_date_current"].dtype) == "datetime64[ms, UTC]"
    assert validated["notes"].dtype == object
    assert frame["ootb_churn_risk_score"].dtype == "int64"  # the input is left alone


def test_validate_reports_every_failure() -> None:
    frame = frame_of(
        "account",
        {
            "ootb_account_crm_id": ["1", "1", "2"],
            "ootb_churn_risk_score": [10.0, 130.0, None],
            "ootb_engagement_trend": ["stable", "stable", None],
        },
    )
    frame["ootb_engagement_trend"] = frame["ootb_engagement_trend"].cat.add_categories("rocketing")
    frame.loc[2, "ootb_engagement_trend"] = "rocketing"
    with pytest.raises(bspandas.SchemaValidationError) as info:
        frame.backstory.validate()
    cases = info.value.failure_cases
    assert cases is not None
    assert set(cases["column"]) == {
        "ootb_account_crm_id",
        "ootb_churn_risk_score",
        "ootb_engagement_trend",
    }
    with pytest.raises(bspandas.SchemaValidationError) as first:
        frame.backstory.validate(lazy=False)
    assert first.value.failure_cases is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_fetched_frames_validate_in_their_backend(backend: Any) -> None:
    frame = accounts_frame(backend)
    frame.attrs["backstory"] = dict(PROVENANCE, dtype_backend=backend)
    validated = frame.backstory.validate()
    assert_frame_equal(validated, frame)
    assert validated.attrs["backstory"]["dtype_backend"] == backend


def test_expanded_columns_are_described_and_validated_one_by_one() -> None:
    opps = opportunities_frame()[["crm_opportunity_id", "ootb_opportunity_amount"]]
    assert list(opps.backstory.schema.columns) == ["crm_opportunity_id", "ootb_opportunity_amount"]
    assert_frame_equal(opps.backstory.validate(), opps)
    described = opportunities_frame().backstory.describe().set_index("column")
    assert described.loc["ootb_opportunity_amount_currency", "label"] == (
        "Amount (currency_iso_code)"
    )
    assert described.loc["ootb_opportunity_owner_id", "type"] == "internal_id"


def test_validate_and_describe_a_pivoted_frame() -> None:
    wide = fetched_accounts().backstory.pivot_variations()
    validated = wide.backstory.validate()
    assert validated.columns.equals(wide.columns)
    assert_frame_equal(validated, wide)
    described = wide.backstory.describe()
    assert "ootb_emails_sent_last_7_days" in set(described["column"])


def test_describe_via_the_accessor() -> None:
    table = fetched_accounts().backstory.describe()
    assert len(table) == len(accounts_frame().columns)
    row = table.set_index("column").loc["ootb_account_percentage_emails_inbound_last_90_days"]
    assert row["type"] == "percentage"
    assert row["label"] == "% of Emails that are Inbound"  # the API leaves the window out
    row = table.set_index("column").loc["ootb_emails_sent_last_30_days"]
    assert row["label"] == "Emails Sent (Last 30 Days)"


# -- reshaping -----------------------------------------------------------------------------


def test_pivot_melt_round_trips_through_the_accessor_keep_provenance() -> None:
    frame = fetched_accounts()
    wide = frame.backstory.pivot_variations()
    assert_frame_equal(wide.backstory.flatten_variations(), frame)
    one = frame.backstory.pivot_variations("ootb_emails_sent")
    assert one.columns.tolist()[-3:] == ["last_7_days", "last_30_days", "current_quarter"]
    assert "ootb_account_percentage_emails_inbound_last_90_days" in one.columns
    assert_frame_equal(one.backstory.flatten_variations(), frame)
    long = frame.backstory.melt_variations()
    for output in (wide, one, long):
        recorded = output.attrs["backstory"]
        assert {k: recorded[k] for k in PROVENANCE} == PROVENANCE
        json.dumps(recorded)
    back = long.backstory.unmelt_variations()
    assert_frame_equal(back, frame)
    assert back.attrs["backstory"] == PROVENANCE
    assert_frame_equal(long.backstory.pivot_variations(), wide)


def test_reshaping_after_a_merge_dropped_the_attrs() -> None:
    frame = fetched_accounts()
    extra = pd.DataFrame({"ootb_account_crm_id": frame["ootb_account_crm_id"], "note": "x"})
    merged = frame.merge(extra, on="ootb_account_crm_id")
    assert "backstory" not in merged.attrs
    long = merged.backstory.melt_variations()
    assert long.attrs["backstory"]["object"] == "account"
    assert_frame_equal(long.backstory.unmelt_variations(), merged)
    wide = merged.backstory.pivot_variations("ootb_account_percentage_emails_inbound")
    assert wide.columns.tolist()[-2:] == ["last_30_days", "last_90_days"]


def test_as_object_is_carried_into_the_results() -> None:
    frame = pd.DataFrame(
        {"custom_user_grade__c": ["a"], "ootb_user_count_emails_sent_last_30_days": [3]}
    )
    long = frame.backstory.as_object("user").melt_variations()
    assert long.attrs["backstory"]["object"] == "user"
    assert long["metric"].tolist() == ["ootb_user_count_emails_sent"]


# -- joins ---------------------------------------------------------------------------------


def test_joins_through_the_accessor() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # orphans go where `how` says: no warning
        deals = accounts.backstory.join_opportunities(opps)
        enriched = opps.backstory.join_account(accounts)
    assert len(deals) == 5
    assert deals.attrs["backstory"]["join"]["orphans"] == 2
    assert enriched["crm_opportunity_id"].tolist() == opps["crm_opportunity_id"].tolist()
    rolled = accounts.backstory.join_opportunities(opps, aggregate=True, orphans="ignore")
    assert rolled["opportunity_count"].tolist() == [1, 2, 0, 1]
    assert rolled.backstory.object == "account"
    assert deals.backstory.object == "opportunity"


def test_join_methods_check_the_object_they_are_called_on() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    opps.attrs["backstory"] = {"object": "opportunity"}
    with pytest.raises(bspandas.InvalidColumnsError, match=r"join_account\(\.\.\.\)"):
        opps.backstory.join_opportunities(accounts)
    with pytest.raises(bspandas.InvalidColumnsError, match="join_opportunities"):
        accounts.backstory.as_object("account").join_account(opps)
    joined = (
        drop_attrs(opps).backstory.as_object("opportunity").join_account(accounts, orphans="ignore")
    )
    assert len(joined) == len(opps)
