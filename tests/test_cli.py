"""The command line, run in-process (and once as the installed script)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bspandas.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_catalog_search_and_describe(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "catalog", "search", "churn")
    assert code == 0
    assert "ootb_churn_risk_score" in out
    code, out, _ = run(capsys, "catalog", "describe", "ootb_emails_sent")
    assert code == 0
    assert "ootb_emails_sent_last_30_days" in out


def test_query_on_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "query", "account", "ootb_account_name", "ootb_churn_risk_score",
        "--where", "ootb_churn_risk_score >= 99", "--sandbox", "--limit", "3",
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ootb_account_name", "ootb_churn_risk_score"]
    assert all(float(line.split()[-1]) >= 99 for line in lines[1:4])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_keeps_types(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"deals{suffix}"
    code, out, err = run(
        capsys, "export", "opportunity", "ootb_opportunity_crm_id", "ootb_opportunity_amount",
        "ootb_opportunity_close_date", "--sandbox", "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert f"to {target}" in out
    frame = pd.read_parquet(target) if suffix == ".parquet" else pd.read_csv(target)
    assert list(frame.columns) == [
        "ootb_opportunity_crm_id",
        "ootb_opportunity_amount",
        "ootb_opportunity_amount_currency",
        "ootb_opportunity_close_date",
    ]
    if suffix == ".parquet":
        assert str(frame["ootb_opportunity_amount"].dtype) == "Float64"
        assert str(frame["ootb_opportunity_close_date"].dtype) == "datetime64[ms, UTC]"


def test_export_from_a_payload_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(
        '{"object": "account", "columns": [{"slug": "ootb_account_name"},'
        ' {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_last_30_days"}],'
        ' "sort": [{"attribute": {"slug": "ootb_account_name"}, "direction": "desc"}]}'
    )
    code, out, _ = run(capsys, "export", "--payload", str(payload), "--dry-run", "-o", "x.csv")
    assert code == 0
    assert '"variation_id": "ootb_emails_sent_last_30_days"' in out
    target = tmp_path / "a.csv"
    code, _, err = run(capsys, "export", "--payload", str(payload), "--sandbox", "-o", str(target))
    assert code == 0, err
    names = pd.read_csv(target)["ootb_account_name"].tolist()
    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["query", "account", "ootb_emails_snt", "--sandbox"],
            "UnknownMetricError: Unknown metric 'ootb_emails_snt'",
        ),
        (
            ["query", "account", "industry", "--where", "industry >", "--dry-run"],
            "not a valid expression",
        ),
        (["query", "account"], "give OBJECT and COLUMNS"),
        (
            ["export", "--payload", "/no/such/file.json", "-o", "x.csv"],
            "cannot read the payload file",
        ),
    ],
)
def test_errors_are_one_line_with_status_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_missing_credentials_name_every_place(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "BACKSTORY_CLIENT_ID",
        "BACKSTORY_CLIENT_SECRET",
        "BACKSTORY_BASE_URL",
        "BACKSTORY_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code, _, err = run(capsys, "query", "account", "industry")
    assert code == 2
    assert "BACKSTORY_CLIENT_ID" in err
    assert "config.toml" in err


@pytest.mark.parametrize("command", [[], ["demo"], ["sandbox"], ["catalog"], ["query"], ["export"]])
def test_help_for_every_command(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: bspandas" in capsys.readouterr().out


def test_installed_script_serves_a_sandbox() -> None:
    script = shutil.which("bspandas", path=str(Path(sys.executable).parent))
    assert script is not None
    process = subprocess.Popen(
        [script, "sandbox", "--accounts", "5", "--users", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "http://127.0.0.1:" in first
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0
