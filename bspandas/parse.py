"""Answers into frames: header labels back to columns, CSV bytes to Arrow to typed pandas.

The parser never talks HTTP. It reads an iterable of byte chunks (the client's ``Body``),
takes the header line itself, maps each label back to a requested column (by position,
checked against the catalog's labels where they are known), and streams the rest into
``pyarrow.csv`` with the catalog's types. It also decides whether an answer that ended
without its terminating chunk is complete: only if it stops at the end of a row, outside any
quoted field.

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
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bspandas.catalog import vocabulary
from bspandas.catalog.resolve import Column, Output
from bspandas.dtypes import TEXT_DTYPE, Backend, arrow_read_type, dtype_for
from bspandas.errors import (
    ConversionError,
    HeaderMismatchError,
    MissingColumnsError,
    ResponseError,
    TruncatedResponseError,
)

__all__ = [
    "Answer",
    "HeaderPlan",
    "empty_frame",
    "iter_answer",
    "match_header",
    "read_answer",
    "to_frame",
]

BLOCK_SIZE = 1 << 20
_CONVERSION = re.compile(r"CSV column #(\d+)")


# -- header ----------------------------------------------------------------------------------


@dataclass
class HeaderPlan:
    """How the answer's header maps to the request.

    ``outputs`` are the frame columns present, in header order; ``missing`` the requested
    columns the server dropped; ``mismatched`` the (output, label) pairs whose known label
    differs from the one received.
    """

    outputs: list[Output]
    missing: list[Column] = field(default_factory=list)
    mismatched: list[tuple[Output, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _score(output: Output, label: str) -> float | None:
    """How well a header label fits an expected column (None: it cannot be that column)."""
    expected = output.label
    metric = output.column.metric
    if expected is not None and label == expected:
        return 3.0 if metric.label_known else 1.0
    if metric.label_known and expected is not None:
        return None
    score = 0.0
    if output.column.period is not None and metric.window_in_label:
        window = f"({vocabulary.label(output.column.period)})"
        score += 0.5 if window in label else -0.25
    if output.part.tag and label.endswith(f"({output.part.tag})"):
        score += 0.5
    return score


def match_header(labels: Sequence[str], columns: Sequence[Column]) -> HeaderPlan:
    """Map header labels to the requested columns.

    The API keeps the order of the request and silently drops what it does not know, so the
    header is the request minus some columns. When as many labels came as were expected the
    mapping is positional (known labels that differ are reported as ``mismatched``).
    Otherwise the dropped columns are found by aligning labels with the catalog's labels;
    when two alignments fit equally well, :class:`MissingColumnsError` names every candidate.
    """
    groups = [c.outputs() for c in columns]
    expected = [o for g in groups for o in g]
    if len(labels) == len(expected):
        mismatched = [
            (o, label)
            for o, label in zip(expected, labels, strict=True)
            if o.label is not None and o.column.metric.label_known and o.label != label
        ]
        return HeaderPlan(expected, [], mismatched, list(labels))
    if len(labels) > len(expected):
        raise HeaderMismatchError(
            f"The answer has {len(labels)} columns but {len(expected)} were asked for: "
            f"{list(labels)!r}. bspandas cannot tell which column is which; please report this "
            "with the payload (dry_run=True shows it)."
        )
    best, count, choice = _align(groups, labels)
    if best is None or choice is None:
        raise HeaderMismatchError(
            f"The header {list(labels)!r} does not fit the requested columns "
            f"{[o.name for o in expected]!r}."
        )
    if count > 1:
        candidates = [c.name for c in columns if _droppable(groups, labels, c, best)]
        raise MissingColumnsError(candidates, ambiguous=True)
    kept = {o.column.name for o in choice}
    missing = [c for c in columns if c.name not in kept]
    return HeaderPlan(list(choice), missing, [], list(labels))


def _align(
    groups: list[list[Output]], labels: Sequence[str]
) -> tuple[float | None, int, list[Output] | None]:
    """Best alignment of whole groups onto labels: (score, number of best ones, outputs)."""
    n = len(labels)
    # state: (group index, label index) -> (score, count, chosen outputs)
    memo: dict[tuple[int, int], tuple[float | None, int, list[Output] | None]] = {}

    def solve(g: int, i: int) -> tuple[float | None, int, list[Output] | None]:
        if (g, i) in memo:
            return memo[(g, i)]
        if g == len(groups):
            result: tuple[float | None, int, list[Output] | None] = (
                (0.0, 1, []) if i == n else (None, 0, None)
            )
            memo[(g, i)] = result
            return result
        options: list[tuple[float, int, list[Output]]] = []
        skip = solve(g + 1, i)
        if skip[0] is not None and skip[2] is not None:
            options.append((skip[0], skip[1], skip[2]))
        group = groups[g]
        if i + len(group) <= n:
            scores = [_score(o, labels[i + k]) for k, o in enumerate(group)]
            if all(s is not None for s in scores):
                rest = solve(g + 1, i + len(group))
                if rest[0] is not None and rest[2] is not None:
                    total = rest[0] + sum(s for s in scores if s is not None)
                    options.append((total, rest[1], group + rest[2]))
        if not options:
            memo[(g, i)] = (None, 0, None)
            return memo[(g, i)]
        top = max(o[0] for o in options)
        winners = [o for o in options if abs(o[0] - top) < 1e-9]
        memo[(g, i)] = (top, sum(w[1] for w in winners), winners[0][2])
        return memo[(g, i)]

    return solve(0, 0)


def _droppable(
    groups: list[list[Output]], labels: Sequence[str], column: Column, best: float
) -> bool:
    """True when some best alignment drops ``column``."""
    score, _, _ = _align([g for g in groups if g[0].column is not column], labels)
    return score is not None and abs(score - best) < 1e-9


# -- the byte stream -----------------------------------------------------------------------------


class _Feed(io.RawIOBase):
    """A read-only file over byte chunks that remembers how the bytes ended."""

    def __init__(self, chunks: Iterable[bytes], prefix: bytes = b"") -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._current = memoryview(prefix)
        self.quotes = 0
        self.total = 0
        self.last = b""
        self._eof = False
        if prefix:
            self._seen(prefix)

    def _seen(self, chunk: bytes) -> None:
        self.quotes += chunk.count(b'"')
        self.total += len(chunk)
        self.last = chunk[-1:]

    def _next(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._seen(chunk)
                self._current = memoryview(chunk)
                return True
        self._eof = True
        return False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [bytes(self._current)]
            self._current = memoryview(b"")
            while self._next():
                parts.append(bytes(self._current))
                self._current = memoryview(b"")
            return b"".join(parts)
        if len(self._current) >= size:
            out = bytes(self._current[:size])
            self._current = self._current[size:]
            return out
        buffer = bytearray(self._current)
        self._current = memoryview(b"")
        while len(buffer) < size and self._next():
            need = size - len(buffer)
            buffer += self._current[:need]
            self._current = self._current[need:]
        return bytes(buffer)

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def complete(self) -> bool:
        """True when the bytes end at a row boundary outside any quoted field."""
        return self.quotes % 2 == 0 and self.last in (b"\n", b"")


def _split_header(chunks: Iterable[bytes]) -> tuple[list[str], _Feed]:
    """Read the header record (labels may hold quoted commas and newlines)."""
    iterator = iter(chunks)
    buffer = b""
    scanned = 0
    quotes = 0
    for chunk in iterator:
        buffer += chunk
        while True:
            newline = buffer.find(b"\n", scanned)
            if newline < 0:
                quotes += buffer.count(b'"', scanned)
                scanned = len(buffer)
                break
            quotes += buffer.count(b'"', scanned, newline)
            scanned = newline + 1
            if quotes % 2 == 0:
                head, rest = buffer[:newline], buffer[newline + 1 :]
                return _labels(head), _Feed(iterator, rest)
    if buffer.strip() and buffer.count(b'"') % 2 == 0:
        return _labels(buffer), _Feed(iter(()), b"")
    if not buffer:
        raise TruncatedResponseError("The answer was empty: not even a header line arrived.")
    raise TruncatedResponseError("The answer was cut inside its header line.")


def _labels(head: bytes) -> list[str]:
    text = head.decode("utf-8-sig").rstrip("\r")
    return next(csv.reader([text], strict=True))


# -- Arrow to pandas -------------------------------------------------------------------------------


_HMS = r"^\d+:\d\d:\d\d$"


def _parse_duration(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """``H:MM:SS`` (hours may pass 24, optional ``-``) to ``duration[s]``.

    The common form is read by position (the last five characters are ``MM:SS``); anything
    else (a sign, spaces, short fields) goes through the general parser.
    """
    regular = pc.match_substring_regex(array, _HMS)
    if pc.all(regular, skip_nulls=True).as_py() is not False:
        hours = pc.cast(pc.utf8_slice_codeunits(array, 0, -6), pa.int64())
        minutes = pc.cast(pc.utf8_slice_codeunits(array, -5, -3), pa.int64())
        seconds = pc.cast(pc.utf8_slice_codeunits(array, -2), pa.int64())
        total = pc.add(pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)), seconds)
        return pc.cast(total, pa.duration("s"))
    return _parse_duration_general(array)


def _parse_duration_general(array: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(array)
    negative = pc.starts_with(text, "-")
    parts = pc.split_pattern(pc.replace_substring(text, "-", ""), ":")
    seconds = None
    for index, factor in ((0, 3600), (1, 60), (2, 1)):
        piece = pc.cast(pc.list_element(parts, index), pa.int64())
        term = pc.multiply(piece, factor)
        seconds = term if seconds is None else pc.add(seconds, term)
    signed = pc.if_else(negative, pc.negate(seconds), seconds)
    return pc.cast(signed, pa.duration("s"))


def _parse_list(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """``[a;b;c]`` to ``list<string>`` (``[]`` is an empty list)."""
    inner = pc.utf8_slice_codeunits(array, 1, -1)
    split = pc.split_pattern(inner, ";")
    empty = pc.equal(inner, "")
    return pc.if_else(empty, pa.scalar([], type=pa.list_(pa.string())), split)


_SLOW = frozenset({"duration", "list", "date", "enumeration"})

_NULLABLE: dict[pa.DataType, Any] = {
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _numpy_mapper(kind: pa.DataType) -> Any:
    if kind in _NULLABLE:
        return _NULLABLE[kind]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return TEXT_DTYPE
    if pa.types.is_list(kind):
        return pd.ArrowDtype(kind)
    return None


def to_frame(
    table: pa.Table,
    outputs: Sequence[Output],
    *,
    dtype_backend: Backend = "numpy_nullable",
    as_text: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Turn a parsed table (columns named by output) into a frame with catalog dtypes."""
    enumerations = {
        o.name: o
        for o in outputs
        if o.part.type == "enumeration"
        and dtype_backend == "numpy_nullable"
        and o.name not in as_text
    }

    def convert(output: Output) -> pa.ChunkedArray:
        column = table.column(output.name)
        kind = output.part.type
        if output.name in as_text:
            return column
        if kind == "duration":
            column = _parse_duration(column)
            if dtype_backend == "numpy_nullable":
                column = pc.cast(column, pa.duration("ns"))
        elif kind == "list":
            column = _parse_list(column)
        elif kind == "date":
            column = pc.cast(pc.cast(column, pa.timestamp("ms")), pa.timestamp("ms", tz="UTC"))
        elif output.name in enumerations:
            column = column.dictionary_encode()
        return column

    slow = [o for o in outputs if o.part.type in _SLOW and o.name not in as_text]
    if len(slow) > 1 and table.num_rows > 100_000:
        # Arrow compute releases the GIL: parse the costly columns side by side
        with ThreadPoolExecutor(max_workers=min(len(slow), os.cpu_count() or 1)) as pool:
            done = dict(zip([o.name for o in slow], pool.map(convert, slow), strict=True))
    else:
        done = {o.name: convert(o) for o in slow}
    arrays = [done[o.name] if o.name in done else convert(o) for o in outputs]
    table = pa.table(arrays, names=[o.name for o in outputs])
    if dtype_backend == "pyarrow":
        arrow_frame: pd.DataFrame = table.to_pandas(
            types_mapper=pd.ArrowDtype, split_blocks=True, self_destruct=True
        )
        return arrow_frame
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=_numpy_mapper, split_blocks=True, self_destruct=True
    )
    for name, output in enumerations.items():
        frame[name] = _categorical(frame[name], output)
    return frame


