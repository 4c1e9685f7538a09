"""Turning value columns into CSV text exactly as the Query API writes it, vectorised.

Cells (spec section 3): booleans ``True``/``False``; timestamps
``2026-06-30 14:00:00+00:00``; dates as the field writes them, ``2024-12-31 00:00:00+00:00``
(the reference's ``2024-12-31`` with ``DATE_SUFFIX = ""``); durations ``H:MM:SS`` with hours past
24; lists ``[a;b;c]``; integers without ``.0``; floats in plain decimal notation (never
``1e+06``), trailing zeros dropped. RFC 4180 quoting only where needed (comma, quote, CR, LF)
and for the empty string, which is written ``""`` so that a client can tell it from a
missing value, which is an empty unquoted cell. Rows end with CRLF.

All work is done with Arrow compute kernels on whole batches of rows, never cell by cell.

>>> import pyarrow as pa
>>> cells = render_cells("text", pa.array(["Acme", 'O\\'Brien "OB", Inc.', "", None]))
>>> cells.to_pylist()
['Acme', '"O\\'Brien ""OB"", Inc."', '""', '']
>>> render_cells("money", pa.array([1e6, 12.5, None, 0.1])).to_pylist()
['1000000', '12.5', '', '0.1']
>>> render_cells("duration", pa.array([0, 93784])).to_pylist()
['0:00:00', '26:03:04']
>>> csv_bytes(["Name", "Amount"], [("text", pa.array(["a,b"])), ("money", pa.array([2.0]))])
b'Name,Amount\\r\\n"a,b",2\\r\\n'
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CRLF",
    "DATE_SUFFIX",
    "csv_bytes",
    "header_line",
    "iter_batches",
    "render_cells",
    "render_rows",
]

CRLF = "\r\n"
_NEEDS_QUOTES = '[",\r\n]'
_DECIMALS = {"money": 2, "number": 4, "score": 4, "percentage": 4}
_STRING = pa.string()


def _quote(strings: Any) -> Any:
    """RFC 4180 quoting where needed; the empty string becomes ``""``; nulls stay null."""
    needs = pc.or_(pc.match_substring_regex(strings, _NEEDS_QUOTES), pc.equal(strings, ""))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(strings, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, strings)


def _decimal(values: Any, decimals: int) -> Any:
    floats = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    valid = np.isfinite(floats)
    scale = 10**decimals
    scaled = np.rint(np.abs(np.where(valid, floats, 0.0)) * scale).astype(np.int64)
    whole = pc.cast(pa.array(scaled // scale), _STRING)
    fraction = pc.cast(pa.array(scaled % scale), _STRING)
    fraction = pc.utf8_rtrim(pc.utf8_lpad(fraction, decimals, "0"), "0")
    text = pc.if_else(
        pc.equal(fraction, ""), whole, pc.binary_join_element_wise(whole, fraction, ".")
    )
    negative = pa.array((floats < 0) & (scaled > 0))
    text = pc.if_else(negative, pc.binary_join_element_wise("-", text, ""), text)
    return pc.if_else(pa.array(valid), text, pa.scalar(None, _STRING))


def _duration(seconds: Any) -> Any:
    valid = seconds.is_valid()
    total = np.asarray(seconds.cast(pa.int64()).fill_null(0).to_numpy(), dtype=np.int64)
    hours = pc.cast(pa.array(total // 3600), _STRING)
    minutes = pc.utf8_lpad(pc.cast(pa.array(total % 3600 // 60), _STRING), 2, "0")
    secs = pc.utf8_lpad(pc.cast(pa.array(total % 60), _STRING), 2, "0")
    text = pc.binary_join_element_wise(hours, minutes, secs, ":")
    return pc.if_else(valid, text, pa.scalar(None, _STRING))


#: What follows a date's ``YYYY-MM-DD``: the field writes dates as midnight-UTC timestamps
#: (spec section 3, Appendix); set it to ``""`` for the vendor reference's plain dates.
DATE_SUFFIX = " 00:00:00+00:00"


def render_cells(part_type: str, values: Any) -> Any:
    """One CSV cell per value (already quoted), as a string array without nulls."""
    if part_type in ("text", "id", "enumeration"):
        out = _quote(values.cast(_STRING))
    elif part_type in ("internal_id", "count"):
        out = pc.cast(values, _STRING)
    elif part_type in _DECIMALS:
        out = _decimal(values, _DECIMALS[part_type])
    elif part_type == "boolean":
        out = pc.if_else(values, "True", "False")
    elif part_type == "timestamp":
        text = pc.strftime(values.cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
        out = pc.binary_join_element_wise(text, "+00:00", "")
    elif part_type == "date":
        out = pc.binary_join_element_wise(pc.cast(values, _STRING), DATE_SUFFIX, "")
    elif part_type == "duration":
        out = _duration(values)
    elif part_type == "list":
        joined = pc.binary_join(values, ";")
        out = _quote(pc.binary_join_element_wise("[", joined, "]", ""))
    else:
        raise ValueError(f"cannot render catalog type {part_type!r}")
    return pc.fill_null(out.cast(_STRING), "")


def header_line(labels: Sequence[str]) -> bytes:
    """The header row: display labels, quoted where needed."""
    if not labels:
        return CRLF.encode()
    cells = render_cells("text", pa.array(list(labels), _STRING))
    return (",".join(cells.to_pylist()) + CRLF).encode("utf-8")


def render_rows(columns: Sequence[tuple[str, Any]]) -> Any:
    """Join the rendered cells of equally long columns into CSV rows ending with CRLF."""
    cells = [render_cells(kind, values) for kind, values in columns]
    return _join(cells)


def _join(cells: Sequence[Any]) -> Any:
    joined = cells[0] if len(cells) == 1 else pc.binary_join_element_wise(*cells, ",")
    return pc.binary_join_element_wise(joined, "", CRLF)


class _RenderedCells:
    """The rendered cells of whole value columns, kept for the next answers.

    A tenant's value arrays never change (an override installs new arrays), so the cells of
    a column are rendered once and later answers only slice, take and join them. Keyed by
    the identity of the array, which the cache keeps alive; the oldest entries go first.
    """

    def __init__(self, capacity: int = 96) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, str], tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, values: Any) -> Any:
        key = (id(values), kind)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] is values:
                self._entries.move_to_end(key)
                return found[1]
        cells = render_cells(kind, values)
        with self._lock:
            self._entries[key] = (values, cells)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return cells


RENDERED = _RenderedCells()


def _payload(rows: Any) -> tuple[bytes, npt.NDArray[np.int64]]:
    """The bytes of a string array's values and the start offset of each value."""
    if len(rows) == 0:
        return b"", np.zeros(1, dtype=np.int64)
    rows = rows.cast(_STRING)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    offsets = offsets[rows.offset : rows.offset + len(rows) + 1].astype(np.int64)
    data = memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]
    return bytes(data), offsets - offsets[0]


def iter_batches(
    columns: Sequence[tuple[str, Any]],
    indices: npt.NDArray[np.int64] | None,
    n_rows: int,
    batch_rows: int = 65_536,
) -> Iterator[tuple[bytes, npt.NDArray[np.int64]]]:
    """Render the rows (``indices`` into the columns, or all rows) batch by batch.

    Yields the batch's bytes and the offsets of its row starts (plus the end).
    """
    if not columns:
        return
    cells = [RENDERED.get(kind, values) for kind, values in columns]
    total = n_rows if indices is None else len(indices)
    for start in range(0, total, batch_rows):
        stop = min(total, start + batch_rows)
        if indices is None:
            batch = [c.slice(start, stop - start) for c in cells]
        else:
            take = pa.array(indices[start:stop])
            batch = [c.take(take) for c in cells]
        yield _payload(_join(batch))


def csv_bytes(
    labels: Sequence[str],
    columns: Sequence[tuple[str, Any]],
    indices: npt.NDArray[np.int64] | None = None,
) -> bytes:
    """A whole CSV answer in memory (header plus rows)."""
    n_rows = len(columns[0][1]) if columns else 0
    body = b"".join(data for data, _ in iter_batches(columns, indices, n_rows))
    return header_line(labels) + body
