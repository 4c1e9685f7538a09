"""The hourly export budget: a rolling window of admitted requests per client.

>>> now = iter([0.0, 1.0, 2.0, 3601.0])
>>> budget = Budget(lambda: next(now))
>>> [budget.admit("me", limit=2, window=3600.0) for _ in range(4)]
[True, True, False, True]
>>> describe(2, 3600.0), describe(None, 60.0)
('2;window=3600', '0;window=60')
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from bspandas._http.wire import SANDBOX_BUDGET_HEADER

__all__ = ["BUDGET_HEADER", "Budget", "describe"]

#: The token answer's header that tells a client the sandbox's hourly export budget.
BUDGET_HEADER = SANDBOX_BUDGET_HEADER


def describe(limit: int | None, window: float) -> str:
    """The budget as the header sends it: ``"N;window=W"`` (N 0: unlimited)."""
    count = 0 if limit is None or limit <= 0 else limit
    return f"{count};window={window:g}"


class Budget:
    """Admitted export requests per client, on the sandbox's clock (thread-safe)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def admit(self, client_id: str, limit: int | None, window: float) -> bool:
        """Count a request against the client's rolling budget (False: over budget)."""
        if limit is None or limit <= 0:
            return True
        now = self._now()
        with self._lock:
            admitted = self._windows.setdefault(client_id, deque())
            while admitted and admitted[0] <= now - window:
                admitted.popleft()
            if len(admitted) >= limit:
                return False
            admitted.append(now)
            return True

    def clear(self) -> None:
        """Every client's window emptied."""
        with self._lock:
            self._windows.clear()
