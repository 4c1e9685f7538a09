"""``bspandas export --dataset`` and ``bspandas snapshot`` on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import bspandas as bs
from bspandas.cli import main
from bspandas.sandbox import Sandbox

COLUMNS = ["ootb_activity_uid", "ootb_activity_timestamp", "ootb_activity_type"]


def test_export_dataset_by_month_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "activity"
    code = main([
        "export", "activity", *COLUMNS, "--dataset", str(target),
        "--split-by", "ootb_activity_timestamp:month", "--start", "2025-11-01",
        "--end", "2026-01-01", "--sandbox", "--seed", "7",
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr()
    assert "2 windows (2 exported now)" in out.out
    assert "2 export request(s)" in out.err  # said before it started
    assert sorted(p.name for p in target.iterdir() if p.is_dir()) == [
        "month=2025-11", "month=2025-12",
    ]  # fmt: skip
    where = "ootb_activity_timestamp >= '2025-11-01' and ootb_activity_timestamp < '2026-01-01'"
    with Sandbox(seed=7) as sb, sb.client() as client:  # the same tenant as --sandbox --seed 7
        reference = bs.read_query("activity", COLUMNS, where=where, client=client)
    frame = bs.read_dataset(str(target))
    assert len(frame) == len(reference)
    assert set(frame["ootb_activity_uid"]) == set(reference["ootb_activity_uid"])


def test_export_dataset_dry_run_lists_the_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "export", "activity", *COLUMNS, "--dataset", str(tmp_path / "a"),
        "--split-by", "ootb_activity_timestamp:quarter", "--start", "2025-01-01",
        "--end", "2025-12-31", "--dry-run",
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    for key in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"):
        assert key in out
    assert not (tmp_path / "a").exists()


def test_export_needs_a_file_or_a_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "activity", *COLUMNS, "--sandbox"]) == 2
    assert "--dataset PATH" in capsys.readouterr().err


def test_snapshot_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["snapshot", "account", "ootb_account_crm_id", "ootb_churn_risk_score",
            "--dataset", str(tmp_path), "--sandbox"]  # fmt: skip
    assert main([*args, "--as-of", "2026-10-14"]) == 0
    assert main([*args, "--as-of", "2026-10-15"]) == 0
    assert "snapshot=2026-10-15 written" in capsys.readouterr().out
    history = bs.read_snapshots(str(tmp_path))
    assert history["snapshot"].drop_duplicates().tolist() == list(
        pd.to_datetime(["2026-10-14", "2026-10-15"], utc=True)
    )
