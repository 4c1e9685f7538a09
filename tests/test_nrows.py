"""Read less: ``nrows`` stops the stream early, ``index_col``, ``columns=df.columns``,
``local_dict``/``global_dict``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas._read import steps
from bspandas._read.chunks import RowGate
from bspandas.sandbox import Sandbox

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client(retry=FAST) as c:
        yield c


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every body a read consumes (to count the bytes it took and see it closed)."""
    seen: list[Any] = []
    original = steps.Reader.chunks

    def chunks(self: Any, body: Any, bar: Any) -> Iterable[bytes]:
        seen.append(body)
        return original(self, body, bar)

    monkeypatch.setattr(steps.Reader, "chunks", chunks)
    return seen


def test_nrows_stops_reading_and_closes_the_stream(
    sandbox_factory: Callable[..., Sandbox], bodies: list[Any]
) -> None:
    sb = sandbox_factory(accounts=20_000, users=20, seed=3, chunk_bytes=4096, batch_rows=512)
    columns = ["ootb_account_name", "industry", "annual_revenue"]
    with sb.client(retry=FAST) as client:
        whole = bs.read_query("account", columns, client=client)
        total = bodies[-1].bytes_read
        head = bs.read_query("account", columns, client=client, nrows=7)
    body = bodies[-1]
    assert body.bytes_read < total / 20  # the answer is large; the client stopped early
    assert body._response.raw.closed  # and hung up
    pd.testing.assert_frame_equal(head, whole.head(7), check_like=False)
    assert head.attrs["backstory"]["rows"] == 7
    # the API ignores limit: the server was asked for (and began sending) everything
    assert "limit" not in sb.requests[-1].query


def test_nrows_bounds_the_total_of_a_chunked_read(client: Client, sandbox: Sandbox) -> None:
    whole = bs.read_query("account", ["ootb_account_name"], client=client)
    chunks = list(
        bs.read_query("account", ["ootb_account_name"], client=client, chunksize=4, nrows=10)
    )
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [c.index[0] for c in chunks] == [0, 4, 8]
    pd.testing.assert_frame_equal(pd.concat(chunks), whole.head(10))


def test_nrows_counts_rows_after_a_local_filter(client: Client, sandbox: Sandbox) -> None:
    where = "company_size > 100"
    whole = bs.read_query("account", ["ootb_account_name"], where=where, client=client)
    head = bs.read_query("account", ["ootb_account_name"], where=where, client=client, nrows=5)
    pd.testing.assert_frame_equal(head, whole.head(5))


def test_nrows_zero_and_more_than_there_are(client: Client, sandbox: Sandbox) -> None:
    empty = bs.read_query("account", ["ootb_account_name"], client=client, nrows=0)
    assert list(empty.columns) == ["ootb_account_name"]
    assert len(empty) == 0
    everything = bs.read_query("account", ["ootb_account_name"], client=client, nrows=10**6)
    assert len(everything) == len(sandbox.tenant.accounts)
    with pytest.raises(bs.QueryError, match="nrows must be a non-negative integer"):
        bs.read_query("account", ["ootb_account_name"], client=client, nrows=-1)


def test_index_col_as_in_read_csv(client: Client) -> None:
    columns = ["ootb_account_id", "ootb_account_name", "industry"]
    frame = bs.read_query("account", columns, client=client)
    indexed = bs.read_query("account", columns, client=client, index_col="ootb_account_id")
    pd.testing.assert_frame_equal(indexed, frame.set_index("ootb_account_id"))
    assert indexed.attrs["backstory"]["object"] == "account"
    both = bs.read_query(
        "account", columns, client=client, index_col=["industry", "ootb_account_id"]
    )
    assert list(both.index.names) == ["industry", "ootb_account_id"]
    with pytest.raises(bs.QueryError, match="index_col names annual_revenue"):
        bs.read_query("account", columns, client=client, index_col="annual_revenue")


def test_columns_of_an_earlier_frame_repeat_the_query(client: Client) -> None:
    columns = [
        "ootb_opportunity_name",
        "ootb_opportunity_owner",  # expands to _id/_name
        "ootb_opportunity_amount",  # money: value and _currency
        ("ootb_emails_sent_opp", "last_30_days"),
    ]
    first = bs.read_query("opportunity", columns, client=client)
    assert len(first.columns) > len(columns)  # expansion and variation names
    again = bs.read_query("opportunity", first.columns, client=client)
    pd.testing.assert_frame_equal(again.drop(columns=[]), first)
    subset = bs.read_query("opportunity", first.columns[1:3], client=client)
    assert list(subset.columns) == [
        c for c in first.columns if c.startswith("ootb_opportunity_owner")
    ]


def _where_in_another_function(client: Client, where: str, **names: Any) -> pd.DataFrame:
    return bs.read_query("account", ["company_size"], where=where, client=client, **names)


def test_local_and_global_dict(client: Client) -> None:
    whole = bs.read_query("account", ["company_size"], client=client)
    cutoff = int(whole["company_size"].median())
    got = _where_in_another_function(
        client, "company_size > @cutoff", local_dict={"cutoff": cutoff}
    )
    expected = whole[whole["company_size"] > cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_like=True)
    got = _where_in_another_function(
        client,
        "company_size > @cutoff",
        global_dict={"cutoff": cutoff},
        local_dict={},
    )
    pd.testing.assert_frame_equal(got, expected)
    with pytest.raises(bs.InvalidFilterError):  # not found in the dicts given: no leak
        _where_in_another_function(client, "company_size > @client", local_dict={})


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 1000])
def test_the_row_gate_ends_after_whole_rows_even_with_quoted_line_breaks(size: int) -> None:
    import csv
    import io

    text = 'Name,Note\r\n"a, ""b""","x\ny"\r\nc,"\n\n"\nd,e\n"f","g""\nh"\ni,j\n'
    data = text.encode()
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    for rows in range(6):
        gate = RowGate(rows)
        passed = b"".join(gate.feed(pieces)).decode()
        parsed = list(csv.reader(io.StringIO(passed, newline="")))
        assert parsed == list(csv.reader(io.StringIO(text, newline="")))[: rows + 1]
        assert passed.endswith("\n")
        assert gate.closed
