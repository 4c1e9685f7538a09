"""What a test does to a sandbox while it runs: fault switches, the request log, clients
and tokens, the clock, and values served for a column (the :class:`Sandbox` methods that
steer and inspect its state; :mod:`bspandas.sandbox.server` starts and stops it).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from bspandas.sandbox.budget import Budget
from bspandas.sandbox.clock import Clock
from bspandas.sandbox.connections import SandboxServer
from bspandas.sandbox.engine import MetricEngine
from bspandas.sandbox.fault_state import FaultState
from bspandas.sandbox.faults import Faults
from bspandas.sandbox.request_log import RequestLog, RequestRecord
from bspandas.sandbox.tokens import TokenTable

__all__ = ["SandboxControls"]


class SandboxControls:
    """The steering and inspection methods of :class:`~bspandas.sandbox.Sandbox`."""

    engine: MetricEngine
    _lock: threading.RLock
    _clock: Clock
    _fault_state: FaultState
    _tokens: TokenTable
    _budget: Budget
    _log: RequestLog
    _server: SandboxServer | None

    def override(self, object: str, slug: str, *values: Any, period: str | None = None) -> None:
        """Serve these values for a column instead of the computed ones.

        For instance adversarial text for property tests of the wire format. :meth:`reset`
        does not undo it; a new sandbox does.

        Parameters
        ----------
        object : str
            The object whose column it is (``"account"``, ``"opportunity"``...).
        slug : str
            A catalog slug of ``object``.
        *values : sequence
            One sequence per part of the slug, each with one value per row of ``object``.
        period : str or None, default None
            The variation served with these values (``None``: the bare column).

        Raises
        ------
        ValueError
            When ``slug`` is not a catalog slug of ``object``, or the values do not match
            its parts or the object's rows.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> sb = Sandbox(accounts=3, users=2)
        >>> sb.override("account", "ootb_account_name", ["a", "b", "c"])
        >>> from bspandas.catalog import store
        >>> sb.engine.values(store.find("ootb_account_name", "account"), None)[0].to_pylist()
        ['a', 'b', 'c']
        """
        from bspandas.catalog import store

        metric = store.find(slug, object)
        if metric is None:
            raise ValueError(f"{slug!r} is not a catalog slug of {object!r}")
        self.engine.override(metric, period, values)

    @property
    def faults(self) -> Faults:
        """A copy of the current fault switches (counters show what is left).

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2, cut_mid_row=2).faults.cut_mid_row
        2
        """
        return self._fault_state.current

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault switches at runtime.

        Parameters
        ----------
        **changes
            Fields of :class:`Faults` and their new values.

        Returns
        -------
        Faults
            A copy of the new switches.

        Raises
        ------
        TypeError
            For a name that is not a field of :class:`Faults`.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2).set_faults(status_schedule=(503,)).active()
        ['status_schedule']
        """
        return self._fault_state.update(**changes)

    def reset_faults(self) -> Faults:
        """Back to the switches the sandbox was started with.

        Returns
        -------
        Faults
            A copy of those switches.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> sb = Sandbox(accounts=3, users=2, reset=1)
        >>> sb.set_faults(reset=0).reset, sb.reset_faults().reset
        (0, 1)
        """
        return self._fault_state.reset()

    def reset(self) -> None:
        """Faults as started, empty log and budgets, no tokens, clock not advanced.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> sb = Sandbox(accounts=3, users=2)
        >>> sb.set_faults(trickle=1).trickle
        1
        >>> sb.reset()
        >>> sb.faults.trickle, sb.requests
        (0, [])
        """
        with self._lock:
            self.reset_faults()
            self._log.clear()
            self._budget.clear()
            self._tokens.clear()
            self._clock.reset()

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first (the last ``max_log`` requests).

        Examples
        --------
        >>> import requests
        >>> from bspandas.sandbox import Sandbox
        >>> with Sandbox(accounts=3, users=2) as sb:
        ...     _ = requests.post(sb.url("/v3/nothing"), timeout=10)
        >>> [(r.endpoint, r.status) for r in sb.requests]
        [('other', 404)]
        """
        return self._log.snapshot()

    def count(
        self, endpoint: str | None = None, status: int | None = None, fault: str | None = None
    ) -> int:
        """How many logged requests match each given criterion.

        Parameters
        ----------
        endpoint : str or None, default None
            ``"token"``, ``"export"`` or ``"other"`` (``None``: any).
        status : int or None, default None
            The HTTP status sent (``None``: any).
        fault : str or None, default None
            The fault named in the record (``None``: any, faulty or not).

        Returns
        -------
        int
            The number of matching records.

        Examples
        --------
        >>> import requests
        >>> from bspandas.sandbox import Sandbox
        >>> with Sandbox(accounts=3, users=2) as sb:
        ...     _ = requests.get(sb.token_url, timeout=10)
        ...     sb.count(status=405), sb.count(endpoint="token")
        (1, 0)
        """
        return self._log.count(endpoint, status, fault)

    def clear_requests(self) -> None:
        """Forget every logged request.

        Examples
        --------
        >>> import requests
        >>> from bspandas.sandbox import Sandbox
        >>> with Sandbox(accounts=3, users=2) as sb:
        ...     _ = requests.get(sb.token_url, timeout=10)
        ...     sb.clear_requests()
        ...     sb.requests
        []
        """
        self._log.clear()

    def add_client(
        self, client_id: str | None = None, client_secret: str | None = None
    ) -> tuple[str, str]:
        """Register another key pair (each client has its own hourly budget).

        Parameters
        ----------
        client_id : str or None, default None
            The new client's id (``None``: a random ``sandbox-...`` one).
        client_secret : str or None, default None
            Its secret (``None``: a random one).

        Returns
        -------
        tuple of (str, str)
            The client id and secret registered.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2).add_client("second", "its-secret")
        ('second', 'its-secret')
        """
        cid = client_id or "sandbox-" + secrets.token_hex(4)
        secret = client_secret or secrets.token_urlsafe(24)
        self._tokens.add_client(cid, secret)
        return cid, secret

    def expire_tokens(self) -> None:
        """Invalidate every issued token now (the next export gets 401).

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> from bspandas.sandbox.testing import get_token
        >>> with Sandbox(accounts=3, users=2) as sb:
        ...     _ = get_token(sb)
        ...     before = sb.token_count
        ...     sb.expire_tokens()
        >>> before, sb.token_count
        (1, 0)
        """
        self._tokens.clear()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock forward: tokens expire, budgets roll and request
        deadlines pass without sleeping.

        Parameters
        ----------
        seconds : float
            How far to move it.

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> sb = Sandbox(accounts=3, users=2, clock=lambda: 100.0)
        >>> sb.advance_clock(3600)
        >>> sb.now()
        3700.0
        """
        self._clock.advance(seconds)

    def now(self) -> float:
        """The sandbox's clock: monotonic seconds plus every :meth:`advance_clock`.

        Returns
        -------
        float
            The reading (only differences between readings mean anything).

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2, clock=lambda: 5.0).now()
        5.0
        """
        return self._clock.now()

    @property
    def token_count(self) -> int:
        """How many issued tokens the sandbox holds (expired ones until swept).

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2).token_count
        0
        """
        return len(self._tokens)

    @property
    def open_connections(self) -> int:
        """Connections being served now (0 when stopped).

        Examples
        --------
        >>> from bspandas.sandbox import Sandbox
        >>> Sandbox(accounts=3, users=2).open_connections
        0
        """
        server = self._server
        return 0 if server is None else server.open_count()
