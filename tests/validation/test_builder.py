"""schema_for: the pandera schema generated from the catalog."""

from __future__ import annotations

import pandas as pd
import pytest

import bspandas
from bspandas.validation import schema_for, validate_frame


def test_three_kinds_of_failure_are_reported_at_once() -> None:
    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": ["0011", "0012", "0013"],
            "ootb_churn_risk_score": [130.0, 20.0, None],
            "ootb_engagement_trend": ["increasing", "skyrocketing", None],
            "ootb_emails_sent_last_30_days": ["4", "many", "2"],
        }
    )
    schema = schema_for("account", list(frame.columns))
    with pytest.raises(bspandas.SchemaValidationError) as info:
        validate_frame(frame, schema)
    error = info.value
    cases = error.failure_cases
    assert cases is not None
    failing = set(cases["column"])
    assert failing == {
        "ootb_churn_risk_score",
        "ootb_engagement_trend",
        "ootb_emails_sent_last_30_days",
    }
    assert 130.0 in set(cases["failure_case"])
    assert "skyrocketing" in set(cases["failure_case"])
    assert "many" in set(cases["failure_case"])
    assert "3 validation failure(s) in 3 column(s)" in error.summary


def test_range_check_still_reports_when_the_column_also_has_text() -> None:
    frame = pd.DataFrame({"ootb_churn_risk_score": [130, "x", 5]})
    with pytest.raises(bspandas.SchemaValidationError) as info:
        validate_frame(frame, schema_for("account", ["ootb_churn_risk_score"]))
    cases = info.value.failure_cases
    assert cases is not None
    assert {130, "x"} <= set(cases["failure_case"])


def test_hand_built_frame_validates_and_is_coerced() -> None:
    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": ["0011234567890AB", "0011234567890AC"],
            "industry": ["Technology", None],
            "ootb_churn_risk_score": [72, 10],
            "ootb_last_activity_date": ["2026-01-02", None],
        }
    )
    out = validate_frame(frame, schema_for("account", list(frame.columns)))
    assert str(out["ootb_churn_risk_score"].dtype) == "Float64"
    assert str(out["ootb_last_activity_date"].dtype) == "datetime64[ms, UTC]"
    assert pd.api.types.is_string_dtype(out["industry"].dtype)


def test_ids_must_be_unique() -> None:
    frame = pd.DataFrame({"ootb_account_crm_id": ["a", "a"]})
    with pytest.raises(bspandas.SchemaValidationError, match="field_uniqueness"):
        validate_frame(frame, schema_for("account", ["ootb_account_crm_id"]))


def test_schema_carries_labels_descriptions_and_metadata() -> None:
    schema = schema_for("account", ["ootb_account_count_of_meetings_standard_last_30_days"])
    column = schema.columns["ootb_account_count_of_meetings_standard_last_30_days"]
    assert column.title == "Meetings (Last 30 Days)"
    assert column.description == "Meetings with the account"
    assert column.metadata["period"] == "last_30_days"
    assert column.nullable


def test_schema_from_specs_expands_columns() -> None:
    schema = schema_for("opportunity", ["ootb_opportunity_owner", "ootb_opportunity_amount"])
    # the owner slug names no column, so it expands; the amount slug is its own column
    assert list(schema.columns) == [
        "ootb_opportunity_owner_id",
        "ootb_opportunity_owner_name",
        "ootb_opportunity_amount",
    ]


def test_schema_without_columns_accepts_any_selection() -> None:
    schema = schema_for("user")
    frame = pd.DataFrame({"user_email": ["a@x.io"], "ootb_win_rate_yearly": [55.5]})
    assert validate_frame(frame, schema).shape == (1, 2)


def test_pyarrow_backend_schema() -> None:
    schema = schema_for("account", ["ootb_churn_risk_score"], dtype_backend="pyarrow")
    frame = pd.DataFrame({"ootb_churn_risk_score": pd.array([1.0, None], dtype="double[pyarrow]")})
    assert validate_frame(frame, schema).shape == (2, 1)
