"""The server drops EVERY requested column: a 200 whose body is an empty header line."""

from __future__ import annotations

import warnings

import pytest

import bspandas as bs
from bspandas._exceptions import MissingColumnsError, ResponseError
from bspandas._io.answer import read_answer
from bspandas.catalog import resolve
from bspandas.sandbox import serve
from tests.streams import Stream, chop

UNKNOWN = ["custom_account_nope__c", "custom_account_nope_two__c"]


@pytest.mark.parametrize("body", [b"\r\n", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf\r\n"])
def test_an_empty_header_line_means_every_column_was_dropped(body: bytes) -> None:
    columns = resolve(["ootb_account_name", "ootb_account_industry"], "account")
    for chunks in ([body], chop(body, 1)):
        answer = read_answer(Stream(chunks), columns)
        assert [c.name for c in answer.plan.missing] == [
            "ootb_account_name",
            "ootb_account_industry",
        ]
        assert answer.frame.shape == (0, 0)


def test_an_empty_header_line_with_rows_after_it_is_still_refused() -> None:
    columns = resolve(["ootb_account_name"], "account")
    body = b"\r\n\r\nAcme\n"
    for chunks in ([body], chop(body, 1)):
        with pytest.raises(ResponseError, match="first line is empty but rows follow"):
            read_answer(Stream(chunks), columns)


def test_read_query_names_every_dropped_column() -> None:
    with serve(seed=1, accounts=5) as sb, sb.client() as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.UnregisteredMetricWarning)
        with pytest.raises(MissingColumnsError) as info:
            bs.read_query("account", UNKNOWN, client=client)
        assert info.value.missing == UNKNOWN
        assert "dropped 2 requested column(s)" in str(info.value)
        with pytest.warns(bs.MissingColumnsWarning, match="dropped 2"):
            frame = bs.read_query("account", UNKNOWN, client=client, on_missing="warn")
    assert frame.shape == (0, 0)
