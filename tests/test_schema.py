"""pandera schemas generated from the catalog."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import DataFrame

import bspandas
from bspandas.validation import schema_for, validate_frame
from bspandas.validation.models import (
    AccountModel,
    ActivityModel,
    OpportunityModel,
    UserModel,
    core_columns,
    field_columns,
)


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


MODELS = [AccountModel, OpportunityModel, UserModel, ActivityModel]
#: Columns the README and the notebooks read, per model.
README_COLUMNS = {
    "account": ["ootb_account_crm_id", "ootb_account_name", "ootb_churn_risk_score"],
    "opportunity": [
        "ootb_opportunity_crm_id",
        "ootb_opportunity_account",
        "ootb_opportunity_amount",
        "ootb_opportunity_amount_currency",
        "ootb_opportunity_converted_amount",
        "ootb_opportunity_current_stage",
        "ootb_opportunity_is_closed",
        "ootb_opportunity_is_won",
        "ootb_opportunity_owner_id",
        "ootb_opportunity_owner_name",
    ],
    "user": ["ootb_user_id", "ootb_user_name", "ootb_user_email"],
    "activity": ["ootb_activity_uid", "ootb_activity_type"],
}


@pytest.mark.parametrize("model", MODELS)
def test_models_describe_the_ootb_columns_the_readme_reads(
    model: type[pa.DataFrameModel],
) -> None:
    schema = model.to_schema()
    obj = model.object_name  # type: ignore[attr-defined]
    assert list(schema.columns) == list(field_columns(obj))
    assert all(name.startswith("ootb_") for name in schema.columns)
    assert set(README_COLUMNS[obj]) <= set(schema.columns)
    assert not any(column.required for column in schema.columns.values())


def test_a_readme_frame_validates_and_a_bad_one_raises_the_bspandas_error() -> None:
    slugs = [c for c in README_COLUMNS["opportunity"] if not c.startswith("ootb_opportunity_owner")]
    slugs = [c for c in slugs if not c.endswith("_currency")] + ["ootb_opportunity_owner"]
    with bspandas.sandbox.serve(seed=3, accounts=40) as sb, sb.client() as client:
        opps = bspandas.read_query("opportunity", slugs, client=client, progress=False)
    assert set(README_COLUMNS["opportunity"]) <= set(opps.columns)
    assert OpportunityModel.validate(opps).shape == opps.shape
    bad = opps.copy()
    bad.loc[bad.index[0], "ootb_opportunity_converted_amount"] = -5.0
    with pytest.raises(bspandas.SchemaValidationError, match="ootb_opportunity_converted_amount"):
        OpportunityModel.validate(bad)
    with pytest.raises(bspandas.SchemaValidationError):
        OpportunityModel.to_schema().validate(bad)

    @pa.check_types
    def total(frame: DataFrame[OpportunityModel]) -> float:
        return float(frame["ootb_opportunity_converted_amount"].sum())

    assert total(opps) == pytest.approx(float(opps["ootb_opportunity_converted_amount"].sum()))
    with pytest.raises(bspandas.SchemaValidationError):
        total(bad)


def test_reference_core_columns_are_still_listed() -> None:
    assert "crm_user_id" in core_columns("user")
    assert not set(core_columns("user")) & set(field_columns("user"))


def _field_frame(rows: int, seed: int) -> pd.DataFrame:
    """Read-shaped account frame: 20% of the scores out of range, some trends unknown,
    duplicated ids, missing cells everywhere."""
    import numpy as np

    from bspandas._io.dtypes import TEXT_DTYPE

    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 100, rows)
    scores[rng.random(rows) < 0.2] = 150.0
    scores[rng.random(rows) < 0.05] = np.nan
    trend = rng.choice(["increasing", "stable", "declining", "rocketing", None], rows)
    ids = [f"001{i:07d}" for i in rng.integers(0, rows, rows)]
    return pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(ids, dtype=TEXT_DTYPE),
            "ootb_churn_risk_score": pd.array(scores, dtype="Float64"),
            "ootb_engagement_trend": pd.Categorical(trend),
        }
    )


def test_vectorised_validation_counts_exactly_and_samples_boundedly() -> None:
    from bspandas.validation.failures import FAILURE_SAMPLE

    frame = _field_frame(20_000, seed=3)
    schema = schema_for("account", list(frame.columns), coerce=False)
    with pytest.raises(bspandas.SchemaValidationError) as info:
        validate_frame(frame, schema)
    cases = info.value.failure_cases
    assert cases is not None
    counts = cases.attrs["failure_counts"]
    # the oracle: plain pandas on the same values
    score = frame["ootb_churn_risk_score"].astype(float)
    trend = frame["ootb_engagement_trend"].astype(object)
    ids = frame["ootb_account_crm_id"].astype(object)
    expected = {
        "ootb_churn_risk_score": int(((score < 0) | (score > 100)).sum()),
        "ootb_engagement_trend": int((trend.notna() & (trend == "rocketing")).sum()),
        "ootb_account_crm_id": int(ids.duplicated(keep=False).sum()),
    }
    by_column = {column: n for (column, _check), n in counts.items()}
    assert by_column == expected
    assert expected["ootb_churn_risk_score"] > 3000  # the cliff the bound is for
    sizes = cases.groupby(["column", "check"]).size()
    assert sizes.max() == FAILURE_SAMPLE
    assert (sizes <= FAILURE_SAMPLE).all()
    # the sample is the first failures in row order, with their rows
    scores = cases[cases["column"] == "ootb_churn_risk_score"]
    first = score.index[(score > 100).to_numpy()][:FAILURE_SAMPLE].tolist()
    assert scores["index"].tolist() == first
    assert (scores["failure_case"] == 150.0).all()
    summary = str(info.value)
    assert f"ootb_churn_risk_score: {expected['ootb_churn_risk_score']} failing" in summary
    assert f"first {FAILURE_SAMPLE} cases" in summary


def test_vectorised_validation_agrees_with_pandera_on_a_small_frame() -> None:
    frame = _field_frame(300, seed=5)
    fast = schema_for("account", list(frame.columns), coerce=False)
    with pytest.raises(bspandas.SchemaValidationError) as info:
        validate_frame(frame, fast)
    ours = info.value.failure_cases
    assert ours is not None
    with pytest.raises(pa.errors.SchemaErrors) as theirs:
        fast.validate(frame, lazy=True)
    reference = theirs.value.failure_cases
    count = reference.groupby(["column", "check"]).size().to_dict()
    mine = dict(ours.attrs["failure_counts"])
    assert mine == {k: int(v) for k, v in count.items()}


def test_a_valid_frame_passes_the_vectorised_pass_untouched() -> None:
    frame = _field_frame(50, seed=1)
    frame = frame[frame["ootb_churn_risk_score"].isna() | (frame["ootb_churn_risk_score"] <= 100)]
    frame = frame[frame["ootb_engagement_trend"] != "rocketing"].drop_duplicates(
        "ootb_account_crm_id"
    )
    schema = schema_for("account", list(frame.columns), coerce=False)
    assert validate_frame(frame, schema) is frame


def _not_whole(values: pd.Series) -> pd.Series:
    """The oracle: plain pandas on raw values, the cells that are not whole numbers."""
    numbers = pd.to_numeric(values.astype(object), errors="coerce").astype(float)
    return values[values.notna() & (numbers.isna() | (numbers % 1 != 0))]


@pytest.mark.parametrize("coerce", [False, True])
def test_floats_in_an_integer_column_are_reported_with_rows_and_values(coerce: bool) -> None:
    # a field-shaped frame: a non-default index, missing cells, whole floats that are fine,
    # and fractions that an Int64 column cannot hold (pandas 3 would truncate 12.5 to 12)
    days = [3.0, None, 7.0, 1.0, 12.5, 0.0, None, 2.0, 4.0, 0.25, 5.0, 99.75]
    frame = pd.DataFrame(
        {
            "ootb_opportunity_crm_id": [f"006{i:04d}" for i in range(len(days))],
            "ootb_days_in_current_stage": pd.array(days, dtype="Float64"),
        },
        index=range(100, 100 + len(days)),
    )
    schema = schema_for("opportunity", list(frame.columns), coerce=coerce)
    with pytest.raises(bspandas.SchemaValidationError) as info:
        validate_frame(frame, schema)
    expected = _not_whole(frame["ootb_days_in_current_stage"])
    assert expected.index.tolist() == [104, 109, 111]
    cases = info.value.failure_cases
    assert cases is not None
    days_cases = cases[cases["column"] == "ootb_days_in_current_stage"]
    assert days_cases["index"].astype(int).tolist() == expected.index.tolist()
    assert days_cases["failure_case"].tolist() == expected.tolist()
    summary = str(info.value)
    assert (
        "ootb_days_in_current_stage: 3 values are not whole numbers, as its dtype Int64 "
        "requires (row 104: 12.5, row 109: 0.25, row 111: 99.75)"
    ) in summary
    assert "coerce_dtype" not in summary
    assert "e.g. nan" not in summary


def test_the_accessor_does_not_truncate_floats_into_an_integer_column() -> None:
    frame = pd.DataFrame(
        {"ootb_days_in_current_stage": pd.array([1.0, 2.5, None], dtype="Float64")}
    )
    frame.attrs["backstory"] = {"object": "opportunity"}
    with pytest.raises(bspandas.SchemaValidationError, match=r"1 value is not a whole number"):
        frame.backstory.validate()
    whole = frame.assign(
        ootb_days_in_current_stage=pd.array([1.0, 2.0, None], dtype="Float64")
    ).backstory.validate()
    assert whole["ootb_days_in_current_stage"].tolist() == [1, 2, pd.NA]
