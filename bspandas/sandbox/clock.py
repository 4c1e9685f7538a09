"""The sandbox's clock: a monotonic source plus an offset that ``advance`` moves.

Tokens expire, budgets roll and request deadlines pass on this clock, so a test moves time
forward (or injects its own source) instead of sleeping.

>>> ticks = iter([10.0, 10.0])
>>> clock = Clock(lambda: next(ticks))
>>> clock.advance(5)
>>> clock.now()
15.0
>>> clock.reset()
>>> clock.now()
10.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Clock"]


class Clock:
    """Seconds from ``source`` (default :func:`time.monotonic`) plus an advanced offset."""

    def __init__(self, source: Callable[[], float] | None = None) -> None:
        self._source = source or time.monotonic
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        """The current reading: the source's plus every :meth:`advance` since the reset."""
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Forget every :meth:`advance`."""
        with self._lock:
            self._offset = 0.0
