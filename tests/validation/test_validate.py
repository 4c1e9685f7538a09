"""validate_frame: the vectorised pass, exact counts, failing cells named by row."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

import bspandas
from bspandas.validation import schema_for, validate_frame


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
