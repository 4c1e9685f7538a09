"""The pandera models: catalog columns, none required, bspandas' own error."""

from __future__ import annotations

import pandera.pandas as pa
import pytest
from pandera.typing import DataFrame

import bspandas
from bspandas.validation.models import (
    AccountModel,
    ActivityModel,
    OpportunityModel,
    UserModel,
    core_columns,
    field_columns,
)

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
