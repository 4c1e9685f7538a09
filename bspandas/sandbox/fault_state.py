"""The live fault switches of a running sandbox: counters that fire and decrement, rates
drawn from a seeded generator, and the slow-answer allowance.

>>> state = FaultState(Faults(status_schedule=(503,), cut_mid_row=1))
>>> state.status_fault(), state.status_fault()
((503, 'status_schedule'), None)
>>> state.stream_fault(), state.stream_fault()
('cut_mid_row', None)
>>> state.reset().status_schedule
(503,)
"""

from __future__ import annotations

import random
import threading
from typing import Any

from bspandas.sandbox.faults import STREAM_FAULTS, Faults

__all__ = ["FaultState"]


class FaultState:
    """The switches now (thread-safe); :meth:`reset` goes back to ``initial``."""

    def __init__(self, initial: Faults) -> None:
        self._lock = threading.Lock()
        self._initial = initial
        self._faults = initial
        self._rng = random.Random(initial.seed)
        self._slow_left = initial.slow_first_byte_count

    @property
    def current(self) -> Faults:
        """A copy of the switches now (counters show what is left)."""
        with self._lock:
            return self._faults.updated()

    def update(self, **changes: Any) -> Faults:
        """Change switches; returns a copy of the new ones."""
        with self._lock:
            self._faults = self._faults.updated(**changes)
            if "seed" in changes:
                self._rng = random.Random(self._faults.seed)
            if "slow_first_byte_count" in changes or "slow_first_byte" in changes:
                self._slow_left = self._faults.slow_first_byte_count
            return self._faults.updated()

    def reset(self) -> Faults:
        """Back to the initial switches; returns a copy of them."""
        with self._lock:
            self._faults = self._initial
            self._rng = random.Random(self._faults.seed)
            self._slow_left = self._faults.slow_first_byte_count
            return self._faults.updated()

    def status_fault(self) -> tuple[int, str] | None:
        """The injected error status of this export answer and its fault name, if any."""
        with self._lock:
            f = self._faults
            if f.rate_limit_storm > 0:
                self._faults = f.updated(rate_limit_storm=f.rate_limit_storm - 1)
                return 429, "rate_limit_storm"
            if f.status_schedule:
                self._faults = f.updated(status_schedule=f.status_schedule[1:])
                return f.status_schedule[0], "status_schedule"
            if f.error_rate > 0 and self._rng.random() < f.error_rate:
                return self._rng.choice(f.error_statuses), "error_rate"
            return None

    def stream_fault(self) -> str | None:
        """How this 200 answer is damaged on the wire (one of ``STREAM_FAULTS``), if at all."""
        with self._lock:
            f = self._faults
            for name in STREAM_FAULTS:
                left = getattr(f, name)
                if left > 0:
                    self._faults = f.updated(**{name: left - 1})
                    return name
            for name in STREAM_FAULTS:
                rate = getattr(f, f"{name}_rate")
                if rate > 0 and self._rng.random() < rate:
                    return name
            return None

    def trickle_delay(self) -> float | None:
        """Seconds between bytes when this answer trickles (``trickle`` fault), else None."""
        with self._lock:
            f = self._faults
            if f.trickle <= 0:
                return None
            self._faults = f.updated(trickle=f.trickle - 1)
            return f.trickle_delay

    def slow_delay(self) -> float:
        """Seconds to wait before this export answer's first byte (0: none)."""
        with self._lock:
            delay = self._faults.slow_first_byte
            if delay <= 0:
                return 0.0
            if self._slow_left is None:
                return delay
            if self._slow_left <= 0:
                return 0.0
            self._slow_left -= 1
            return delay
