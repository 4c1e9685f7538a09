"""Answer bodies as the parser sees them: chunks, and how the stream ended."""

from __future__ import annotations

from collections.abc import Iterator


class Stream:
    """Chunks plus how the stream ended; ``fail`` raises after the chunks (a transport that
    proved the body short)."""

    def __init__(
        self, chunks: list[bytes], terminated: bool = True, fail: Exception | None = None
    ) -> None:
        self.chunks = chunks
        self.terminated = terminated
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail


def chop(data: bytes, size: int = 7) -> list[bytes]:
    """``data`` in chunks of ``size`` bytes (the last one shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)]
