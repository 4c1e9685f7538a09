"""Hostile answers fed straight to the parser: every one ends in a correct frame or a
bspandas error (never ArrowInvalid, _csv.Error, UnicodeDecodeError, KeyError...).

Classes and how many inputs each tries (hypothesis counts are per run):
- header contradictions: 7 fixed headers (5 contradicting, 1 through a read, 1 legal twin);
- wrong field counts in complete answers: 4 fixed (whole and chunked reads);
- line endings: 5 fixed (CR-only whole, one byte at a time and unterminated; CRLF; a CR
  split from its LF across chunks);
- bad bytes: 14 fixed (12 read whole and in 3-byte chunks: invalid UTF-8, NUL, stray
  quotes, HTML, gzip, BOM, empty...; NUL in text; an unparsable duration);
- header size: 2 fixed (over the 1 MiB cap; 5,000 labels in one-byte chunks);
- mutations of a valid answer: 300 hypothesis examples, of a typed one (durations, dates,
  lists, categories...): 200 x 2 reads; arbitrary bytes: 200 x 2 reads;
- transport-truncated bodies: 3 (whole read, chunked read, a hostile body raising mid-header).
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bspandas import catalog
from bspandas._exceptions import (
    BackstoryError,
    ConversionError,
    HeaderMismatchError,
    MissingColumnsError,
    ResponseError,
    TruncatedResponseError,
)
from bspandas._io.align import _Aligner, match_header
from bspandas._io.answer import iter_answer, read_answer
from bspandas._io.dtypes import TEXT_DTYPE
from bspandas._io.header import MAX_HEADER
from bspandas.catalog import resolve
from tests.streams import Stream, chop

ACCOUNT = resolve(["ootb_account_name", "industry", "annual_revenue"], "account")
HEADER = b"Account Name,Industry,Annual Revenue\n"
ROWS = b'"Acme, Inc.",Retail,100.5\nBeta,,\n"Gamma ""G""",Media,7\n'


def expected_accounts() -> pd.DataFrame:
    """The frame of HEADER + ROWS, built with plain pandas."""
    return pd.DataFrame(
        {
            "ootb_account_name": pd.array(["Acme, Inc.", "Beta", 'Gamma "G"'], dtype=TEXT_DTYPE),
            "industry": pd.array(["Retail", None, "Media"], dtype=TEXT_DTYPE),
            "annual_revenue": pd.array([100.5, None, 7.0], dtype="Float64"),
        }
    )


# -- header labels that contradict the request ------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "named"),
    [
        (["Industry", "Account Name", "Annual Revenue"], "ootb_account_name"),  # swapped
        (["Account Name", "Account Name", "Annual Revenue"], "industry"),  # one label twice
        (["Annual Revenue", "Industry", "Account Name"], "annual_revenue"),  # ends swapped
        (["Account Name", "Account Name"], "Account Name"),  # twice, one column dropped
        (["Industry", "Industry"], "Industry"),  # twice, one column dropped
    ],
)
def test_contradicting_header_labels_raise(labels: list[str], named: str) -> None:
    with pytest.raises(HeaderMismatchError, match="contradicts the requested columns") as info:
        match_header(labels, ACCOUNT)
    assert named in str(info.value)


def test_contradiction_is_raised_before_any_row_is_read() -> None:
    body = b"Industry,Account Name,Annual Revenue\nRetail,Acme,1\n"
    with pytest.raises(HeaderMismatchError, match="industry came with the label 'Account Name'"):
        read_answer(Stream([body]), ACCOUNT)


def test_shared_unknown_labels_are_not_contradictions() -> None:
    # windows are not in this metric's label: two variations share one label legitimately
    columns = resolve([("ootb_emails_sent", ["last_7_days", "last_30_days"])], "account")
    plan = match_header(["Total emails", "Total emails"], columns)
    assert [o.name for o in plan.outputs] == [
        "ootb_emails_sent_last_7_days",
        "ootb_emails_sent_last_30_days",
    ]


