"""The request log: one :class:`RequestRecord` per handled request, secrets redacted.

>>> log = RequestLog(maxlen=2)
>>> for status in (200, 401, 429):
...     log.append(RequestRecord(time=0.0, method="POST", path="/", endpoint="export",
...                              status=status))
>>> [r.status for r in log.snapshot()], log.count(status=429)
([401, 429], 1)
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord", "redact_target"]

_QUERY_VALUE = re.compile(r"([?&;][^=&;\s\"'?]*=)[^&;\s\"']*")


def redact_target(text: str) -> str:
    """A request target (or any log text) with every query-string value replaced, so a
    secret sent as ``?client_secret=...`` is never logged.

    >>> redact_target("/v3/auth/tokens?client_id=a&client_secret=s3cret")
    '/v3/auth/tokens?client_id=REDACTED&client_secret=REDACTED'
    """
    return _QUERY_VALUE.sub(r"\1REDACTED", text)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One handled request, as :attr:`Sandbox.requests <bspandas.sandbox.Sandbox.requests>`
    lists it.

    Parameters
    ----------
    time : float
        When the request started (epoch seconds).
    method : str
        The HTTP method (empty for a connection refused before its request line).
    path : str
        The request target, query-string values redacted.
    endpoint : str
        ``"token"``, ``"export"`` or ``"other"``.
    status : int
        The HTTP status sent (a damaged 200 answer keeps 200 and names its ``fault``).
    client_id : str or None, default None
        The client the request identified, ``None`` when it did not identify one.
    fault : str or None, default None
        The injected fault (or server condition) that shaped the answer.
    object : str or None, default None
        The object an export asked for.
    rows : int or None, default None
        The rows a CSV answer held.
    bytes : int or None, default None
        The payload bytes of a CSV answer actually sent.
    query : Any, default None
        The parsed export body (for the token endpoint: the form without the secret).

    Examples
    --------
    >>> record = RequestRecord(time=0.0, method="POST", path="/x", endpoint="other",
    ...                        status=404)
    >>> record.status, record.fault
    (404, None)
    """

    time: float
    method: str
    path: str
    endpoint: str
    status: int
    client_id: str | None = None
    fault: str | None = None
    object: str | None = None
    rows: int | None = None
    bytes: int | None = None
    query: Any = None


class RequestLog:
    """The last ``maxlen`` records, oldest first (thread-safe)."""

    def __init__(self, maxlen: int) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def append(self, record: RequestRecord) -> None:
        """Log one record (the oldest is dropped once ``maxlen`` are kept)."""
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the records, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def count(
        self, endpoint: str | None = None, status: int | None = None, fault: str | None = None
    ) -> int:
        """How many records match (each given criterion)."""
        return sum(
            1
            for r in self.snapshot()
            if (endpoint is None or r.endpoint == endpoint)
            and (status is None or r.status == status)
            and (fault is None or r.fault == fault)
        )
