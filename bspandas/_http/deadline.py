"""The deadline of one export call: a clock bound checked at every step, and a timer that
shuts down the sockets in use when it passes (a server trickling one byte at a time restarts
the read timeout with each byte, so timeouts alone cannot bound a call).

>>> deadline = Deadline(30.0, clock=lambda: 100.0)
>>> deadline.remaining(), deadline.started
(30.0, False)
>>> deadline.close()
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bspandas._exceptions import TransportError

if TYPE_CHECKING:
    from bspandas._http.retry import Attempts

__all__ = ["DEFAULT_DEADLINE", "Deadline", "check_deadline", "current", "shutdown"]

log = logging.getLogger("bspandas")

#: Default bound, in seconds, of one export call (retries and all).
DEFAULT_DEADLINE = 900.0


def check_deadline(deadline: float) -> None:
    """Raise ``ValueError`` unless ``deadline`` is a positive, finite number of seconds."""
    if isinstance(deadline, bool) or not (
        isinstance(deadline, int | float) and math.isfinite(deadline) and deadline > 0
    ):
        raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")


current = threading.local()  # the deadline of the request this thread is sending


class Deadline:
    """The end of one export call: checked against the client's clock at every step, and
    enforced in real time by a timer that shuts down the sockets in use (a server sending
    one byte at a time restarts the read timeout with each byte, so timeouts cannot)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end: float | None = None
        self._timer: threading.Timer | None = None
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        self.fired = False

    @property
    def started(self) -> bool:
        return self._end is not None

    def start(self) -> None:
        """Start counting (after the first pacing wait: queueing for the budget is not
        reading)."""
        if self._end is not None:
            return
        self._end = self._clock() + self.seconds
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        if self.fired:
            return 0.0
        if self._end is None:
            return self.seconds
        return self._end - self._clock()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def timeouts(self, connect: float, read: float) -> tuple[float, float]:
        left = max(0.001, self.remaining())
        return min(connect, left), min(read, left)

    def watch(self, connection: Any) -> None:
        """Shut ``connection``'s socket down if the deadline passes while it is in use."""
        if connection is None:
            return
        with self._lock:
            if self._closed:
                return
            if not self.fired:
                if connection not in self._connections:
                    self._connections.append(connection)
                return
        shutdown(connection)

    def _fire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.fired = True
            connections = list(self._connections)
        log.debug(
            "deadline of %g s passed: closing %d connection(s)", self.seconds, len(connections)
        )
        for connection in connections:
            shutdown(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._connections.clear()
        if self._timer is not None:
            self._timer.cancel()

    def error(self, attempts: Attempts | None = None, detail: str = "") -> TransportError:
        tried = f" ({attempts.summary()})" if attempts is not None and attempts.failures else ""
        return TransportError(
            f"The export did not finish within the client's deadline of {self.seconds:g} s"
            f"{detail}{tried}. The server may be overloaded or sending the answer a trickle at "
            "a time. Narrow the query with a filter, or raise Client(deadline=...) for exports "
            "that legitimately take longer."
        )


def shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return
