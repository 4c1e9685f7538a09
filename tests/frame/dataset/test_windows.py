"""Time windows: calendar units, explicit ranges, and split_by checks."""

from __future__ import annotations

import pandas as pd
import pytest

import bspandas as bs
from bspandas.frame.dataset.windows import windows_for


def test_explicit_ranges_and_calendar_units() -> None:
    assert [w.key for w in windows_for("quarter", "2025-11-01", "2026-04-02")] == [
        "2025-Q4", "2026-Q1", "2026-Q2",
    ]  # fmt: skip
    assert [w.key for w in windows_for("year", "2025-06-01", "2026-01-01")] == ["2025"]
    weeks = windows_for("week", "2026-01-01", "2026-01-12")
    assert [w.key for w in weeks] == ["2026-W01", "2026-W02"]  # ISO weeks start on Monday
    assert weeks[0].start == pd.Timestamp("2025-12-29", tz="UTC")
    assert weeks[-1].end == pd.Timestamp("2026-01-12", tz="UTC")
    plan = bs.export_dataset(
        "activity", ["ootb_activity_uid"], "memory://unused",
        split_by=("ootb_activity_timestamp",
                  [("2026-02-01", "2026-03-01"), ("2026-01-01", "2026-01-15T12:00")]),
        dry_run=True,
    )  # fmt: skip
    assert [w.key for w in plan.windows] == [
        "2026-01-01_20260115T120000", "2026-02-01_2026-03-01",
    ]  # fmt: skip
    with pytest.raises(bs.QueryError, match="overlap"):
        bs.export_dataset(
            "activity", ["ootb_activity_uid"], "memory://unused",
            split_by=("ootb_activity_timestamp",
                      [("2026-01-01", "2026-02-01"), ("2026-01-15", "2026-03-01")]),
            dry_run=True,
        )  # fmt: skip
    with pytest.raises(bs.QueryError, match="date or timestamp"):
        bs.export_dataset(
            "activity", ["ootb_activity_uid"], "memory://unused",
            split_by=("ootb_activity_type", "month"), dry_run=True,
        )  # fmt: skip
