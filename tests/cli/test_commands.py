"""The CLI's commands take their columns the same way: ``slug:period[,period]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bspandas import catalog
from bspandas.cli import main
from bspandas.sandbox import serve


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_catalog_probe_takes_slug_period_as_read_does(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "ootb_emails_sent:last_7_days,last_30_days"
    code = main(["catalog", "probe", "account", spec, "--sandbox"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    with serve(seed=7) as sb, sb.client() as client:  # the --sandbox tenant, asked in Python
        expected = catalog.probe(
            "account", [("ootb_emails_sent", ["last_7_days", "last_30_days"])], client=client,
            cache=False,
        )  # fmt: skip
    assert list(expected["variation_id"]) == [
        "ootb_emails_sent_last_7_days",
        "ootb_emails_sent_last_30_days",
    ]
    for row in expected.itertuples():
        line = next(line for line in captured.out.splitlines() if f" {row.variation_id} " in line)
        assert line.split()[0] == "ootb_emails_sent"
        assert str(row.label) in line
    assert f"{expected.attrs['requests']} request(s) used." in captured.out


def test_catalog_probe_reports_a_period_the_metric_lacks_in_cli_syntax(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["catalog", "probe", "account", "ootb_emails_sent:last_9_days", "--sandbox"])
    err = capsys.readouterr().err
    assert code == 2
    assert "ootb_emails_sent" in err
    assert "last_9_days" in err
    assert "Unknown metric 'ootb_emails_sent:last_9_days'" not in err  # the syntax was understood
