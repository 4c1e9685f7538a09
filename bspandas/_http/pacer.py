"""A client-side pacer that keeps a client inside the API's hourly request budget.

The budget rule (the client and the sandbox agree on it): **only export requests count**.
The Query API allows about 100 export calls per hour per client on a rolling window and
answers 429 without a ``Retry-After`` header past it; the token request is not paced and not
counted (the field record's budget is per export call). The client asks the pacer before
every export attempt it sends, retries and replays after a 401 included, so its count is never
below the server's. When the window is full the pacer waits for the oldest request to leave
it (plus ``margin`` seconds, for the time between the client recording a request and the
server counting it) and says so with a :class:`bspandas.PacingWarning`.

>>> pacer = Pacer(budget=2, window=3600.0, clock=lambda: 0.0)
>>> pacer.acquire(), pacer.acquire(), pacer.remaining()
(0.0, 0.0, 0)
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable

from bspandas._exceptions import PacingWarning, RateLimitError
from bspandas._messages import robust_repr
from bspandas._utils import find_stacklevel

__all__ = ["DEFAULT_HOURLY_BUDGET", "UNLIMITED_BUDGET", "Pacer"]

#: Export requests per hour a client paces itself to (the Query API's budget).
DEFAULT_HOURLY_BUDGET = 100
#: What "unlimited" paces to.
UNLIMITED_BUDGET = 1 << 30


class Pacer:
    """Rolling-window budget of ``budget`` export requests per ``window`` seconds
    (thread-safe).

    ``max_wait`` bounds one wait: beyond it :meth:`acquire` raises
    :class:`bspandas.RateLimitError` instead of sleeping (``None`` waits as long as needed).
    ``clock`` and ``sleep`` are injectable (tests share one fake clock with the sandbox).
    """

    def __init__(
        self,
        budget: int = 100,
        window: float = 3600.0,
        *,
        max_wait: float | None = None,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if budget < 1:
            raise ValueError("the hourly budget must be at least 1 request")
        if margin < 0:
            raise ValueError("the pacing margin must not be negative")
        self.budget = budget
        self.window = window
        self.max_wait = max_wait
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    @robust_repr
    def __repr__(self) -> str:
        return f"Pacer(budget={self.budget}, window={self.window:g}s, used={self.used()})"

    def _expire(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.window + self.margin:
            self._sent.popleft()

    def used(self) -> int:
        """Requests sent inside the current window."""
        with self._lock:
            self._expire(self._clock())
            return len(self._sent)

    def next_slot(self) -> float:
        """Seconds until the oldest request recorded in the window leaves it (0 when none
        is recorded): after a 429 the server's window opens no sooner than that."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if not self._sent:
                return 0.0
            return max(0.0, self.window + self.margin - (now - self._sent[0]))

    def remaining(self) -> int:
        """Requests that can be sent now without waiting."""
        return self.budget - self.used()

    def acquire(self, max_wait: float | None = None, *, why: str = "") -> float:
        """Wait (if needed) until a request fits in the budget, record it, return the wait.

        ``max_wait`` (seconds) tightens the pacer's own ``max_wait`` for this call; ``why``
        names that bound in the error (e.g. "the read's deadline").
        """
        limit = self.max_wait if max_wait is None else min(max_wait, self.max_wait or max_wait)
        bound = why or (f"max_wait={limit:g} s" if limit is not None else "")
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if len(self._sent) < self.budget:
                    self._sent.append(now)
                    return waited
                delay = self.window + self.margin - (now - self._sent[0])
            if limit is not None and waited + delay > limit:
                raise RateLimitError(
                    f"The hourly request budget ({self.budget} exports per {self.window:g} s) "
                    f"is used up and the next slot opens in {delay:.0f} s, beyond {bound}. "
                    "Wait, or raise the budget (hourly_budget=) if your tenant allows more."
                )
            span = "hour" if self.window == 3600 else f"{self.window:g} s"
            warnings.warn(
                f"bspandas is waiting {delay:.0f} s to stay within {self.budget} export "
                f"requests per {span} (the Query API rate limit). Set hourly_budget= on the "
                "client if your tenant allows more.",
                PacingWarning,
                stacklevel=find_stacklevel(),
            )
            self._sleep(delay)
            waited += delay

    def adopt(self, announced: str) -> None:
        """Pace to the budget a bspandas sandbox announces (``"N;window=W"``; ``0``:
        unlimited); an announcement that does not parse changes nothing.

        >>> pacer = Pacer(budget=100)
        >>> pacer.adopt("7;window=60"); pacer.budget, pacer.window
        (7, 60.0)
        """
        count, _, window = announced.partition(";window=")
        try:
            budget, seconds = int(count), float(window or 3600)
        except ValueError:
            return
        if budget < 0 or not math.isfinite(seconds) or seconds <= 0:
            return
        with self._lock:
            self.budget = budget if budget else UNLIMITED_BUDGET
            self.window = seconds
