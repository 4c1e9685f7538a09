"""The command line, run in-process (and once as the installed script)."""

from __future__ import annotations

import contextlib
import csv
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bspandas.cli import main
from bspandas.cli import session as cli  # where the commands find their client
from bspandas.sandbox import Sandbox, serve


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


# -- hostile data and hostile arguments ----------------------------------------------------------

HOSTILE_TEXT = [
    "=1+2",
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd|' /C calc'!A0",
    "\tx",
    "\rx",
    '=HYPERLINK("http://x")',
    "safe",
    "",
    None,
    "'already quoted",
    "a=b",
    " =not first",
    "\x1b[31mred",
    "a\rb",
    "\u202egnp.exe",
    "line\nbreak",
    "中文",
]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def hostile() -> Iterator[Sandbox]:
    """A small sandbox whose account names are hostile text and scores are negative numbers."""
    with serve(seed=3, accounts=len(HOSTILE_TEXT), users=2, hourly_budget=0) as sb:
        rows = sb.engine.rows("account")
        names = (HOSTILE_TEXT * rows)[:rows]
        sb.override("account", "ootb_account_name", names)
        sb.override("account", "ootb_churn_risk_score", [-5.5 - i for i in range(rows)])
        yield sb


@pytest.fixture
def on_hostile(hostile: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Route ``--sandbox`` reads of the CLI to the hostile sandbox."""

    @contextlib.contextmanager
    def client(args: object) -> Iterator[object]:
        with hostile.client() as c:
            yield c

    monkeypatch.setattr(cli, "_client", client)
    hostile.clear_requests()
    return hostile


def _cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


EXPORT = [
    "export", "account", "ootb_account_name", "ootb_churn_risk_score", "--sandbox", "--no-validate",
]  # fmt: skip


def test_csv_export_neutralises_formulas(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, on_hostile: Sandbox
) -> None:
    names = (HOSTILE_TEXT * 50)[: on_hostile.engine.rows("account")]
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    assert run(capsys, *EXPORT, "-o", str(safe))[0] == 0
    assert run(capsys, *EXPORT, "-o", str(raw), "--raw")[0] == 0
    raw_rows, safe_rows = _cells(raw)[1:], _cells(safe)[1:]
    assert [r[0] for r in raw_rows] == ["" if n is None else n for n in names]
    expected = ["" if n is None else "'" + n if n.startswith(FORMULA) else n for n in names]
    assert [r[0] for r in safe_rows] == expected
    # numbers are not text: a negative score stays a number
    assert [r[1] for r in safe_rows] == [r[1] for r in raw_rows]
    assert all(float(r[1]) < 0 for r in safe_rows)
    assert sum(n is not None and n.startswith(FORMULA) for n in names) >= 7


def test_export_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, on_hostile: Sandbox
) -> None:
    target = tmp_path / "deals.csv"
    target.write_text("keep me")
    code, _, err = run(capsys, *EXPORT, "-o", str(target))
    assert (code, err.count("\n")) == (2, 1)
    assert "exists: pass --force" in err
    assert target.read_text() == "keep me"
    assert on_hostile.count(endpoint="export") == 0  # refused before a request was spent
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")  # a dangling link is not followed either
    assert run(capsys, *EXPORT, "-o", str(link))[0] == 2
    assert not (tmp_path / "elsewhere.csv").exists()
    code, _, err = run(capsys, *EXPORT, "-o", str(target), "--force")
    assert code == 0, err
    assert _cells(target)[0] == ["ootb_account_name", "ootb_churn_risk_score"]


BAD_OUTPUTS = [
    ("x.xlsx", [], "no spreadsheet files; use one of .csv, .parquet, .pq"),
    ("x.XLS", ["--format", "csv"], "no spreadsheet files"),
    ("x.ods", [], "no spreadsheet files"),
    ("x.txt", [], "give --format csv|parquet"),
    ("noext", [], "from its suffix"),
    ("missing/folder/x.csv", [], "does not exist"),
    ("folder.csv", [], "it is a folder"),
    ("file.csv/x.csv", [], "does not exist"),
]


@pytest.mark.parametrize(("name", "extra", "message"), BAD_OUTPUTS)
def test_a_bad_output_path_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    on_hostile: Sandbox,
    name: str,
    extra: list[str],
    message: str,
) -> None:
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "file.csv").write_text("")
    code, out, err = run(capsys, *EXPORT, "-o", str(tmp_path / name), *extra)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith("bspandas: ")
    assert message in err
    assert "Traceback" not in err
    assert on_hostile.count(endpoint="export") == 0


def test_an_explicit_format_allows_any_other_suffix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, on_hostile: Sandbox
) -> None:
    target = tmp_path / "x.txt"
    code, _, err = run(capsys, *EXPORT, "-o", str(target), "--format", "parquet")
    assert code == 0, err
    assert len(pd.read_parquet(target)) == on_hostile.engine.rows("account")


BAD_PAYLOADS: list[tuple[bytes | None, str]] = [
    (b"not json", "cannot read the payload file"),
    (b"\xff\xfe{}", "cannot read the payload file"),
    (b"[" * 100_000 + b"]" * 100_000, "cannot read the payload file"),
    (b"[]", "must be a JSON object"),
    (b'{"object": 5, "columns": ["x"]}', "must be a JSON object"),
    (b'{"columns": ["industry"]}', "must be a JSON object"),
    (b'{"object": "account"}', "'columns' must be a non-empty list"),
    (b'{"object": "account", "columns": {"a": 1}}', "'columns' must be a non-empty list"),
    (b'{"object": "account", "columns": []}', "'columns' must be a non-empty list"),
    (b'{"object": "account", "columns": ["industry"], "limit": 5}', "does not send (limit)"),
    (b'{"object": "account", "columns": ["industry"], "filter": [1]}', "'filter' must be"),
    (b'{"object": "account", "columns": ["industry"], "sort": "industry"}', "'sort' must be"),
    (b'{"object": "account", "columns": ["industry"], "sort": [5]}', "each 'sort' item"),
    (
        b'{"object": "account", "columns": ["industry"], "sort": [{"attribute": "industry"}]}',
        "each 'sort' item",
    ),
    (
        b'{"object": "account", "columns": ["industry"],'
        b' "sort": [{"attribute": {"slug": "industry"}, "direction": "up"}]}',
        "each 'sort' item",
    ),
    (
        b'{"object": "account", "columns": ["industry"],'
        b' "sort": [{"attribute": {"slug": ["industry"]}}]}',
        "each 'sort' item",
    ),
    (b'{"object": "nope", "columns": ["industry"]}', "UnknownObjectError"),
    (b'{"object": "account", "columns": [5]}', "Error"),
    (b'{"object": "account", "columns": [{"slug": {"a": 1}}]}', "Error"),
    (
        b'{"object": "account", "columns": ["industry"], "filter": {"industry": {"$in": 5}}}',
        "InvalidFilterError",
    ),
    (
        b'{"object": "account", "columns": ["industry"], "filter": '
        + b'{"$and": [' * 70
        + b'{"industry": "A"}'
        + b"]}" * 70
        + b"}",
        "64 levels",
    ),
    (None, "cannot read the payload file"),  # a folder
]


@pytest.mark.parametrize(("content", "message"), BAD_PAYLOADS, ids=range(len(BAD_PAYLOADS)))
def test_a_bad_payload_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None, message: str
) -> None:
    payload = tmp_path / "payload.json"
    if content is None:
        payload.mkdir()
    else:
        payload.write_bytes(content)
    code, out, err = run(capsys, "export", "--payload", str(payload), "--dry-run", "-o", "x.csv")
    assert (code, out, err.count("\n")) == (2, "", 1), err
    assert err.startswith("bspandas: ")
    assert message in err


def test_printed_data_has_control_characters_escaped(
    capsys: pytest.CaptureFixture[str], on_hostile: Sandbox
) -> None:
    code, out, err = run(
        capsys, "query", "account", "ootb_account_name", "--sandbox", "--limit", "100"
    )
    assert code == 0, err
    body = out.splitlines()
    assert not any(ch in out for ch in "\x1b\r\t\u202e")
    assert len(body) == 1 + on_hostile.engine.rows("account")  # no row split by a newline
    for text in (r"\x1b[31mred", r"a\rb", r"\u202egnp.exe", r"line\nbreak", r"\tx", "中文"):
        assert text in out


def test_error_lines_have_control_characters_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, *EXPORT, "-o", str(tmp_path / "\x1b[2J\u202ex.xlsx"))
    assert code == 2
    assert "\u202e" not in err
    assert "\x1b" not in err
    assert r"\x1b[2J" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/missing/x.csv"], "does not exist"),
        (["-o", "{tmp}/x.xlsx"], "no spreadsheet files"),
        (["--payload", "{tmp}", "-o", "{tmp}/x.csv"], "cannot read the payload file"),
    ],
)
def test_the_installed_command_reports_bad_paths_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    command = [sys.executable, "-m", "bspandas", "export"]
    if "--payload" not in args:
        command += ["account", "ootb_account_name", "--sandbox"]
    done = subprocess.run(
        [*command, *(a.format(tmp=tmp_path) for a in args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr


def test_catalog_text_is_printed_with_control_characters_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bspandas import catalog

    catalog.register(
        "custom_account_evil_score",
        type="score",
        label="Evil\x1b[2J score",
        description="line one\x07\rrewritten",
    )
    code, out, _ = run(capsys, "catalog", "search", "evil")
    assert code == 0
    assert "\x1b" not in out
    assert r"Evil\x1b[2J score" in out
    code, out, _ = run(capsys, "catalog", "describe", "custom_account_evil_score")
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\r" not in out


# -- the CLI does what --help says (issue 17) --------------------------------------------------


def test_sort_with_a_leading_dash_as_documented(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "query", "user", "ootb_user_email", "--sort", "-ootb_user_email",
        "--sandbox", "--limit", "1000",
    )  # fmt: skip
    assert code == 0, err
    emails = [line.strip() for line in out.splitlines()[1:] if "@" in line]
    assert len(emails) > 5
    assert emails == sorted(emails, reverse=True)
    code, out, _ = run(capsys, "query", "user", "ootb_user_email", "--sort", "-ootb_user_email",
                       "--dry-run")  # fmt: skip
    assert '"direction": "desc"' in out or "desc" in out


def test_csv_export_writes_dates_as_iso_dates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "deals.csv"
    code, _, err = run(
        capsys, "export", "opportunity", "ootb_opportunity_crm_id",
        "ootb_opportunity_close_date", "--sandbox", "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    dates = [row["ootb_opportunity_close_date"] for row in rows]
    assert any(dates)
    assert all(d == "" or pd.Timestamp(d).isoformat()[:10] == d for d in dates)
    assert not any(" " in d or "T" in d for d in dates)  # no time part


def test_warnings_are_one_line_without_source(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a shell user has them (the suite runs -W error)
        code, _, err = run(capsys, "query", "account", "custom_account_x", "--dry-run")
    assert code == 0
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1
    assert lines[0].startswith("bspandas: UnregisteredMetricWarning: 'custom_account_x'")
    assert "warnings.warn" not in err
    assert ".py:" not in err


def test_sandbox_slug_options_split_a_comma_string() -> None:
    with serve(accounts=3, users=2, corrupt_slugs="ootb_churn_risk_score, industry") as sb:
        assert sb.faults.corrupt_slugs == frozenset({"ootb_churn_risk_score", "industry"})
        sb.set_faults(unknown_slugs="industry")
        assert sb.faults.unknown_slugs == frozenset({"industry"})
    with pytest.raises(TypeError, match="corrupt_slugs takes slugs"):
        serve(accounts=3, users=2, corrupt_slugs=[1, 2])


def test_sandbox_as_of_takes_an_iso_string(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(accounts=3, users=2, as_of="2026-10-15") as sb:
        assert sb.tenant.as_of == pd.Timestamp("2026-10-15", tz="UTC")
