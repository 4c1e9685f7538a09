"""The tenant's clock, not this machine's: relative periods are the server's.

The sandbox here is "as of" 2025-10-15 with a fiscal year starting in February, far from the
machine's date. Expected rows are recomputed from the tenant's raw table with plain pandas
and hand-written windows.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import bspandas as bs
from bspandas._exceptions import IgnoredFilterError, IgnoredFilterWarning
from bspandas._http.client import Client
from bspandas._io.evaluate import evaluate
from bspandas.query import parse_where
from bspandas.sandbox import Sandbox, serve
from bspandas.sandbox.command import build_parser, sandbox_options
from bspandas.sandbox.tenant import TenantOptions, as_instant
from bspandas.sandbox.testing import session_for

UTC = dt.UTC
AS_OF = dt.datetime(2025, 10, 15, 9, 30, tzinfo=UTC)
COLUMNS = ["ootb_opportunity_crm_id", "ootb_opportunity_close_date"]
CLOSE = "ootb_opportunity_close_date"


def day(y: int, m: int, d: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(y, m, d), tz="UTC")


# period -> the window written by hand for as_of 2025-10-15 09:30 UTC, fiscal year from Feb
WINDOWS = {
    "this_month": (day(2025, 10, 1), day(2025, 11, 1)),
    "last_month": (day(2025, 9, 1), day(2025, 10, 1)),
    "last_90_days": (pd.Timestamp(AS_OF) - pd.Timedelta(days=90), pd.Timestamp(AS_OF)),
    "next_30_days": (pd.Timestamp(AS_OF), pd.Timestamp(AS_OF) + pd.Timedelta(days=30)),
    "this_quarter": (day(2025, 8, 1), day(2025, 11, 1)),
    "last_quarter": (day(2025, 5, 1), day(2025, 8, 1)),
    "this_fyear": (day(2025, 2, 1), day(2026, 2, 1)),
    "last_fyear": (day(2024, 2, 1), day(2025, 2, 1)),
}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve(
        seed=11,
        accounts=80,
        users=6,
        as_of="2025-10-15T09:30:00Z",
        fiscal_year_start=2,
        hourly_budget=0,
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb: Sandbox) -> Iterator[Client]:
    with sb.client(hourly_budget=100_000) as c:
        yield c


def expected_ids(sb: Sandbox, start: pd.Timestamp, end: pd.Timestamp) -> set[str]:
    raw = sb.tenant.opportunities
    inside = (raw["close_date"] >= start) & (raw["close_date"] < end)
    return set(raw.loc[inside, "crm_id"])


def test_the_sandbox_sends_its_as_of_as_the_date_header(sb: Sandbox) -> None:
    with session_for(sb) as http:
        answer = http.post(
            sb.export_url,
            json={"object": "opportunity", "columns": [{"slug": COLUMNS[0]}]},
            timeout=60,
        )
    assert answer.status_code == 200
    assert email.utils.parsedate_to_datetime(answer.headers["Date"]) == AS_OF


@pytest.mark.parametrize("period", list(WINDOWS))
@pytest.mark.parametrize("mode", ["warn", "apply", "raise"])
def test_relative_periods_are_the_servers(
    sb: Sandbox, client: Client, period: str, mode: str
) -> None:
    expected = expected_ids(sb, *WINDOWS[period])
    assert expected, "the window must hold rows for the test to mean anything"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an IgnoredFilterWarning here is a false alarm
        frame = bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"{CLOSE}.within({period!r})",
            client=client,
            on_ignored_filter=mode,  # type: ignore[arg-type]
        )
    assert set(frame["ootb_opportunity_crm_id"]) == expected


@pytest.fixture
def ignoring(sb: Sandbox) -> Iterator[Sandbox]:
    """The server ignores filters on the close date (and so returns every row)."""
    sb.set_faults(unfilterable_slugs=frozenset({CLOSE}))
    try:
        yield sb
    finally:
        sb.reset_faults()


def test_an_ignored_period_filter_is_still_caught(ignoring: Sandbox, client: Client) -> None:
    with pytest.warns(IgnoredFilterWarning, match="within"):
        everything = bs.read_query(
            "opportunity", COLUMNS, where=f"{CLOSE}.within('this_month')", client=client
        )
    assert len(everything) == ignoring.tenant.size("opportunity")
    with pytest.raises(IgnoredFilterError):
        bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"{CLOSE}.within('this_month')",
            client=client,
            on_ignored_filter="raise",
        )
    applied = bs.read_query(
        "opportunity",
        COLUMNS,
        where=f"{CLOSE}.within('this_month')",
        client=client,
        on_ignored_filter="apply",
    )
    start, end = WINDOWS["this_month"]
    kept = set(applied["ootb_opportunity_crm_id"])
    assert expected_ids(ignoring, start, end) <= kept  # no right row dropped
    # the rows kept beyond the window are within a day of its edges (time zones), no more
    margin = pd.Timedelta(days=1)
    assert kept <= expected_ids(ignoring, start - margin, end + margin)
    assert len(kept) < len(everything)


def test_apply_keeps_rows_at_the_edges_it_cannot_judge(ignoring: Sandbox, client: Client) -> None:
    rows = ignoring.tenant.size("opportunity")
    pattern = [
        dt.date(2025, 9, 30),  # a day early: in the window in a UTC-10 tenant
        dt.date(2025, 10, 1),
        dt.date(2025, 10, 31),
        dt.date(2025, 11, 1),  # the end: in the window in a UTC+10 tenant
        dt.date(2025, 9, 20),  # surely outside
        None,  # missing never matches $within
    ]
    dates = [pattern[i % len(pattern)] for i in range(rows)]
    other = serve(
        seed=11,
        accounts=80,
        users=6,
        as_of="2025-10-15T09:30:00Z",
        fiscal_year_start=2,
        hourly_budget=0,
        unfilterable_slugs=frozenset({CLOSE}),
    )
    with other, other.client(hourly_budget=100_000) as c:
        other.override("opportunity", CLOSE, pa.array(dates, pa.date32()))
        frame = bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"{CLOSE}.within('this_month')",
            client=c,
            on_ignored_filter="apply",
        )
    kept = {d.date() for d in frame[CLOSE]}
    assert kept == set(pattern[:4])
    assert len(frame) == sum(1 for d in dates if d in pattern[:4])


def test_a_fiscal_period_the_server_ignored_is_not_judged(
    ignoring: Sandbox, client: Client
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"{CLOSE}.within('this_fyear')",
            client=client,
            on_ignored_filter="apply",
        )
    # the client cannot know the fiscal year: it keeps every row rather than guess
    assert len(frame) == ignoring.tenant.size("opportunity")


def test_certain_checks_say_unknown_rather_than_guess() -> None:
    frame = pd.DataFrame(
        {
            CLOSE: pd.array(
                [day(2025, 10, 10), day(2025, 9, 30), day(2025, 9, 1), pd.NaT],
                dtype="datetime64[ms, UTC]",
            ),
            "ootb_opportunity_amount": pd.array([100.0, 100.0000000001, 99.0, None], "Float64"),
        }
    )
    month = parse_where(f"{CLOSE}.within('this_month')", "opportunity")
    got = evaluate(month, frame, as_of=AS_OF, certain=True)
    assert got.tolist() == [True, pd.NA, False, False]
    fiscal = parse_where(f"{CLOSE}.within('this_quarter')", "opportunity")
    assert evaluate(fiscal, frame, as_of=AS_OF, certain=True).tolist() == [
        pd.NA,
        pd.NA,
        pd.NA,
        False,
    ]
    no_date = evaluate(month, frame, as_of=None, certain=True)
    assert no_date.tolist() == [pd.NA, pd.NA, pd.NA, False]
    amount = parse_where("ootb_opportunity_amount > 100", "opportunity")
    assert evaluate(amount, frame, as_of=None, certain=True).tolist() == [pd.NA, True, False, False]
    assert evaluate(amount, frame, as_of=None).tolist() == [False, True, False, False]


def test_as_of_takes_iso_strings_and_dates() -> None:
    expected = dt.datetime(2026, 10, 15, tzinfo=UTC)
    assert TenantOptions(as_of="2026-10-15").as_of == expected  # type: ignore[arg-type]
    assert TenantOptions(as_of=dt.date(2026, 10, 15)).as_of == expected
    assert as_instant("2026-10-15T14:00:00+02:00") == dt.datetime(2026, 10, 15, 12, tzinfo=UTC)
    assert as_instant(pd.Timestamp("2026-10-15 12:00")) == dt.datetime(2026, 10, 15, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        TenantOptions(as_of="15/10/2026")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1-12"):
        TenantOptions(fiscal_year_start=0)


def test_the_command_line_takes_as_of_and_fiscal_year_start() -> None:
    args = build_parser().parse_args(["--as-of", "2026-10-15", "--fiscal-year-start", "2"])
    options = sandbox_options(args)
    assert options["as_of"] == dt.datetime(2026, 10, 15, tzinfo=UTC)
    assert options["fiscal_year_start"] == 2
    with Sandbox(**{**options, "accounts": 3, "users": 2}) as sandbox:
        assert sandbox.tenant.as_of == dt.datetime(2026, 10, 15, tzinfo=UTC)
        assert sandbox.engine.fiscal_year_start == 2


def test_chunked_and_cached_reads_use_the_servers_clock(
    sb: Sandbox, client: Client, tmp_path: Any
) -> None:
    where = f"{CLOSE}.within('this_month')"
    expected = expected_ids(sb, *WINDOWS["this_month"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chunks = bs.read_query(
            "opportunity",
            COLUMNS,
            where=where,
            client=client,
            chunksize=7,
            on_ignored_filter="apply",
        )
        assert set(pd.concat(list(chunks))["ootb_opportunity_crm_id"]) == expected
        before = sb.count(endpoint="export")
        for _ in range(2):  # the second read is answered by the cache, without a Date header
            cached = bs.read_query(
                "opportunity",
                COLUMNS,
                where=where,
                client=client,
                cache=tmp_path,
                on_ignored_filter="apply",
            )
            assert set(cached["ootb_opportunity_crm_id"]) == expected
        assert sb.count(endpoint="export") == before + 1  # the cache answered the second


def test_chunked_and_cached_reads_still_catch_an_ignored_period(
    ignoring: Sandbox, client: Client, tmp_path: Any
) -> None:
    where = f"{CLOSE}.within('this_month')"
    with pytest.warns(IgnoredFilterWarning):
        list(bs.read_query("opportunity", COLUMNS, where=where, client=client, chunksize=50))
    for _ in range(2):  # the second from the cache: it kept the answer's Date
        with pytest.warns(IgnoredFilterWarning):
            bs.read_query("opportunity", COLUMNS, where=where, client=client, cache=tmp_path)


def test_a_local_filter_does_not_judge_the_periods_the_server_applied(
    sb: Sandbox, client: Client
) -> None:
    # owner filters are applied locally (the API ignores them on opportunities); the fiscal
    # year is the server's: January 2026 is in this fiscal year (it starts in February)
    raw = sb.tenant.opportunities
    start, end = WINDOWS["this_fyear"]
    january = raw[(raw["close_date"] >= day(2026, 1, 1)) & (raw["close_date"] < end)]
    owner = int(january["owner_id"].iloc[0])
    where = f"ootb_opportunity_owner_id == {owner} and {CLOSE}.within('this_fyear')"
    frame = bs.read_query("opportunity", COLUMNS, where=where, client=client)
    inside = (raw["owner_id"] == owner) & (raw["close_date"] >= start) & (raw["close_date"] < end)
    assert set(frame["ootb_opportunity_crm_id"]) == set(raw.loc[inside, "crm_id"])
    assert (frame[CLOSE] >= day(2026, 1, 1)).any()
