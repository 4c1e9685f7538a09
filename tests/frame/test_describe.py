"""describe_columns: one row per column."""

from __future__ import annotations

import pandas as pd

from bspandas import frame as reshape
from tests.frame.frames import accounts_frame

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
