"""The main job: `bspandas demo` on the embedded sandbox."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from bspandas.demo import run_demo


def test_demo_prints_the_report_and_writes_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BACKSTORY_CLIENT_ID", "BACKSTORY_CLIENT_SECRET", "BACKSTORY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    started = time.perf_counter()
    assert run_demo(output=tmp_path, seed=3, accounts=150, out=out) == 0
    assert time.perf_counter() - started < 60
    report = out.getvalue()
    for heading in (
        "1. Accounts at risk",
        "2. Email and meeting activity across periods",
        "3. Open pipeline of the at-risk accounts",
        "4. Open pipeline by stage and owner",
        "5. Validation against the catalog schemas",
        "6. Charts",
    ):
        assert heading in report
    assert "embedded sandbox" in report
    assert report.count(": valid") == 3
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == [
        "churn_risk_distribution.png",
        "emails_by_period_at_risk.png",
        "pipeline_by_stage_and_owner.png",
    ]
    assert all((tmp_path / p).stat().st_size > 5000 for p in pngs)
