"""Messages that read well: credentials, objects, typos, the CLI's own syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

import bspandas as bs
from bspandas import cli
from bspandas._http.config import resolve_credentials


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BACKSTORY_CLIENT_ID", "BACKSTORY_CLIENT_SECRET", "BACKSTORY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))


@pytest.mark.usefixtures("no_credentials")
def test_the_missing_credentials_error_reads_well() -> None:
    with pytest.raises(bs.MissingCredentialsError) as info:
        resolve_credentials()
    text = str(info.value)
    assert "***" not in text  # secret masking no longer garbles it
    assert "the client_id and client_secret arguments" in text
    assert "BACKSTORY_CLIENT_ID" in text
    assert "config.toml" in text
    assert "bspandas.connect(your_client_id, your_client_secret)" in text


@pytest.mark.usefixtures("no_credentials")
def test_the_cli_suggests_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", "account", "ootb_account_name"]) == 2
    err = capsys.readouterr().err
    assert "add --sandbox" in err
    assert "***" not in err
    assert "sandbox.serve()" not in err  # Python advice has no place in a shell


@pytest.mark.parametrize(
    ("given", "meant"),
    [("accounts", "account"), ("Opportunities", "opportunity"), ("activites", "activity")],
)
def test_an_unknown_object_suggests_the_one_meant(given: str, meant: str) -> None:
    with pytest.raises(bs.UnknownObjectError, match=f"Did you mean '{meant}'"):
        bs.read_query(given, ["ootb_account_name"], dry_run=True)


def test_a_plain_typo_is_not_lectured_about_custom_prefixes() -> None:
    with pytest.raises(bs.UnknownMetricError) as info:
        bs.read_query("account", ["ootb_acount_name"], dry_run=True)
    assert "ootb_account_name" in info.value.suggestions
    assert "custom_<object>_" not in str(info.value)
    with pytest.raises(bs.UnknownMetricError, match="custom_<object>_"):
        bs.read_query("account", ["custom_acount_x"], dry_run=True)


def test_cli_hints_use_the_cli_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["query", "account", "ootb_emails_sent:last_3_days", "--sandbox"])
    assert code == 2
    err = capsys.readouterr().err
    assert "e.g. ootb_emails_sent:last_7_days" in err
    assert "('ootb_emails_sent'" not in err
