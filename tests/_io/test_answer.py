"""Header mapping, completeness of streams and CSV to typed frames, without HTTP."""

from __future__ import annotations

import pandas as pd
import pytest

from bspandas._exceptions import (
    ConversionError,
    ResponseError,
    TruncatedResponseError,
)
from bspandas._io.answer import iter_answer, read_answer
from bspandas._io.feed import _Feed
from bspandas.catalog import resolve
from tests.streams import Stream, chop

OPP = resolve(
    ["ootb_opportunity_name", "ootb_opportunity_owner", "ootb_opportunity_amount"], "opportunity"
)
HEADER = (
    b"Opportunity Name,Opportunity Owner (id),Opportunity Owner (name),"
    b"Amount (amount),Amount (currency_iso_code)\n"
)
ROWS = b'"Acme, ""big"" deal",12,"Jane\nDoe",100.5,USD\nSmall,13,Joe,,EUR\n'


def test_rows_parse_across_arbitrary_chunk_boundaries() -> None:
    answer = read_answer(Stream(chop(HEADER + ROWS, 5)), OPP)
    frame = answer.frame
    assert list(frame.columns) == [
        "ootb_opportunity_name",
        "ootb_opportunity_owner_id",
        "ootb_opportunity_owner_name",
        "ootb_opportunity_amount",
        "ootb_opportunity_amount_currency",
    ]
    assert frame.iloc[0, 0] == 'Acme, "big" deal'
    assert frame.iloc[0, 2] == "Jane\nDoe"
    assert frame["ootb_opportunity_owner_id"].tolist() == [12, 13]
    assert pd.isna(frame.iloc[1, 3])
    assert answer.terminated


def test_missing_terminating_chunk_is_fine_when_rows_are_complete() -> None:
    answer = read_answer(Stream([HEADER, ROWS], terminated=False), OPP)
    assert len(answer.frame) == 2
    assert not answer.terminated


@pytest.mark.parametrize(
    ("cut", "where"),
    [
        (ROWS[:-5], "middle of a row"),
        (ROWS[:10], "quoted field"),
        (ROWS[:29], "quoted field"),
    ],
)
def test_cut_streams_are_refused(cut: bytes, where: str) -> None:
    with pytest.raises(TruncatedResponseError, match=where):
        read_answer(Stream([HEADER, cut], terminated=False), OPP)


def test_empty_and_header_only_answers() -> None:
    with pytest.raises(TruncatedResponseError, match="empty"):
        read_answer(Stream([]), OPP)
    frame = read_answer(Stream([HEADER]), OPP).frame
    assert len(frame) == 0
    assert frame.dtypes.astype(str).tolist() == ["string", "Int64", "string", "Float64", "string"]


def test_wrong_type_names_the_column() -> None:
    columns = resolve(["ootb_opportunity_name", "ootb_opportunity_engagement_level"], "opportunity")
    data = b"Opportunity Name,Opportunity Engagement Level\nA,12\nB,high\n"
    # a whole read keeps the column as text from the bytes it parsed, and says so
    answer = read_answer(Stream([data]), columns)
    assert answer.frame["ootb_opportunity_engagement_level"].tolist() == ["12", "high"]
    assert list(answer.kept_as_text) == ["ootb_opportunity_engagement_level"]
    assert "high" in answer.kept_as_text["ootb_opportunity_engagement_level"]
    # chunked reads (identical dtypes in every chunk) still refuse, naming the column
    with pytest.raises(ConversionError, match="ootb_opportunity_engagement_level"):
        list(iter_answer(Stream([data]), columns, 1))
    frame = read_answer(
        Stream([data]), columns, as_text=frozenset({"ootb_opportunity_engagement_level"})
    ).frame
    assert frame["ootb_opportunity_engagement_level"].tolist() == ["12", "high"]


def test_chunks_have_identical_dtypes_and_concatenate() -> None:
    body = HEADER + ROWS * 5
    whole = read_answer(Stream([body]), OPP).frame
    parts = list(iter_answer(Stream(chop(body, 11)), OPP, 3))
    assert [len(p) for p in parts] == [3, 3, 3, 1]
    assert all((p.dtypes == whole.dtypes).all() for p in parts)
    pd.testing.assert_frame_equal(pd.concat(parts), whole)


def test_chunked_read_raises_after_delivering_complete_rows() -> None:
    body = HEADER + ROWS * 5
    stream = Stream([body[:-4]], terminated=False)
    seen: list[int] = []

    def consume() -> None:
        for part in iter_answer(stream, OPP, 4):
            seen.append(len(part))

    with pytest.raises(TruncatedResponseError, match="rows delivered"):
        consume()
    assert seen == [4, 4]


def test_durations_in_every_form() -> None:
    columns = resolve(["ootb_opportunity_days_in_stage"], "opportunity")
    regular = read_answer(Stream([b"Days in Stage\n52:10:05\n0:00:01\n\n1200:00:00\n"]), columns)
    assert regular.frame.iloc[:, 0].dt.total_seconds().tolist()[:2] == [187805.0, 1.0]
    assert regular.frame.iloc[:, 0].isna().tolist() == [False, False, True, False]
    irregular = read_answer(Stream([b"Days in Stage\n-1:00:00\n 2:00:30\n"]), columns)
    assert irregular.frame.iloc[:, 0].dt.total_seconds().tolist() == [-3600.0, 7230.0]


def test_one_column_rows_with_a_missing_value_are_kept() -> None:
    columns = resolve(["industry"], "account")
    frame = read_answer(Stream([b"Industry\r\nRetail\r\n\r\nMedia\r\n\r\n"]), columns).frame
    assert frame["industry"].tolist() == ["Retail", pd.NA, "Media", pd.NA]
    chunks = list(iter_answer(Stream([b"Industry\n\n\nMedia\n"]), columns, 2))
    assert [len(c) for c in chunks] == [2, 1]


def test_a_malformed_row_blocks_deep_is_numbered_exactly() -> None:
    # the rows span several of Arrow's 1 MiB blocks, parsed on every core; only the
    # one-threaded rescan of the held bytes can number the row (quoted newlines included)
    good = b'"Big\nDeal",12,Jane,100.5,USD\n'
    body = HEADER + good * 120_000 + b"Short,row\n" + good * 1_000
    with pytest.raises(ResponseError, match="Row 120001 after the header has 2 field") as info:
        read_answer(Stream(chop(body, 65_536)), OPP)
    assert not isinstance(info.value, TruncatedResponseError)


def test_the_feed_lets_the_held_bytes_go_after_the_read() -> None:
    feed = _Feed([b"abc", b"de"], prefix=b"xy")
    feed.hold()
    assert feed.read() == b"xyabcde"
    assert b"".join(bytes(b) for b in feed.release()) == b"xyabcde"
    assert feed.release() == []
    feed = _Feed([b"abc"])
    feed.read(1)
    assert feed.release() == []  # nothing is held unless asked
