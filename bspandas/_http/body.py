"""The answer's bytes: :class:`Body` streams a response and proves (or not) that it is
complete from its framing; an inflater decodes gzip/deflate in bounded steps under a size
cap; error and token answers are read a few KiB at most.

>>> import gzip
>>> inflater = Inflater("gzip", limit=1 << 20)
>>> b"".join(inflater.feed(gzip.compress(b"id,name\\n1,a\\n"))), inflater.ended
(b'id,name\\n1,a\\n', True)
"""

from __future__ import annotations

import http.client
import logging
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bspandas._exceptions import (
    BackstoryError,
    ResponseError,
    TransportError,
    TruncatedResponseError,
)
from bspandas._http.deadline import Deadline
from bspandas._messages import redact

if TYPE_CHECKING:
    import requests

__all__ = ["CHUNK", "MAX_ANSWER_BYTES", "Body", "Inflater", "TimedOutError", "check_answer_cap"]

log = logging.getLogger("bspandas")

#: The size of the pieces an answer is read in.
CHUNK = 1 << 20
#: Default cap on the decoded size of one answer (a decompression bomb stops here).
MAX_ANSWER_BYTES = 4 << 30
#: How much of an error answer is read (the rest is dropped with the connection).
ERROR_BODY_BYTES = 4096
#: The content encodings bspandas decodes.
ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})


def check_answer_cap(max_answer_bytes: int) -> None:
    """Raise ``ValueError`` unless ``max_answer_bytes`` is a positive int."""
    if isinstance(max_answer_bytes, bool) or not (
        isinstance(max_answer_bytes, int) and max_answer_bytes > 0
    ):
        raise ValueError(f"max_answer_bytes must be a positive int, got {max_answer_bytes!r}")


class Inflater:
    """Decodes gzip/deflate in bounded steps and counts the decoded bytes against a cap."""

    def __init__(self, encoding: str, limit: int, piece: int = CHUNK) -> None:
        self.encoding = "" if encoding == "identity" else encoding
        self.limit = limit
        self.piece = piece
        self.total = 0
        self._input = 0
        self._head = b""  # deflate: the first bytes, to tell zlib from raw deflate
        self._z: Any = None
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _count(self, size: int) -> None:
        self.total += size
        if self.total > self.limit:
            what = "decoded answer" if self.encoding else "answer"
            raise ResponseError(
                f"The {what} passed {self.limit:,} bytes (max_answer_bytes). A compressed "
                "answer that grows this much is a decompression bomb or a broken proxy; a real "
                "export this large should be narrowed with a filter, or read with a higher "
                "Client(max_answer_bytes=...)."
            )

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._input += len(data)
        if not self.encoding:
            self._count(len(data))
            yield data
            return
        if self._z is None:  # deflate: zlib-wrapped (RFC 1950) or, from some servers, raw
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        yield from self._inflate(data)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out: bytes | None = self._z.decompress(data, self.piece)
            except zlib.error:
                out = None
            if out is None:
                raise ResponseError(
                    f"The answer's {self.encoding} encoding is corrupt after {self.total:,} "
                    "decoded bytes. A proxy may be damaging it; try again later."
                )
            data = self._z.unconsumed_tail
            if out:
                self._count(len(out))
                yield out
            if self._z.eof:
                rest = self._z.unused_data
                if not rest or self.encoding == "deflate":
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = rest

    @property
    def ended(self) -> bool:
        """True when the data was compressed and its stream reached its end marker."""
        return bool(self.encoding) and self._z is not None and bool(self._z.eof)

    def finish(self) -> Iterator[bytes]:
        if self._head:
            data, self._head = self._head, b""
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self._inflate(data)
        if self.encoding and self._input and (self._z is None or not self._z.eof):
            raise TruncatedResponseError(
                f"The answer's {self.encoding} stream stopped before its end after "
                f"{self._input:,} compressed bytes: the answer was cut short."
            )


