"""A client-side pacer that keeps a client inside the API's hourly request budget.

The Query API allows about 100 requests per hour per client on a rolling window and answers
429 without a ``Retry-After`` header past it. Waiting a little before the budget runs out is
kinder than a storm of 429s, so every request first asks the pacer; when the window is full
the pacer waits for the oldest request to leave it and says so with a
:class:`bspandas.PacingWarning`.

>>> pacer = Pacer(budget=2, window=3600.0, clock=lambda: 0.0)
>>> pacer.acquire(), pacer.acquire(), pacer.remaining()
(0.0, 0.0, 0)
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import deque
from collections.abc import Callable

from bspandas.errors import PacingWarning, RateLimitError

__all__ = ["Pacer"]


class Pacer:
    """Rolling-window budget of ``budget`` requests per ``window`` seconds (thread-safe).

    ``max_wait`` bounds one wait: beyond it :meth:`acquire` raises
    :class:`bspandas.RateLimitError` instead of sleeping (``None`` waits as long as needed).
    """

    def __init__(
        self,
        budget: int = 100,
        window: float = 3600.0,
        *,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if budget < 1:
            raise ValueError("the hourly budget must be at least 1 request")
        self.budget = budget
        self.window = window
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pacer(budget={self.budget}, window={self.window:g}s, used={self.used()})"

    def _expire(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()

    def used(self) -> int:
        """Requests sent inside the current window."""
        with self._lock:
            self._expire(self._clock())
            return len(self._sent)

    def remaining(self) -> int:
        """Requests that can be sent now without waiting."""
        return self.budget - self.used()

    def acquire(self) -> float:
        """Wait (if needed) until a request fits in the budget, record it, return the wait."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if len(self._sent) < self.budget:
                    self._sent.append(now)
                    return waited
                delay = self.window - (now - self._sent[0])
            if self.max_wait is not None and waited + delay > self.max_wait:
                raise RateLimitError(
                    f"The hourly request budget ({self.budget} per {self.window:g} s) is used up "
                    f"and the next slot opens in {delay:.0f} s, beyond "
                    f"max_wait={self.max_wait:g} s. Wait, or raise the budget if your tenant "
                    "allows more."
                )
            span = "hour" if self.window == 3600 else f"{self.window:g} s"
            warnings.warn(
                f"bspandas is waiting {delay:.0f} s to stay within {self.budget} requests per "
                f"{span} (the Query API rate limit). Set hourly_budget= on the client if your "
                "tenant allows more.",
                PacingWarning,
                stacklevel=3,
            )
            self._sleep(delay)
            waited += delay
