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
        parts: list[bytes] = []
        total = 0

        def malformed(what: str) -> ApiError:
            self.close_connection = True
            return bad_request(f"Malformed chunked request body: {what}.")

        def too_large() -> ApiError:
            self.close_connection = True
            return ApiError(
                413, {"code": 413, "message": f"Request body larger than {limit} bytes."}
            )

        def line() -> bytes:
            nonlocal total
            text = self.rfile.readline(min(1026, limit - total + 1))
            total += len(text)
            if total > limit:
                raise too_large()
            if not text.endswith(b"\r\n"):
                raise malformed("a line without CRLF")
            return text[:-2]

        while True:
            size_text = line().split(b";", 1)[0]
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise malformed(f"chunk size {size_text[:20]!r} is not hexadecimal")
            size = int(size_text, 16)
            if size == 0:
                while line():  # trailer fields, up to the empty line
                    continue
                return b"".join(parts)
            if total + size + 2 > limit:
                raise too_large()
            data = self.rfile.read(size)
            total += len(data)
            if len(data) < size:
                raise malformed("the body ended inside a chunk")
            parts.append(data)
            if self.rfile.read(2) != b"\r\n":
                raise malformed("a chunk is longer than its size")
            total += 2
