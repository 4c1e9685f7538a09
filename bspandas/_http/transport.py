"""The HTTP transport under the client: a ``requests`` session whose connections register
with the sending thread's :class:`~bspandas._http.deadline.Deadline` (so its timer can shut
them down), an adapter that never retries on its own (retries belong to
:mod:`bspandas._http.retry`), and the mapping of ``requests``/``urllib3`` failures to
bspandas errors that carry nothing of the failed request.

This is the only module that imports ``requests`` (and ``urllib3``) at its top; the client
imports it when it builds its session, so ``import bspandas`` loads neither.

>>> session = new_session()
>>> session.get_adapter("https://api.people.ai").max_retries.total
0
>>> session.close()
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from bspandas._exceptions import TransportError
from bspandas._http.body import TimedOutError, break_kind
from bspandas._http.deadline import Deadline, current, shutdown
from bspandas._messages import redact

__all__ = [
    "REQUEST_ERRORS",
    "RETRIED",
    "classify",
    "new_session",
    "refused_locally",
    "transport_error",
]

#: Failures of sending a request that another attempt may not meet.
RETRIED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    Urllib3HTTPError,
    OSError,
)
REQUEST_ERRORS = (requests.RequestException, Urllib3HTTPError, OSError, ValueError)


class _WatchedHTTPConnection(HTTPConnection):
    """Registers itself with the sending thread's deadline, so that headers trickled one
    byte at a time cannot outlive it either."""

    _bspandas_deadline: Deadline | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(current, "deadline", None)
        self._bspandas_deadline = deadline
        if deadline is not None:
            deadline.watch(self)
        super().request(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        deadline = self._bspandas_deadline
        if deadline is not None and deadline.fired:
            shutdown(self)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same watch over TLS."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter with connections the deadline can shut down; no retries of its own."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def _refused(exc: BaseException) -> bool:
    """Whether the failure is a refused connection (nothing listening at the address)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return True
        # requests wraps urllib3's MaxRetryError, whose .reason is the NewConnectionError
        reason = getattr(cause, "reason", None)
        following = cause.args[0] if cause.args else None
        cause = next(
            (
                c
                for c in (reason, following, cause.__cause__, cause.__context__)
                if isinstance(c, BaseException)
            ),
            None,
        )
    return "Connection refused" in str(exc)


def refused_locally(exc: BaseException, url: str) -> bool:
    """A refused connection to this machine: nothing to wait for, so not retried.

    >>> refused_locally(ConnectionRefusedError(111, "Connection refused"), "http://127.0.0.1:9")
    True
    >>> refused_locally(ConnectionRefusedError(111, "Connection refused"), "https://example.com")
    False
    """
    host = urlsplit(url).hostname or ""
    return _refused(exc) and (host in ("localhost", "::1") or host.startswith("127."))


def classify(exc: BaseException, doing: str, url: str) -> tuple[TransportError, bool]:
    """The error a failed request means, and whether another attempt may meet it."""
    retried = isinstance(exc, RETRIED) and not refused_locally(exc, url)
    return transport_error(exc, doing, url), retried


def transport_error(exc: BaseException, doing: str, url: str | None = None) -> TransportError:
    """A requests/urllib3/socket failure as a bspandas error, with nothing attached."""
    if url is not None and _refused(exc):
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}"
        hint = (
            "a local sandbox must still be running (start one with bs.sandbox.serve() or "
            "`bspandas sandbox`) and base_url must be its address"
            if refused_locally(exc, url)
            else "check the base URL and the network"
        )
        return TransportError(
            f"Nothing is listening at {where}: the connection was refused while {doing}; {hint}."
        )
    detail = redact(f"{type(exc).__name__}: {exc}")[:400]
    if break_kind(exc) == "timeout" or isinstance(exc, requests.Timeout):
        return TimedOutError(f"No answer in time while {doing} ({detail}).")
    return TransportError(f"The connection failed while {doing} ({detail}).")


def new_session() -> requests.Session:
    """A session with the watched connections, no retries of its own and bspandas' agent."""
    from bspandas._version import __version__

    session = requests.Session()
    adapter = _Adapter(pool_connections=4, pool_maxsize=8, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"bspandas/{__version__}"
    return session
