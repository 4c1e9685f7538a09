"""The header record split off the answer's byte stream, decoded into labels.

>>> labels, feed = _split_header([b'Name,"Amount, (EUR)"\\r\\n', b"x,1\\n"])
>>> labels, feed.read()
(['Name', 'Amount, (EUR)'], b'x,1\\n')
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from bspandas._exceptions import ResponseError, TruncatedResponseError
from bspandas._io.feed import _Feed

__all__ = ["MAX_HEADER"]


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
    scan = _Scan()
    exhausted = False
    while True:
        pos = scan.end(buffer, exhausted)
        if pos is not None:
            end = pos + 2 if buffer[pos : pos + 2] == b"\r\n" else pos + 1
            return _labels(bytes(buffer[:pos])), _Feed(iterator, bytes(buffer[end:]))
        if scan.scanned > MAX_HEADER:
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
    if scan.quoted:
        raise TruncatedResponseError("The answer was cut inside its header line.")
    if not bytes(buffer).removeprefix(b"\xef\xbb\xbf").strip():
        raise TruncatedResponseError("The answer was empty: not even a header line arrived.")
    return _labels(bytes(buffer)), _Feed(iter(()), b"")


class _Scan:
    """Where the header record's scan stands: bytes scanned, inside quotes or not."""

    def __init__(self) -> None:
        self.scanned = 0
        self.quoted = False

    def end(self, buffer: bytearray, exhausted: bool) -> int | None:
        """The position of the line end closing the record, or None (more bytes needed)."""
        while True:
            match = _HEADER_STOP.search(buffer, self.scanned)
            if match is None:
                self.scanned = len(buffer)
                return None
            pos = match.start()
            char = buffer[pos]
            if char == 0x22 or self.quoted:  # a quote toggles; line ends inside quotes are data
                self.quoted = self.quoted != (char == 0x22)
                self.scanned = pos + 1
                continue
            if char == 0x0D and pos + 1 == len(buffer) and not exhausted:
                self.scanned = pos  # a \n may follow in the next chunk
                return None
            if pos > MAX_HEADER:
                self.scanned = pos
                return None
            return pos


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
