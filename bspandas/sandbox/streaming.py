"""Streaming an export answer: the CSV in chunked framing, and the damaged ways the real
service sends it on demand (cut, reset, unterminated, trickled one byte at a time).
Where a damaged answer stops is :func:`cut_point`.
"""

from __future__ import annotations

import io
import re
import socket
import struct
from collections.abc import Iterator
from typing import Any

from bspandas.sandbox.export import ExportPlan
from bspandas.sandbox.handler_base import HandlerBase
from bspandas.sandbox.render import header_line, iter_batches

__all__ = ["Streaming", "cut_point"]

_FIELD_START = re.compile(rb"[,\n]")


class Streaming(HandlerBase):
    """The answer-streaming step of a handler."""

    def _start_csv(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes | memoryview) -> None:
        if len(data):
            self.wfile.write(b"%X\r\n" % len(data) + bytes(data) + b"\r\n")

    def _chunks(self, data: bytes) -> Iterator[memoryview]:
        view = memoryview(data)
        size = self.sb.chunk_bytes
        for start in range(0, len(view), size):
            yield view[start : start + size]

    def _stream(self, plan: ExportPlan, client: str, query: Any) -> None:
        fault = self.sb._fault_state.stream_fault()
        details = {"client_id": client, "object": plan.object, "query": query}
        rows = plan.row_count
        header = header_line(plan.labels)
        batches = iter_batches(plan.columns, plan.indices, plan.n_rows, self.sb.batch_rows)
        if fault is not None:
            self._damaged(fault, header, batches, rows, details)
            return
        trickle = self.sb._fault_state.trickle_delay()
        if trickle is not None:
            self._trickled(trickle, header, batches, rows, details)
            return
        self._start_csv()
        sent = 0
        try:
            self._chunk(header)
            sent = len(header)
            for data, _ in batches:
                for piece in self._chunks(data):
                    self._chunk(piece)
                sent += len(data)
        except (ConnectionError, TimeoutError):
            self._record("export", 200, rows=rows, bytes=sent, fault="client_gone", **details)
            raise
        self._record("export", 200, rows=rows, bytes=sent, **details)
        self.wfile.write(b"0\r\n\r\n")

    def _trickled(
        self,
        delay: float,
        header: bytes,
        batches: Iterator[tuple[bytes, Any]],
        rows: int,
        details: dict[str, Any],
    ) -> None:
        """The whole answer as one chunk, written one byte every ``delay`` seconds (the
        framing bytes too), until done, the client goes away or the sandbox stops."""
        payload = header + b"".join(data for data, _ in batches)
        prefix = b"%X\r\n" % len(payload)
        wire = prefix + payload + b"\r\n0\r\n\r\n"
        self._start_csv()
        sent = 0
        try:
            for index in range(len(wire)):
                if self.sb._stopping.wait(delay):
                    break
                self.wfile.write(wire[index : index + 1])
                sent += 1
        except (ConnectionError, TimeoutError):
            pass
        self.close_connection = True
        delivered = max(0, min(len(payload), sent - len(prefix)))
        self._record("export", 200, rows=rows, bytes=delivered, fault="trickle", **details)

    def _damaged(
        self,
        fault: str,
        header: bytes,
        batches: Iterator[tuple[bytes, Any]],
        rows: int,
        details: dict[str, Any],
    ) -> None:
        starts = [0, len(header)]
        parts = [header]
        for data, offsets in batches:
            base = starts[-1]
            starts.extend(int(base + o) for o in offsets[1:])
            parts.append(data)
        payload = b"".join(parts)
        cut, fault = cut_point(payload, starts, fault)
        self._record("export", 200, rows=rows, bytes=cut, fault=fault, **details)
        self._start_csv()
        for piece in self._chunks(payload[:cut]):
            self._chunk(piece)
        self.close_connection = True
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
            self.rfile = io.BytesIO()
            self.wfile = io.BytesIO()


def cut_point(payload: bytes, starts: list[int], fault: str) -> tuple[int, str]:
    """Where a damaged answer stops, and the fault it really is.

    ``starts`` holds the byte offset of the header (0), of each data row, and the end.
    ``missing_terminator`` sends everything; ``cut_mid_row`` and ``reset`` stop inside the
    middle data row (inside the header when there is none); ``cut_mid_quote`` stops inside
    the first quoted field from the middle row on (from the top when there is none after it;
    a mid-row cut when the answer has no quoted field at all).

    >>> cut_point(b'h\\r\\nabc,def\\r\\n', [0, 3, 12], "cut_mid_row")
    (6, 'cut_mid_row')
    >>> cut_point(b'h\\r\\nabc,"d,ef"\\r\\n', [0, 3, 15], "cut_mid_quote")
    (10, 'cut_mid_quote')
    """
    if fault == "missing_terminator":
        return len(payload), fault
    n_rows = len(starts) - 2
    middle = 1 + n_rows // 2 if n_rows > 0 else 0
    if fault == "cut_mid_quote":
        for origin in (starts[middle], 0):
            opening = _opening_quote(payload, origin)
            if opening is not None:
                closing = _closing_quote(payload, opening)
                return opening + 1 + (closing - opening - 1) // 2, fault
        fault = "cut_mid_row"
    begin, end = starts[middle], starts[middle + 1]
    content = max(0, end - begin - 2)
    return begin + max(1, content // 2), fault


def _opening_quote(payload: bytes, position: int) -> int | None:
    """The first field-opening quote at or after a field start outside quotes."""
    while position < len(payload):
        if payload[position] == ord('"'):
            return position
        found = _FIELD_START.search(payload, position)
        if found is None:
            return None
        position = found.end()
    return None


def _closing_quote(payload: bytes, opening: int) -> int:
    position = opening + 1
    while True:
        found = payload.find(b'"', position)
        if found < 0:
            return len(payload)
        if payload[found + 1 : found + 2] == b'"':
            position = found + 2
            continue
        return found
