"""pandera schemas generated from the catalog, through the accessor."""

from __future__ import annotations

import pandas as pd
import pytest

import bspandas


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