# -- complete answers with the wrong number of fields ------------------------------------------


@pytest.mark.parametrize("terminated", [True, False])
def test_complete_answer_with_a_long_row_is_malformed_not_cut(terminated: bool) -> None:
    body = HEADER + b"Acme,Retail,1\nBeta,Media,2,extra\nGamma,Retail,3\n"
    with pytest.raises(ResponseError) as info:
        read_answer(Stream(chop(body, 9), terminated=terminated), ACCOUNT)
    assert not isinstance(info.value, TruncatedResponseError)
    message = str(info.value)
    assert "Row 2 after the header has 4 field(s) where the header has 3" in message
    assert "narrow" not in message.lower().replace("narrowing the query will not help", "")


def test_short_row_early_in_a_long_answer_is_malformed() -> None:
    # Arrow stops at the bad row while most of the answer is still on the wire
    good = b"Name,Retail,1\n" * 200_000
    body = HEADER + b"Acme,Retail\n" + good
    stream = Stream(chop(body, 4096), terminated=True)
    with pytest.raises(ResponseError, match="Row 1 after the header has 2 field") as info:
        read_answer(stream, ACCOUNT)
    assert not isinstance(info.value, TruncatedResponseError)


def test_chunked_read_reports_malformed_rows_too() -> None:
    body = HEADER + b"Acme,Retail,1\n" * 5 + b"Bad,row\n"
    with pytest.raises(ResponseError, match="Row 6 after the header has 2") as info:
        list(iter_answer(Stream([body], terminated=False), ACCOUNT, 2))
    assert not isinstance(info.value, TruncatedResponseError)


# -- line endings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [
        [(HEADER + ROWS).replace(b"\n", b"\r")],  # CR only (legal for Arrow): accepted
        [(HEADER + ROWS).replace(b"\n", b"\r\n")],
        [HEADER[:-1] + b"\r", b"\n" + ROWS],  # CR and LF of the header in two chunks
        chop((HEADER + ROWS).replace(b"\n", b"\r"), 1),  # CR only, one byte at a time
    ],
)
def test_line_endings(chunks: list[bytes]) -> None:
    frame = read_answer(Stream(chunks), ACCOUNT).frame
    pd.testing.assert_frame_equal(frame, expected_accounts())


def test_cr_only_answer_without_terminator_is_complete_at_a_row_end() -> None:
    body = (HEADER + ROWS).replace(b"\n", b"\r")
    answer = read_answer(Stream([body], terminated=False), ACCOUNT)
    pd.testing.assert_frame_equal(answer.frame, expected_accounts())


# -- bad bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b"Account Name,Indus\xfftry,Annual Revenue\nA,B,1\n", ResponseError, "not valid UTF-8"),
        (HEADER + b"Acme,Ret\xffail,1\n", ResponseError, "Column 'industry' .* not valid UTF-8"),
        (HEADER + b'Acme,"Retail,1\nBeta,Media,2\n', ResponseError, "Row 1 .* stray quote"),
        (HEADER + b'Acme,Re"tail,1\n', ResponseError, "stray quote"),
        (b"<html><body>Please log in</body></html>\n", MissingColumnsError, "dropped"),
        (b"\r\nAcme,Retail,1\n", ResponseError, "first line is empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)), ResponseError, "UTF-8"),
        (b"\xef\xbb\xbf", TruncatedResponseError, "empty"),
        (b"", TruncatedResponseError, "empty"),
        (b'"Account Name,Industry\n', TruncatedResponseError, "inside its header"),
        (HEADER.replace(b"\n", b",Extra\n") + b"a,b,1,c\n", HeaderMismatchError, "4 columns"),
    ],
)
def test_bad_bytes_become_bspandas_errors(body: bytes, error: type, message: str) -> None:
    for chunks in ([body], chop(body, 3)):
        with pytest.raises(error, match=message):
            read_answer(Stream(chunks), ACCOUNT)