def _categorical(series: pd.Series, output: Output) -> pd.Series:
    """Catalog categories first; values outside the catalog are kept as extra categories."""
    values = list(output.part.values or output.column.metric.values)
    present: list[Any] = (
        list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype) else []
    )
    extra = sorted(str(v) for v in present if v not in set(values))
    dtype = dtype_for("enumeration", values=values + extra, ordered=output.column.metric.ordered)
    return series.astype(dtype)


def empty_frame(
    outputs: Sequence[Output], *, dtype_backend: Backend = "numpy_nullable"
) -> pd.DataFrame:
    """A frame with no rows but every column and its dtype."""
    table = pa.table(
        [pa.array([], type=arrow_read_type(o.part.type)) for o in outputs],
        names=[o.name for o in outputs],
    )
    return to_frame(table, outputs, dtype_backend=dtype_backend)


# -- reading -------------------------------------------------------------------------------


@dataclass
class Answer:
    """A parsed answer: the frame, its header plan and how the stream ended."""

    frame: pd.DataFrame
    plan: HeaderPlan
    bytes_read: int
    terminated: bool


def _options(
    outputs: Sequence[Output], as_text: frozenset[str]
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    names = [o.name for o in outputs]
    types = {
        o.name: pa.string() if o.name in as_text else arrow_read_type(o.part.type) for o in outputs
    }
    read = pacsv.ReadOptions(column_names=names, block_size=BLOCK_SIZE, use_threads=True)
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
    exc: pa.ArrowInvalid, outputs: Sequence[Output], feed: _Feed, ended: bool
) -> Exception:
    message = str(exc)
    if not feed.complete() or not ended:
        return TruncatedResponseError(_cut(feed) + f" ({message.splitlines()[0]})")
    match = _CONVERSION.search(message)
    if match and "conversion error" in message.lower():
        index = int(match.group(1))
        if index < len(outputs):
            return ConversionError(outputs[index].name, message.splitlines()[0])
    if "columns" in message and "Expected" in message:
        return TruncatedResponseError(
            f"A row of the answer is incomplete ({message.splitlines()[0]})."
        )
    return ResponseError(f"The answer is not valid CSV: {message.splitlines()[0]}")


