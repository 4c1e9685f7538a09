"""Reading a request body: ``Content-Length`` or strictly framed chunks, within
``max_body_bytes`` (a body over it answers 413 and closes the connection; malformed framing
answers 400).
"""

from __future__ import annotations

import re

from bspandas.sandbox.handler_base import HandlerBase
from bspandas.sandbox.problems import ApiError, bad_request

__all__ = ["BodyReading"]

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")  # at most 4 GiB; no sign, prefix or "_"


class BodyReading(HandlerBase):
    """The body-reading step of a handler."""

    def _read_body(self) -> bytes:
        limit = self.sb.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise bad_request("Invalid Content-Length.") from None
        if size < 0:
            self.close_connection = True
            raise bad_request("Invalid Content-Length.")
        if size > limit:
            self.close_connection = True
            raise ApiError(
                413, {"code": 413, "message": f"Request body larger than {limit} bytes."}
            )
        return self.rfile.read(size)

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body, strictly framed (RFC 9112 7.1). Every byte read, framing and
        trailers included, counts against ``limit``: nothing is read past it."""
        reader = _ChunkedReader(self, limit)
        parts: list[bytes] = []
        while (data := reader.chunk()) is not None:
            parts.append(data)
        return b"".join(parts)


class _ChunkedReader:
    """One chunked body, read chunk by chunk with every byte counted against ``limit``."""

    def __init__(self, handler: BodyReading, limit: int) -> None:
        self.handler = handler
        self.limit = limit
        self.total = 0

    def malformed(self, what: str) -> ApiError:
        self.handler.close_connection = True
        return bad_request(f"Malformed chunked request body: {what}.")

    def too_large(self) -> ApiError:
        self.handler.close_connection = True
        return ApiError(
            413, {"code": 413, "message": f"Request body larger than {self.limit} bytes."}
        )

    def line(self) -> bytes:
        text = self.handler.rfile.readline(min(1026, self.limit - self.total + 1))
        self.total += len(text)
        if self.total > self.limit:
            raise self.too_large()
        if not text.endswith(b"\r\n"):
            raise self.malformed("a line without CRLF")
        return text[:-2]

    def chunk(self) -> bytes | None:
        """The next chunk's data; None once the last chunk and its trailers are read."""
        size_text = self.line().split(b";", 1)[0]
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise self.malformed(f"chunk size {size_text[:20]!r} is not hexadecimal")
        size = int(size_text, 16)
        if size == 0:
            while self.line():  # trailer fields, up to the empty line
                continue
            return None
        if self.total + size + 2 > self.limit:
            raise self.too_large()
        rfile = self.handler.rfile
        data = rfile.read(size)
        self.total += len(data)
        if len(data) < size:
            raise self.malformed("the body ended inside a chunk")
        if rfile.read(2) != b"\r\n":
            raise self.malformed("a chunk is longer than its size")
        self.total += 2
        return data
