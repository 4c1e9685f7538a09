r"""Streamed reads: ``chunksize=`` iterators and ``nrows=`` first-row reads, which close the
stream once the rows wanted are in.

>>> gate = RowGate(1)
>>> b"".join(gate.feed([b"h\n1\n2\n"]))
b'h\n1\n'
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator

import pandas as pd

from bspandas._exceptions import (
    UnverifiedAnswerWarning,
    ValidationWarning,
)
from bspandas._io.align import HeaderPlan
from bspandas._io.answer import iter_answer
from bspandas._read.steps import Reader, now_iso, server_date
from bspandas._utils import find_stacklevel

__all__ = ["RowGate", "first_rows", "iterate"]


class RowGate:
    """Passes an answer's bytes on up to the end of its ``rows``-th row after the header,
    then ends (quoted line breaks are not row ends)."""

    def __init__(self, rows: int) -> None:
        self.wanted = rows + 1  # the header line too
        self.closed = False

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        quoted = False
        for chunk in chunks:
            start = 0
            while True:
                end = _row_end(chunk, start, quoted)
                if end is None:
                    quoted = (chunk.count(b'"', start) % 2 == 1) != quoted
                    break
                start, quoted = end + 1, False  # a row ends outside quotes
                self.wanted -= 1
                if self.wanted == 0:
                    self.closed = True
                    yield chunk[:start]
                    return
            yield chunk


def _row_end(chunk: bytes, start: int, quoted: bool) -> int | None:
    """The index of the first line break at or after ``start`` outside quotes (``quoted``:
    whether ``start`` lies inside a quoted field), or None."""
    while True:
        newline = chunk.find(b"\n", start)
        if newline < 0:
            return None
        quoted = (chunk.count(b'"', start, newline) % 2 == 1) != quoted
        if not quoted:
            return newline
        start = newline + 1


def first_rows(reader: Reader, nrows: int) -> pd.DataFrame:
    """The first ``nrows`` rows of the answer; the stream is closed once they are in."""
    frames = list(iterate(reader, max(1, min(nrows, 50_000)), nrows, keep_empty=True))
    attrs = copy.deepcopy(frames[0].attrs)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reset_index(drop=True)
    attrs["backstory"]["rows"] = len(frame)
    attrs["backstory"]["nrows"] = nrows
    frame.attrs = attrs
    return frame


def iterate(
    reader: Reader, chunksize: int, nrows: int | None = None, *, keep_empty: bool = False
) -> Iterator[pd.DataFrame]:
    """The chunks of one streamed read; ``nrows`` bounds their total and closes the stream
    once it is reached (``keep_empty``: a first chunk cut to no rows is still yielded, for
    its columns). Each warning class is shown once per read, not once per chunk."""
    query = reader.query
    shown: set[type[Warning]] = set()
    if nrows == 0 and not keep_empty:
        return
    fetched_at = now_iso()
    with reader.client.stream(query.payload()) as body:
        reader.server_now = server_date(body.headers)
        bar = reader._bar(body)
        try:
            first = True
            position = 0
            plan_holder: list[HeaderPlan] = []

            def on_header(plan: HeaderPlan) -> None:
                reader.check_header(plan)
                plan_holder.append(plan)

            as_text = _enumerations_retyped(reader)
            # the parser reads ahead by megabytes: without a filter applied here, the rows
            # wanted are the first nrows of the answer, so the stream ends right after them
            gate = None if nrows is None or query.local_filter is not None else RowGate(nrows)
            source = reader.chunks(body, bar)
            for chunk in iter_answer(
                source if gate is None else gate.feed(source),
                query.request_columns,
                chunksize,
                dtype_backend=reader.dtype_backend,
                as_text=as_text,
                on_header=on_header,
            ):
                plan = plan_holder[0]
                if not first:
                    plan = HeaderPlan(plan.outputs)  # report dropped columns once
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    finished = reader.finish(chunk, plan, fetched_at)
                _warn_once(caught, shown, position, len(finished))
                if nrows is not None and position + len(finished) >= nrows:
                    finished = finished.iloc[: nrows - position]
                    finished.attrs["backstory"]["rows"] = len(finished)
                    if len(finished) or (first and keep_empty):
                        yield finished.set_axis(pd.RangeIndex(position, nrows))
                    return  # leaving the with block closes the stream: no more bytes read
                first = False
                yield finished.set_axis(pd.RangeIndex(position, position + len(finished)))
                position += len(finished)
                if bar is not None:
                    bar.set_postfix(rows=f"{position:,}", refresh=False)
            if not body.terminated and not (gate is not None and gate.closed):
                warnings.warn(
                    f"The answer ended without its terminating chunk after {position} rows. "
                    "Its last row is complete, so these are probably all the rows, but a "
                    "chunked read cannot check it; read without chunksize= to have bspandas "
                    "re-read and confirm.",
                    UnverifiedAnswerWarning,
                    stacklevel=find_stacklevel(),
                )
        finally:
            if bar is not None:
                bar.close()


def _enumerations_retyped(reader: Reader) -> frozenset[str]:
    """Enumerations given another dtype arrive as text: their categories may not be known
    from the first chunk alone."""
    return frozenset(
        o.name
        for o in reader.query.outputs()
        if o.name in reader.dtypes and o.part.type == "enumeration"
    )


def _warn_once(
    caught: list[warnings.WarningMessage], shown: set[type[Warning]], position: int, rows: int
) -> None:
    """Show each warning class once per read (the first chunk that raised it)."""
    for item in caught:
        if item.category in shown:
            continue
        shown.add(item.category)
        message: Warning | str = item.message
        if issubclass(item.category, ValidationWarning):
            message = (
                f"{item.message} (Chunked read: this is the first chunk with "
                f"failures, rows {position}-{position + rows - 1}; "
                "later chunks are not reported again and may hold more. "
                "Validate the concatenated frame with df.backstory.validate() "
                "for every failure.)"
            )
        warnings.warn(message, item.category, stacklevel=find_stacklevel())
