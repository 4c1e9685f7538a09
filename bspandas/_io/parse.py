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
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bspandas._exceptions import (
    BackstoryError,
    ConversionError,
    HeaderMismatchError,
    MissingColumnsError,
    ResponseError,
    TruncatedResponseError,
)
from bspandas._io.dtypes import TEXT_DTYPE, Backend, arrow_read_type, dtype_for
from bspandas.catalog import vocabulary
from bspandas.catalog.resolve import Column, Output

__all__ = [
    "Answer",
    "HeaderPlan",
    "empty_frame",
    "iter_answer",
    "match_header",
    "read_answer",
    "to_frame",
    "unify_categories",
]

BLOCK_SIZE = 1 << 20
_CONVERSION = re.compile(r"CSV column #(\d+)")
# Arrow numbers the rows when it parses on one thread (as bspandas asks it to)
_FIELDS = re.compile(r"(?:Row #(\d+): )?Expected (\d+) columns?, got (\d+): ?(.*)")


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
    A label that is the known label of another requested column (two labels swapped, one
    label twice) contradicts the request: :class:`HeaderMismatchError`.
    """
    groups = [c.outputs() for c in columns]
    expected = [o for g in groups for o in g]
    if len(labels) == len(expected):
        _check_contradictions(expected, expected, labels)
        mismatched = [
            (o, label)
            for o, label in zip(expected, labels, strict=True)
            if o.label is not None and o.column.metric.label_known and o.label != label
        ]
        return HeaderPlan(expected, [], mismatched, list(labels))
    if len(labels) > len(expected):
        raise HeaderMismatchError(
            f"The answer has {len(labels)} columns but {len(expected)} were asked for: "
            f"{_preview(labels)}. bspandas cannot tell which column is which; please report "
            "this with the payload (dry_run=True shows it)."
        )
    aligner = _Aligner(groups, labels)
    best, count, choice = aligner.best()
    if best is None or choice is None:
        raise HeaderMismatchError(
            f"The header {_preview(labels)} does not fit the requested columns "
            f"{_preview([o.name for o in expected])}."
        )
    _check_contradictions(expected, choice, labels)
    if count > 1:
        candidates = [columns[g].name for g in aligner.droppable(best)]
        raise MissingColumnsError(candidates, ambiguous=True)
    kept = {o.column.name for o in choice}
    missing = [c for c in columns if c.name not in kept]
    return HeaderPlan(list(choice), missing, [], list(labels))


def _preview(items: Sequence[str], limit: int = 20) -> str:
    """A list for a message, shortened when long (headers may hold thousands of labels)."""
    shown = [str(item)[:80] for item in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{shown!r}{more}"


def _check_contradictions(
    expected: Sequence[Output], outputs: Sequence[Output], labels: Sequence[str]
) -> None:
    """Raise when a label is the catalog's known label of a different requested column, or
    a known label arrives more often than it was asked for (the columns would be mixed up)."""
    known: dict[str, list[str]] = {}
    expected_labels: dict[str, list[str]] = {}
    for o in expected:
        if o.label is not None:
            expected_labels.setdefault(o.label, []).append(o.name)
        if o.label is not None and o.column.metric.label_known:
            known.setdefault(o.label, []).append(o.name)
    problems: list[str] = []
    for o, label in zip(outputs, labels, strict=True):
        owners = known.get(label)
        if owners is not None and o.name not in owners:
            problems.append(
                f"{o.name} came with the label {label!r}, which is the label of {', '.join(owners)}"
            )
    for label, n in Counter(labels).items():
        owners = known.get(label)
        if owners is not None and n > len(owners):
            problems.append(f"the label {label!r} of {', '.join(owners)} appears {n} times")
            continue
        if n < 2 or label not in expected_labels:
            continue
        # a label twice is fine when every column given it expects it (two variations of a
        # metric without its window in the label); not when it is another column's label
        given = [o for o, lab in zip(outputs, labels, strict=True) if lab == label]
        strangers = [o.name for o in given if o.label is not None and o.label != label]
        if strangers:
            problems.append(
                f"the label {label!r} of {', '.join(expected_labels[label])} appears {n} "
                f"times, also for {', '.join(strangers)}"
            )
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise HeaderMismatchError(
            f"The answer's header contradicts the requested columns: {shown}. bspandas will "
            "not guess which values belong to which column. Read again; if it persists, "
            "report it with the payload (dry_run=True shows it)."
        )


_Cell = tuple[float, int]  # best score of a part of the alignment, number of ways (capped at 2)


class _Aligner:
    """Aligns whole groups (the outputs of one column) onto labels, dropping some groups.

    Dynamic programming over (group, labels consumed), iteratively (no recursion): the labels
    consumed before group ``g`` lie within ``drop`` of the outputs before it, so there are
    ``groups x (dropped outputs + 1)`` states, each costing one score per output of its group.
    """

    def __init__(self, groups: list[list[Output]], labels: Sequence[str]) -> None:
        self.groups = groups
        self.labels = labels
        self.n = len(labels)
        self.prefix = [0]
        for group in groups:
            self.prefix.append(self.prefix[-1] + len(group))
        self.drop = self.prefix[-1] - self.n
        self._taken: dict[tuple[int, int], float | None] = {}
        self.scored = 0  # scores computed (a measure of the work done)
        self._suffix: list[dict[int, _Cell]] = []

    def _window(self, g: int) -> range:
        return range(max(0, self.prefix[g] - self.drop), min(self.prefix[g], self.n) + 1)

    def _take(self, g: int, i: int) -> float | None:
        """Score of group ``g`` placed on labels ``i, i+1, ...`` (None: it cannot be there)."""
        key = (g, i)
        if key in self._taken:
            return self._taken[key]
        group = self.groups[g]
        total: float | None = 0.0
        if i + len(group) > self.n:
            total = None
        else:
            for k, output in enumerate(group):
                self.scored += 1
                score = _score(output, self.labels[i + k])
                if score is None:
                    total = None
                    break
                total += score  # type: ignore[operator]
        self._taken[key] = total
        return total

    @staticmethod
    def _combine(options: list[_Cell]) -> _Cell | None:
        if not options:
            return None
        top = max(score for score, _ in options)
        ways = sum(count for score, count in options if abs(score - top) < 1e-9)
        return top, min(ways, 2)

    def best(self) -> tuple[float | None, int, list[Output] | None]:
        """(best score, number of best alignments capped at 2, outputs kept by the first)."""
        if self.drop < 0:
            return None, 0, None
        count = len(self.groups)
        suffix: list[dict[int, _Cell]] = [{} for _ in range(count + 1)]
        suffix[count] = {self.n: (0.0, 1)}
        for g in range(count - 1, -1, -1):
            after = suffix[g + 1]
            size = len(self.groups[g])
            for i in self._window(g):
                options: list[_Cell] = []
                if i in after:
                    options.append(after[i])
                if i + size in after:
                    taken = self._take(g, i)
                    if taken is not None:
                        rest = after[i + size]
                        options.append((rest[0] + taken, rest[1]))
                cell = self._combine(options)
                if cell is not None:
                    suffix[g][i] = cell
        self._suffix = suffix
        start = suffix[0].get(0)
        if start is None:
            return None, 0, None
        chosen: list[Output] = []
        i = 0
        for g in range(count):
            here = suffix[g][i][0]
            skip = suffix[g + 1].get(i)
            if skip is not None and abs(skip[0] - here) < 1e-9:
                continue
            chosen.extend(self.groups[g])
            i += len(self.groups[g])
        return start[0], start[1], chosen

    def droppable(self, best: float) -> list[int]:
        """Indices of the groups that some best alignment drops (call after :meth:`best`)."""
        prefix: dict[int, float] = {0: 0.0}
        found: list[int] = []
        for g in range(len(self.groups)):
            after = self._suffix[g + 1]
            if any(
                i in after and abs(score + after[i][0] - best) < 1e-9 for i, score in prefix.items()
            ):
                found.append(g)
            size = len(self.groups[g])
            nxt: dict[int, float] = {}
            for i, score in prefix.items():
                if i in self._window(g + 1):
                    nxt[i] = max(nxt.get(i, score), score)
                taken = self._take(g, i)
                if taken is not None and i + size in self._window(g + 1):
                    value = score + taken
                    nxt[i + size] = max(nxt.get(i + size, value), value)
            prefix = nxt
        return found


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
        if not self._current and not self._eof:
            self._next()
        whole = self._current.obj
        if len(self._current) == size and isinstance(whole, bytes) and len(whole) == size:
            # a whole chunk of exactly the size asked (the client's chunks are Arrow's
            # blocks): hand it over without copying
            self._current = memoryview(b"")
            return whole
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
        return self.quotes % 2 == 0 and self.last in (b"\n", b"\r", b"")

    def drain(self) -> None:
        """Read (and drop) the rest of the stream, so :meth:`complete` and the body's
        ``terminated`` describe the whole answer (after the parser stopped early)."""
        self._current = memoryview(b"")
        while self._next():
            self._current = memoryview(b"")


#: The longest header line accepted (labels of thousands of columns fit well within it).
MAX_HEADER = 1 << 20
_HEADER_STOP = re.compile(rb'["\r\n]')


def _split_header(chunks: Iterable[bytes]) -> tuple[list[str], _Feed]:
    """Read the header record (labels may hold quoted commas and newlines).

    The record ends at the first ``\\n``, ``\\r\\n`` or lone ``\\r`` outside quotes. Bytes are
    gathered in a ``bytearray`` and scanned once (linear in the header's size); a header
    longer than :data:`MAX_HEADER` bytes is refused.
    """
    iterator = iter(chunks)
    buffer = bytearray()
    scanned = 0
    quoted = False
    exhausted = False
    while True:
        while True:
            match = _HEADER_STOP.search(buffer, scanned)
            if match is None:
                scanned = len(buffer)
                break
            pos = match.start()
            char = buffer[pos]
            if char == 0x22 or quoted:  # a quote toggles; line ends inside quotes are data
                quoted = quoted != (char == 0x22)
                scanned = pos + 1
                continue
            if char == 0x0D and pos + 1 == len(buffer) and not exhausted:
                scanned = pos  # a \n may follow in the next chunk
                break
            if pos > MAX_HEADER:
                scanned = pos
                break
            end = pos + 2 if buffer[pos : pos + 2] == b"\r\n" else pos + 1
            return _labels(bytes(buffer[:pos])), _Feed(iterator, bytes(buffer[end:]))
        if scanned > MAX_HEADER:
            raise ResponseError(
                f"The answer's header line is longer than {MAX_HEADER:,} bytes without "
                "ending: this is not an export header. Request fewer columns, or report it."
            )
        if exhausted:
            break
        chunk = next(iterator, None)
        if chunk is None:
            exhausted = True
        else:
            buffer += chunk
    if quoted:
        raise TruncatedResponseError("The answer was cut inside its header line.")
    if not bytes(buffer).removeprefix(b"\xef\xbb\xbf").strip():
        raise TruncatedResponseError("The answer was empty: not even a header line arrived.")
    return _labels(bytes(buffer)), _Feed(iter(()), b"")


def _labels(head: bytes) -> list[str]:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResponseError(
            f"The answer's header is not valid UTF-8 (byte {exc.start}: "
            f"{head[exc.start : exc.start + 8]!r}); the Query API sends UTF-8 CSV. Read again; "
            "if it persists, a proxy may be rewriting the answer."
        ) from None
    if not text.strip():  # the server dropped every requested column (match_header says so)
        return []
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise ResponseError(
            f"The answer's header is not a valid CSV line ({exc}): {text[:200]!r}."
        ) from None
    if len(rows) != 1:
        raise ResponseError(f"The answer's header is not one CSV line: {text[:200]!r}.")
    return rows[0]


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


_SLOW = frozenset({"duration", "list", "date", "timestamp", "enumeration"})
#: Types read as text and cast here: a column whose cells do not convert stays text.
_CAST = {
    "internal_id": pa.int64(),
    "count": pa.int64(),
    "number": pa.float64(),
    "score": pa.float64(),
    "percentage": pa.float64(),
    "money": pa.float64(),
}
_UTC = pa.timestamp("ms", tz="UTC")
_NAIVE = pa.timestamp("ms")
_FIELD_SUFFIX = "+00:00"
_ZONE = r"(?:Z|[+-]\d\d:?\d\d)$"


def _parse_when(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates and timestamps as the API writes them (``2024-12-31``,
    ``2024-12-31 00:00:00+00:00``, ``2026-06-30 14:00:00+00:00``), mixed freely, to
    ``timestamp[ms, UTC]`` with vectorised casts. Cells without a zone are UTC. Raises
    ``ArrowInvalid`` when a cell is neither."""
    if array.null_count == len(array):
        return pa.chunked_array([pa.nulls(len(array), _UTC)], type=_UTC)
    if pc.all(pc.ends_with(array, _FIELD_SUFFIX), skip_nulls=True).as_py() is not False:
        # the field's form: drop the constant "+00:00" and read the rest as UTC
        naive = pc.utf8_slice_codeunits(array, 0, -len(_FIELD_SUFFIX))
        return pc.cast(pc.cast(naive, _NAIVE), _UTC)
    zoned = pc.match_substring_regex(array, _ZONE)
    if pc.any(zoned, skip_nulls=True).as_py() is not True:
        return pc.cast(pc.cast(array, _NAIVE), _UTC)
    null = pa.scalar(None, pa.string())
    with_zone = pc.cast(pc.if_else(zoned, array, null), _UTC)
    without = pc.cast(pc.cast(pc.if_else(zoned, null, array), _NAIVE), _UTC)
    return pc.coalesce(with_zone, without)


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
    kept_as_text: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Turn a parsed table (columns named by output) into a frame with catalog dtypes.

    A number, date, timestamp, duration or list column whose cells do not convert raises
    :class:`ConversionError`; or, when ``kept_as_text`` is a dict, stays text (so no value is
    lost and validation reports it) and is recorded there as ``{name: reason}``.
    """
    enumerations = {
        o.name: o
        for o in outputs
        if o.part.type == "enumeration"
        and dtype_backend == "numpy_nullable"
        and o.name not in as_text
    }

    def convert(output: Output) -> pa.ChunkedArray:
        try:
            return _convert(output)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if kept_as_text is None or output.part.type == "enumeration":
                raise ConversionError(output.name, detail) from None
            kept_as_text[output.name] = detail
            return table.column(output.name)

    def _convert(output: Output) -> pa.ChunkedArray:
        column = table.column(output.name)
        kind = output.part.type
        if output.name in as_text or not pa.types.is_string(column.type):
            return column
        if kind in _CAST:
            column = pc.cast(column, _CAST[kind])
        elif kind == "duration":
            column = _parse_duration(column)
            if dtype_backend == "numpy_nullable":
                column = pc.cast(column, pa.duration("ns"))
        elif kind == "list":
            column = _parse_list(column)
        elif kind in ("date", "timestamp"):
            column = _parse_when(column)
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
    return _recategorized(series, dtype)


def _recategorized(series: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """``series`` with exactly these categories in this order (``astype`` keeps the old
    order when an unordered dtype holds the same set, so the order would follow the data)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.set_categories(list(dtype.categories), ordered=dtype.ordered)
    return series.astype(dtype)


def _same_categories(left: Any, right: pd.CategoricalDtype) -> bool:
    return (
        isinstance(left, pd.CategoricalDtype)
        and left.ordered == right.ordered
        and list(left.categories) == list(right.categories)
    )


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
    #: Columns whose cells did not convert to their type, kept as text: ``{name: reason}``.
    kept_as_text: dict[str, str] = field(default_factory=dict)


def _options(
    outputs: Sequence[Output], as_text: frozenset[str]
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    names = [o.name for o in outputs]
    types = {
        o.name: pa.string() if o.name in as_text else arrow_read_type(o.part.type) for o in outputs
    }
    # one parsing thread: Arrow then numbers the rows it refuses (and on 2 cores it is faster)
    read = pacsv.ReadOptions(column_names=names, block_size=BLOCK_SIZE, use_threads=False)
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


def _check_complete(feed: _Feed, terminated: bool) -> None:
    if terminated:
        if feed.quotes % 2:
            raise ResponseError(
                f"The answer ended inside a quoted field after {feed.total} bytes although "
                "it was complete: it holds a stray quote character. Read again; report it "
                "with the payload (dry_run=True shows it) if it persists."
            )
        return
    if not feed.complete():
        raise TruncatedResponseError(_cut(feed))


def _cut(feed: _Feed) -> str:
    where = "inside a quoted field" if feed.quotes % 2 else "in the middle of a row"
    return f"The answer stopped {where} after {feed.total} bytes, without its terminating chunk."


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
    read, parse, convert = _options(outputs, as_text)
    table: pa.Table | None = None
    try:
        table = pacsv.read_csv(
            feed, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise _arrow_error(exc, outputs, feed, body) from None
    terminated = bool(getattr(body, "terminated", True))
    _check_complete(feed, terminated)
    kept: dict[str, str] = {}
    if table is None or table.num_rows == 0:
        frame = empty_frame(outputs, dtype_backend=dtype_backend)
    else:
        frame = to_frame(
            table, outputs, dtype_backend=dtype_backend, as_text=as_text, kept_as_text=kept
        )
    return Answer(frame, plan, feed.total, terminated, kept)


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


def _keep_categories(
    frame: pd.DataFrame, fixed: Mapping[str, pd.CategoricalDtype], start: int
) -> pd.DataFrame:
    """Give a later chunk the categories of the first one (refuse values outside them)."""
    for name, dtype in fixed.items():
        column = frame[name]
        if _same_categories(column.dtype, dtype):
            continue
        present = set(column.dropna().unique().tolist())
        outside = sorted(str(v) for v in present - set(dtype.categories))
        if outside:
            raise ConversionError(
                name,
                f"rows from {start} on hold {', '.join(map(repr, outside[:5]))}, outside the "
                "categories the first chunk fixed for every chunk (the catalog's values and "
                "those the first chunk held). Read without chunksize= to get every category, "
                f"or pass dtypes={{{name!r}: 'string'}} to read the column as text.",
            )
        frame[name] = _recategorized(column, dtype)
    return frame


def unify_categories(frames: Sequence[pd.DataFrame], outputs: Sequence[Output]) -> None:
    """Give every frame the same categories in place (catalog values, then every value
    outside the catalog that any frame holds, sorted): what one read of all rows gives."""
    for output in outputs:
        if output.part.type != "enumeration":
            continue
        columns = [f[output.name] for f in frames if output.name in f.columns]
        if not columns or not all(isinstance(c.dtype, pd.CategoricalDtype) for c in columns):
            continue
        values = list(output.part.values or output.column.metric.values)
        known = set(values)
        extra = sorted({str(v) for c in columns for v in c.cat.categories if v not in known})
        dtype = dtype_for(
            "enumeration", values=values + extra, ordered=output.column.metric.ordered
        )
        for frame in frames:
            if output.name in frame.columns:
                frame[output.name] = _recategorized(frame[output.name], dtype)


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