class Body:
    """The streamed answer: iterate it for decoded byte chunks.

    How an iteration ends is the contract with the parser and the reader:

    * normally, :attr:`terminated` True: the framing proved the answer complete (the
      terminating chunk of a chunked answer arrived, or every byte of its Content-Length);
    * normally, :attr:`terminated` False: a chunked answer stopped cleanly at a chunk
      boundary without its terminating chunk (the Query API does this to complete answers),
      or an answer without any framing ended with its connection. Only such an answer may be
      accepted when it ends at a row boundary, and a whole read re-reads to confirm it;
    * :class:`TruncatedResponseError`: the framing proves bytes are missing (fewer than the
      Content-Length, a chunk shorter than its announced size, a compressed stream cut
      before its end). Never a complete answer: :meth:`Client.export` retries it;
    * :class:`TransportError`: the connection broke or stalled past the read timeout, or the
      client's deadline passed (retried while the deadline allows);
    * :class:`ResponseError`: the decoded answer passed ``max_answer_bytes`` or its
      compression is corrupt (not retried).
    """

    def __init__(
        self,
        response: requests.Response,
        chunk_size: int = CHUNK,
        *,
        deadline: Deadline | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
        read_timeout: float | None = None,
    ) -> None:
        self._response = response
        self._chunk_size = chunk_size
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._read_timeout = read_timeout
        self.terminated = False
        #: Decoded bytes handed on so far.
        self.bytes_read = 0
        #: Bytes received on the wire so far (compressed, if the answer is).
        self.wire_bytes = 0
        self.status = response.status_code
        self.headers = response.headers
        self.encoding = content_encoding(response)
        raw = response.raw
        length = content_length(response)
        if getattr(raw, "chunked", False):
            self.framing = "chunked"
        elif length is not None:
            self.framing = "length"
        else:
            self.framing = "close"
        #: The decoded size, when the headers tell it (for progress bars).
        self.length = length if self.framing == "length" and not self.encoding else None

    def __iter__(self) -> Iterator[bytes]:
        inflater = Inflater(self.encoding, self._max_bytes)
        chunks = self._response.raw.stream(self._chunk_size, decode_content=False)
        problem: BackstoryError | None = None
        framed_end = False
        while True:
            try:
                data = next(chunks, None)
            except breaks() as exc:
                problem = self._broken(exc)
                break
            if data is None:
                framed_end = True
                break
            self.wire_bytes += len(data)
            if self._deadline is not None and self._deadline.expired():
                problem = self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
                break
            for piece in inflater.feed(data):
                self.bytes_read += len(piece)
                yield piece
        if problem is None and self._deadline is not None and self._deadline.expired():
            # the deadline's timer shut the socket: an end that looks clean is not
            problem = self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
        if problem is not None:
            raise problem
        for piece in inflater.finish():
            self.bytes_read += len(piece)
            yield piece
        # a compressed stream that reached its own end (gzip's CRC and size trailer, the
        # deflate final block) proves the payload whole, terminating chunk or not: no
        # second full export is needed to confirm it
        self.terminated = (framed_end and self.framing != "close") or inflater.ended
        if not self.terminated:
            log.debug("answer ended without proof of completeness after %d bytes", self.wire_bytes)

    def _broken(self, exc: BaseException) -> BackstoryError | None:
        """What a break of the stream means; ``None``: it ended without its terminating chunk."""
        where = f"after {self.wire_bytes:,} bytes of the answer"
        if self._deadline is not None and self._deadline.expired():
            return self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
        kind = break_kind(exc)
        if kind == "unterminated" and self.framing == "chunked":
            return None
        if kind == "timeout":
            waited = f" for {self._read_timeout:g} s" if self._read_timeout else ""
            return TimedOutError(f"The answer stalled {where}: no byte arrived{waited}.")
        if kind == "short":
            how = (
                f"fewer bytes than its Content-Length ({self.length or '?'})"
                if self.framing == "length"
                else "a chunk shorter than its announced size"
            )
            return TruncatedResponseError(
                f"The answer was cut short {where}: the connection delivered {how}. It is "
                "never used as a complete answer. Read again (without chunksize= bspandas "
                "retries automatically)."
            )
        if kind == "reset":
            return TransportError(f"The connection was reset {where}.")
        return TransportError(
            f"The connection broke {where} ({redact(f'{type(exc).__name__}: {exc}')[:300]})."
        )


class TimedOutError(TransportError):
    """A timeout (internal: the final error says so in its message)."""


def breaks() -> tuple[type[BaseException], ...]:
    """What a broken stream raises. ``urllib3`` is imported here, when a stream breaks (an
    ``except`` clause evaluates it only then), so that ``import bspandas`` does not load it."""
    from urllib3.exceptions import HTTPError, ProtocolError

    return (ProtocolError, HTTPError, OSError, http.client.HTTPException)


def break_kind(exc: BaseException) -> str:
    """``timeout``, ``reset``, ``short`` (framing proves bytes missing), ``unterminated``
    (a clean end where the next chunk size belonged) or ``broken``."""
    from urllib3.exceptions import IncompleteRead as Urllib3IncompleteRead
    from urllib3.exceptions import ReadTimeoutError

    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    short = False
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ReadTimeoutError | TimeoutError):
            return "timeout"
        if isinstance(error, ConnectionResetError | BrokenPipeError):
            return "reset"
        if isinstance(error, http.client.IncompleteRead | Urllib3IncompleteRead):
            short = True
        stack.extend(a for a in error.args if isinstance(a, BaseException))
        stack.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    if short:
        return "short"
    text = str(exc).lower()
    if "ended prematurely" in text:
        return "unterminated"
    if "reset" in text:
        return "reset"
    return "broken"


def content_encoding(response: requests.Response) -> str:
    value = response.headers.get("Content-Encoding", "").strip().lower()
    return "" if value == "identity" else value


def content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def read_capped(response: requests.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the (decoded) body; never the whole of a huge answer."""
    content = getattr(response, "_content", False)
    if content is not False:  # a transport that read the body already
        return bytes(content or b"")[:limit]
    raw = response.raw
    encoding = content_encoding(response)
    if raw is None or encoding not in ENCODINGS:
        return b""
    try:
        data = raw.read(limit, decode_content=False)
    except breaks():
        return b""
    if not isinstance(data, bytes):
        return b""
    out = bytearray()
    inflater = Inflater(encoding, limit + CHUNK, piece=limit + 1)
    try:
        for piece in inflater.feed(data):
            out += piece
            if len(out) > limit:
                break
    except ResponseError:
        pass
    return bytes(out[:limit])


def short_body(response: requests.Response) -> str:
    return read_capped(response, ERROR_BODY_BYTES).decode("utf-8", errors="replace")
