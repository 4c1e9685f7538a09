"""Answers into frames: the header mapped, the rows parsed by Arrow, typed by conversion.

The parser never talks HTTP. It reads an iterable of byte chunks (the client's ``Body``),
takes the header line itself (:mod:`bspandas._io.header`), maps each label back to a
requested column (:mod:`bspandas._io.align`), and streams the rest into ``pyarrow.csv``
with the catalog's types (:mod:`bspandas._io.convert`). Whatever the bytes, the errors
raised are bspandas errors: Arrow's are mapped here.

>>> from bspandas.catalog import resolve
>>> cols = resolve(["ootb_opportunity_name", "ootb_opportunity_amount"], "opportunity")
>>> chunks = [b'Opportunity Name,Amount (amount),Amount (currency_iso_code)\\n',
...           b'"Big, deal",12.5,EUR\\n']
>>> answer = read_answer(chunks, cols)
>>> answer.frame.dtypes.astype(str).tolist()
['string', 'Float64', 'string']
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from bspandas._exceptions import (
    BackstoryError,
    ConversionError,
    ResponseError,
    TruncatedResponseError,
)
from bspandas._io.align import HeaderPlan, match_header
from bspandas._io.convert import _keep_categories, empty_frame, to_frame
from bspandas._io.dtypes import Backend, arrow_read_type
from bspandas._io.feed import _check_complete, _cut, _Feed
from bspandas._io.header import _split_header
from bspandas._io.pool import read_pool
from bspandas.catalog.resolve import Column, Output

if TYPE_CHECKING:
    import pyarrow.csv as pacsv

__all__ = ["Answer", "iter_answer", "read_answer"]

BLOCK_SIZE = 1 << 20
_CONVERSION = re.compile(r"CSV column #(\d+)")
# Arrow numbers the rows when it parses on one thread (as bspandas asks it to)
_FIELDS = re.compile(r"(?:Row #(\d+): )?Expected (\d+) columns?, got (\d+): ?(.*)")


@dataclass
class Answer:
    """A parsed answer: the frame, its header plan and how the stream ended."""

    frame: pd.DataFrame
    plan: HeaderPlan
    bytes_read: int
    terminated: bool
    #: Columns whose cells did not convert to their type, kept as text: ``{name: reason}``.
    kept_as_text: dict[str, str] = field(default_factory=dict)


def _options(
    outputs: Sequence[Output], as_text: frozenset[str], *, threads: bool = False
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    import pyarrow.csv as pacsv  # loaded at the first read (import time, issue 15)

    names = [o.name for o in outputs]
    types = {
        o.name: pa.string() if o.name in as_text else arrow_read_type(o.part.type) for o in outputs
    }
    # Arrow numbers the rows it refuses only when it parses on one thread: a threaded parse
    # that fails is repeated on one thread over the bytes it held (_parse_whole)
    read = pacsv.ReadOptions(column_names=names, block_size=BLOCK_SIZE, use_threads=threads)
    # an empty line is a row whose only cell is missing (one-column answers), not noise
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(
        column_types=types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
        true_values=["True", "true", "TRUE"],
        false_values=["False", "false", "FALSE"],
    )
    return read, parse, convert


def _arrow_error(
    exc: pa.ArrowInvalid,
    outputs: Sequence[Output],
    feed: _Feed,
    body: Iterable[bytes],
) -> Exception:
    """The bspandas error for a failed parse, once the whole stream is known."""
    feed.drain()  # Arrow stops early: learn how the answer really ended
    ended = bool(getattr(body, "terminated", True))
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not feed.complete() and not ended:
        return TruncatedResponseError(_cut(feed) + f" ({message})")
    fields = _FIELDS.search(message)
    if fields is not None:
        number, expected, found, text = fields.groups()
        where = f"Row {number} after the header" if number else "A row"
        quote = " (the answer holds a stray quote character)" if feed.quotes % 2 else ""
        return ResponseError(
            f"The answer is complete but malformed: {where} has {found} field(s) where the "
            f"header has {expected} ({text[:120]!r}){quote}. Narrowing the query will not "
            "help; read again, and report it with the payload (dry_run=True shows it) if it "
            "persists."
        )
    match = _CONVERSION.search(message)
    if match and "utf8" in message.lower():
        index = int(match.group(1))
        name = outputs[index].name if index < len(outputs) else f"#{index}"
        return ResponseError(
            f"Column {name!r} of the answer is not valid UTF-8 (the Query API sends UTF-8 "
            "CSV). Read again; if it persists, a proxy may be rewriting the answer."
        )
    if match and "conversion error" in message.lower():
        index = int(match.group(1))
        if index < len(outputs):
            return ConversionError(outputs[index].name, message)
    return ResponseError(f"The answer is not valid CSV: {message}")


def _header(body: Iterable[bytes], columns: Sequence[Column]) -> tuple[HeaderPlan, _Feed]:
    labels, feed = _split_header(body)
    if not labels:  # an empty header line: every requested column was dropped, no row follows
        while piece := feed.read(1 << 16):
            if piece.strip():
                raise ResponseError(
                    "The answer's first line is empty but rows follow: it has no header "
                    "naming their columns. Read again; report it with the payload "
                    "(dry_run=True shows it) if it persists."
                )
    return match_header(labels, columns), feed


#: Errors of the parsing stack that must not escape as such (they become ResponseError).
_FOREIGN = (pa.ArrowException, csv.Error, UnicodeError, KeyError, IndexError, OverflowError)


def _foreign(exc: BaseException) -> ResponseError:
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    return ResponseError(
        f"The answer could not be read ({type(exc).__name__}: {first}). Read again; report it "
        "with the payload (dry_run=True shows it) if it persists."
    )


def read_answer(
    body: Iterable[bytes],
    columns: Sequence[Column],
    *,
    dtype_backend: Backend = "numpy_nullable",
    as_text: frozenset[str] = frozenset(),
    on_header: Any = None,
) -> Answer:
    """Parse a whole answer into a typed frame.

    ``body`` may carry a ``terminated`` attribute (the client's ``Body``); without it the
    chunks are taken as a complete stream. ``on_header(plan)`` is called once the header is
    mapped (to stop early on dropped columns before the rows arrive). Whatever the bytes,
    the errors raised are bspandas errors (:class:`ResponseError` and its subclasses).
    """
    try:
        return _read_answer(body, columns, dtype_backend, as_text, on_header)
    except BackstoryError:
        raise
    except _FOREIGN as exc:
        raise _foreign(exc) from None


def _read_answer(
    body: Iterable[bytes],
    columns: Sequence[Column],
    dtype_backend: Backend,
    as_text: frozenset[str],
    on_header: Any,
) -> Answer:
    plan, feed = _header(body, columns)
    if on_header is not None:
        on_header(plan)
    outputs = plan.outputs
    # in a list so that to_frame is handed the only reference: it frees each Arrow column
    # as its pandas column is built (peak memory, issue 15)
    parsed = [_parse_whole(feed, outputs, as_text, body)]
    terminated = bool(getattr(body, "terminated", True))
    _check_complete(feed, terminated)
    kept: dict[str, str] = {}
    if parsed[0] is None or parsed[0].num_rows == 0:
        frame = empty_frame(outputs, dtype_backend=dtype_backend)
    else:
        frame = to_frame(
            parsed.pop(), outputs, dtype_backend=dtype_backend, as_text=as_text,
            kept_as_text=kept,
        )  # fmt: skip
    return Answer(frame, plan, feed.total, terminated, kept)


def _parse_whole(
    feed: _Feed, outputs: Sequence[Output], as_text: frozenset[str], body: Iterable[bytes]
) -> pa.Table | None:
    """The rows as one Arrow table, parsed on every core (None: no row at all).

    The feed holds the bytes it hands over while Arrow parses; they are let go as soon as
    the parse succeeds. When it fails, the held bytes (and the rest of the stream) are
    parsed again on one thread, so the error is exactly the one-threaded parse's, with the
    malformed row numbered.
    """
    import pyarrow.csv as pacsv

    read, parse, convert = _options(outputs, as_text, threads=True)
    feed.hold()
    try:
        return pacsv.read_csv(
            feed,
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=read_pool(),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None
        feed.drain()  # the whole answer, held
        held = feed.release()
        read.use_threads = False
        try:
            pacsv.read_csv(
                pa.py_buffer(b"".join(held)),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
                memory_pool=read_pool(),
            )
        except pa.ArrowInvalid as numbered:
            exc = numbered
        raise _arrow_error(exc, outputs, feed, body) from None
    finally:
        feed.release()


def iter_answer(
    body: Iterable[bytes],
    columns: Sequence[Column],
    chunksize: int,
    *,
    dtype_backend: Backend = "numpy_nullable",
    as_text: frozenset[str] = frozenset(),
    on_header: Any = None,
) -> Iterator[pd.DataFrame]:
    """Yield typed frames of ``chunksize`` rows as the answer arrives.

    Every frame holds complete rows only, and every frame has the same dtypes: categories
    are fixed by the first frame (catalog values, then values outside the catalog found in
    it). A later value outside them raises :class:`ConversionError` naming the column (read
    without ``chunksize=``, or ask for it as text). When the stream turns out to be cut
    short, the frames already yielded stay valid and :class:`TruncatedResponseError` is
    raised with the number of rows delivered, so a loop never ends quietly on a partial
    answer.
    """
    try:
        yield from _iter_answer(body, columns, chunksize, dtype_backend, as_text, on_header)
    except BackstoryError:
        raise
    except _FOREIGN as exc:
        raise _foreign(exc) from None


def _iter_answer(
    body: Iterable[bytes],
    columns: Sequence[Column],
    chunksize: int,
    dtype_backend: Backend,
    as_text: frozenset[str],
    on_header: Any,
) -> Iterator[pd.DataFrame]:
    plan, feed = _header(body, columns)
    if on_header is not None:
        on_header(plan)
    outputs = plan.outputs
    read, parse, convert = _options(outputs, as_text)
    delivered = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    fixed: dict[str, pd.CategoricalDtype] | None = None

    def frame_of(table: pa.Table | None, start: int) -> pd.DataFrame:
        nonlocal fixed
        frame = (
            to_frame(table, outputs, dtype_backend=dtype_backend, as_text=as_text)
            if table is not None and table.num_rows
            else empty_frame(outputs, dtype_backend=dtype_backend)
        )
        if fixed is None:
            fixed = {
                str(name): dtype
                for name, dtype in frame.dtypes.items()
                if isinstance(dtype, pd.CategoricalDtype)
            }
        else:
            frame = _keep_categories(frame, fixed, start)
        return frame.set_axis(pd.RangeIndex(start, start + len(frame)))

    try:
        for batch in _batches(feed, read, parse, convert):
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunksize:
                table = pa.Table.from_batches(pending)
                head, tail = table.slice(0, chunksize), table.slice(chunksize)
                yield frame_of(head, delivered)
                delivered += chunksize
                pending = tail.to_batches()
                pending_rows = tail.num_rows
    except pa.ArrowInvalid as exc:
        error = _arrow_error(exc, outputs, feed, body)
        raise (
            type(error)(f"{error} {delivered} rows had been delivered.")
            if isinstance(error, TruncatedResponseError)
            else error
        ) from None
    try:
        _check_complete(feed, bool(getattr(body, "terminated", True)))
    except TruncatedResponseError as exc:
        raise TruncatedResponseError(
            f"{exc} The {delivered} rows delivered in earlier chunks are complete rows; the "
            "rest of the answer is missing. Read again (without chunksize to have bspandas "
            "retry automatically)."
        ) from None
    if pending_rows or delivered == 0:
        yield frame_of(pa.Table.from_batches(pending) if pending else None, delivered)


def _batches(
    feed: _Feed,
    read: pacsv.ReadOptions,
    parse: pacsv.ParseOptions,
    convert: pacsv.ConvertOptions,
) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(
            feed,
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=read_pool(),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return
        raise
    yield from reader