def _check_complete(feed: _Feed, terminated: bool) -> None:
    if terminated:
        if feed.quotes % 2:
            raise TruncatedResponseError("The answer ended inside a quoted field.")
        return
    if not feed.complete():
        raise TruncatedResponseError(_cut(feed))


def _cut(feed: _Feed) -> str:
    where = "inside a quoted field" if feed.quotes % 2 else "in the middle of a row"
    return f"The answer stopped {where} after {feed.total} bytes, without its terminating chunk."


def _header(body: Iterable[bytes], columns: Sequence[Column]) -> tuple[HeaderPlan, _Feed]:
    labels, feed = _split_header(body)
    return match_header(labels, columns), feed


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
    mapped (to stop early on dropped columns before the rows arrive).
    """
    plan, feed = _header(body, columns)
    if on_header is not None:
        on_header(plan)
    outputs = plan.outputs
    read, parse, convert = _options(outputs, as_text)
    table: pa.Table | None = None
    try:
        table = pacsv.read_csv(
            feed, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise _arrow_error(exc, outputs, feed, getattr(body, "terminated", True)) from None
    terminated = bool(getattr(body, "terminated", True))
    _check_complete(feed, terminated)
    if table is None or table.num_rows == 0:
        frame = empty_frame(outputs, dtype_backend=dtype_backend)
    else:
        frame = to_frame(table, outputs, dtype_backend=dtype_backend, as_text=as_text)
    return Answer(frame, plan, feed.total, terminated)


def iter_answer(
    body: Iterable[bytes],
    columns: Sequence[Column],
    chunksize: int,
    *,
    dtype_backend: Backend = "numpy_nullable",
    on_header: Any = None,
) -> Iterator[pd.DataFrame]:
    """Yield typed frames of ``chunksize`` rows as the answer arrives.

    Every frame holds complete rows only. When the stream turns out to be cut short, the
    frames already yielded stay valid and :class:`TruncatedResponseError` is raised with the
    number of rows delivered, so a loop never ends quietly on a partial answer.
    """
    plan, feed = _header(body, columns)
    if on_header is not None:
        on_header(plan)
    outputs = plan.outputs
    read, parse, convert = _options(outputs, frozenset())
    read = pacsv.ReadOptions(column_names=read.column_names, block_size=min(BLOCK_SIZE, 1 << 20))
    delivered = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        for batch in _batches(feed, read, parse, convert):
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunksize:
                table = pa.Table.from_batches(pending)
                head, tail = table.slice(0, chunksize), table.slice(chunksize)
                yield to_frame(head, outputs, dtype_backend=dtype_backend).set_axis(
                    pd.RangeIndex(delivered, delivered + chunksize)
                )
                delivered += chunksize
                pending = tail.to_batches()
                pending_rows = tail.num_rows
    except pa.ArrowInvalid as exc:
        error = _arrow_error(exc, outputs, feed, getattr(body, "terminated", True))
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
        table = pa.Table.from_batches(pending) if pending else None
        frame = (
            to_frame(table, outputs, dtype_backend=dtype_backend)
            if table is not None and table.num_rows
            else empty_frame(outputs, dtype_backend=dtype_backend)
        )
        yield frame.set_axis(pd.RangeIndex(delivered, delivered + len(frame)))


def _batches(
    feed: _Feed,
    read: pacsv.ReadOptions,
    parse: pacsv.ParseOptions,
    convert: pacsv.ConvertOptions,
) -> Iterator[pa.RecordBatch]:
    try:
        reader = pacsv.open_csv(
            feed, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return
        raise
    yield from reader