def test_a_nul_byte_in_a_number_keeps_the_column_as_text() -> None:
    # repaired from the bytes already parsed (no second download); the read says so
    for chunks in ([HEADER + b"Acme,Retail,1\x002\n"], chop(HEADER + b"Acme,Retail,1\x002\n", 3)):
        answer = read_answer(Stream(chunks), ACCOUNT)
        assert answer.frame["annual_revenue"].tolist() == ["1\x002"]
        assert list(answer.kept_as_text) == ["annual_revenue"]


def test_nul_bytes_in_text_are_data() -> None:
    body = b"Account Name,Industry,Annual Revenue\nAc\x00me,Retail,1\n"
    frame = read_answer(Stream([body]), ACCOUNT).frame
    assert frame["ootb_account_name"].tolist() == ["Ac\x00me"]


def test_an_unparsable_duration_names_its_column() -> None:
    # durations are parsed after Arrow: a bad one used to escape as ArrowInvalid
    columns = resolve(["ootb_opportunity_days_in_stage"], "opportunity")
    answer = read_answer(Stream([b"Days in Stage\n1:xx:00\n"]), columns)
    assert answer.kept_as_text.keys() == {"ootb_opportunity_days_in_stage"}
    with pytest.raises(ConversionError, match="ootb_opportunity_days_in_stage"):
        list(iter_answer(Stream([b"Days in Stage\n1:xx:00\n"]), columns, 5))
    frame = read_answer(
        Stream([b"Days in Stage\n1:xx:00\n"]),
        columns,
        as_text=frozenset({"ootb_opportunity_days_in_stage"}),
    ).frame
    assert frame.iloc[0, 0] == "1:xx:00"


# -- header size and alignment --------------------------------------------------------------------


def test_header_longer_than_the_cap_is_refused() -> None:
    endless = [b"x" * 65536] * (MAX_HEADER // 65536 + 2)
    with pytest.raises(ResponseError, match="longer than 1,048,576 bytes"):
        read_answer(Stream(endless), ACCOUNT)


def _custom_columns(count: int) -> list[catalog.Column]:
    for i in range(count):
        catalog.register(f"custom_account_x{i}", type="number", object="account")
    return resolve([f"custom_account_x{i}" for i in range(count)], "account")


def test_thousands_of_labels_one_byte_at_a_time() -> None:
    columns = _custom_columns(5000)
    labels = [f"Custom {i}" for i in range(5000)]
    body = (",".join(labels) + "\n" + ",".join("1" for _ in labels) + "\n").encode()
    frame = read_answer(Stream(chop(body, 1)), columns).frame
    assert frame.shape == (1, 5000)
    assert frame.iloc[0].sum() == 5000


def test_alignment_of_5000_unlabeled_columns_is_iterative_and_linear() -> None:
    columns = _custom_columns(5000)
    labels = [f"Custom {i}" for i in range(4999)]  # one column dropped, nothing tells which
    with pytest.raises(MissingColumnsError) as info:  # never RecursionError
        match_header(labels, columns)
    assert info.value.ambiguous
    assert len(info.value.missing) == 5000
    aligner = _Aligner([c.outputs() for c in columns], labels)
    best, count, _ = aligner.best()
    aligner.droppable(0.0)
    assert (best, count) == (0.0, 2)
    # one score per output and placement: 5000 outputs x 2 placements (one drop), no more
    assert aligner.scored <= 2 * 5000


def test_alignment_finds_the_dropped_known_column_among_custom_ones() -> None:
    custom = _custom_columns(1200)
    known = resolve(["ootb_account_name", "ootb_account_domain"], "account")
    columns = [known[0], *custom, known[1]]
    labels = ["Account Name", *[f"Custom {i}" for i in range(1200)]]
    plan = match_header(labels, columns)
    assert [c.name for c in plan.missing] == ["ootb_account_domain"]
    assert len(plan.outputs) == 1201


# -- fuzzing ------------------------------------------------------------------------------------

HOSTILE = st.sampled_from([b'"', b"\r", b"\n", b"\x00", b"\xff", b",", b'""', b"\xc3", b"x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, 10_000), HOSTILE, st.booleans()), max_size=6),
    size=st.integers(1, 40),
    terminated=st.booleans(),
)
def test_mutated_answers_give_a_frame_or_a_bspandas_error(
    edits: list[tuple[int, bytes, bool]], size: int, terminated: bool
) -> None:
    body = bytearray(HEADER + ROWS)
    for position, piece, replace in edits:
        at = position % (len(body) + 1)
        body[at : at + (1 if replace else 0)] = piece
    stream = Stream(chop(bytes(body), size), terminated=terminated)
    try:
        frame = read_answer(stream, ACCOUNT).frame
    except BackstoryError:
        return
    assert list(frame.columns) == [o.name for c in ACCOUNT for o in c.outputs()]


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=400), terminated=st.booleans())
def test_arbitrary_bytes_give_a_frame_or_a_bspandas_error(body: bytes, terminated: bool) -> None:
    for read in (
        lambda: read_answer(Stream([body], terminated=terminated), ACCOUNT).frame,
        lambda: pd.concat(list(iter_answer(Stream([body], terminated=terminated), ACCOUNT, 2))),
    ):
        with contextlib.suppress(BackstoryError):
            read()


