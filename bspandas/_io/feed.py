"""The answer's bytes as a file Arrow reads, remembering how they ended.

:class:`_Feed` turns the client's byte chunks into a read-only file without copying whole
chunks, counts quotes and bytes on the way, and tells (:meth:`_Feed.complete`) whether the
stream stopped at a row boundary outside any quoted field; :func:`_check_complete` turns
that into the error of a cut or malformed answer.

>>> feed = _Feed([b'a,"b\\n', b'c"\\n'])
>>> feed.read(), feed.complete()
(b'a,"b\\nc"\\n', True)
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from bspandas._exceptions import ResponseError, TruncatedResponseError
from bspandas._io.pool import read_pool

__all__: list[str] = []


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
        self._held: list[bytes] | None = None
        if prefix:
            self._seen(prefix)

    def hold(self) -> None:
        """Keep every chunk handed on from now (and the unread rest of the first one),
        until :meth:`release`: a failed threaded parse is repeated on them.

        The chunks are copied into Arrow's memory pool (a fraction of a millisecond per
        MiB): once let go, that memory serves the parse and the conversion that follow,
        where chunks kept as Python bytes would leave the process's heap grown (peak RSS).
        """
        self._held = []
        if self._current:
            self._held.append(_pooled(self._current))

    def release(self) -> list[pa.Buffer]:
        """Stop holding; return the chunks held (bytes after the header, in order)."""
        held, self._held = self._held or [], None
        return held

    def _seen(self, chunk: bytes) -> None:
        if self._held is not None:
            self._held.append(_pooled(chunk))
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


def _pooled(data: bytes | memoryview) -> pa.Buffer:
    """A copy of ``data`` in Arrow's memory pool."""
    buffer = pa.allocate_buffer(len(data), memory_pool=read_pool())
    memoryview(buffer).cast("B")[:] = data
    return buffer


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