# -- bodies the transport proved short ----------------------------------------------------------


def test_a_body_proved_short_is_never_a_frame() -> None:
    short = TruncatedResponseError("The body is shorter than its Content-Length.")
    # the cut falls on a row boundary: only the transport knows it is short
    with pytest.raises(TruncatedResponseError, match="Content-Length"):
        read_answer(Stream([HEADER, ROWS], terminated=False, fail=short), ACCOUNT)
    with pytest.raises(TruncatedResponseError, match="Content-Length"):
        list(iter_answer(Stream([HEADER, ROWS], terminated=False, fail=short), ACCOUNT, 1))
    with pytest.raises(TruncatedResponseError, match="Content-Length"):
        read_answer(Stream([HEADER[:5]], terminated=False, fail=short), ACCOUNT)


TYPED = resolve(
    [
        "ootb_opportunity_name",
        "ootb_opportunity_days_in_stage",
        "ootb_opportunity_close_date",
        "ootb_opportunity_current_stage",
        "ootb_opportunity_owners",
        "ootb_opportunity_is_won",
        "ootb_opportunity_amount",
        "ootb_opportunity_created_at",
    ],
    "opportunity",
)
TYPED_BODY = (
    ",".join(f'"{o.label or o.name}"' for c in TYPED for o in c.outputs()).encode()
    + b"\n"
    + b'"Big, deal",52:10:05,2026-01-02,Proposal,[a;b],true,12.5,EUR,2026-01-02T03:04:05Z\n' * 3
)
TYPED_HOSTILE = st.sampled_from(
    [b'"', b"\r", b"\n", b"\x00", b"\xff", b",", b"-", b":", b"[", b";", b"9" * 30, b"1e999"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, 10_000), TYPED_HOSTILE, st.booleans()), max_size=5),
    size=st.integers(1, 50),
)
def test_mutated_typed_answers_give_a_frame_or_a_bspandas_error(
    edits: list[tuple[int, bytes, bool]], size: int
) -> None:
    """Durations, dates, lists, booleans, money and categories: conversions after Arrow too."""
    body = bytearray(TYPED_BODY)
    for position, piece, replace in edits:
        at = position % (len(body) + 1)
        body[at : at + (1 if replace else 0)] = piece
    for read in (
        lambda: read_answer(Stream(chop(bytes(body), size)), TYPED).frame,
        lambda: pd.concat(list(iter_answer(Stream(chop(bytes(body), size)), TYPED, 2))),
    ):
        with contextlib.suppress(BackstoryError):
            read()
