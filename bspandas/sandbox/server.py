"""The :class:`Sandbox`: a local Query API you start, steer and inspect.

It owns the pieces (tenant and metric engine, token table, budget, fault switches, request
log, clock) and runs a :class:`~bspandas.sandbox.connections.SandboxServer` in a background
thread: a ``ThreadingHTTPServer`` speaking HTTP/1.1 (keep-alive, several clients at once) on
loopback by default.

>>> with Sandbox(accounts=5, users=2) as sb:
...     sb.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import warnings
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from bspandas._exceptions import InsecureConfigWarning
from bspandas._http.wire import EXPORT_PATH, TOKEN_PATH
from bspandas._messages import robust_repr
from bspandas._utils import find_stacklevel
from bspandas.sandbox.budget import Budget, describe
from bspandas.sandbox.clock import Clock
from bspandas.sandbox.connections import SandboxServer
from bspandas.sandbox.controls import SandboxControls
from bspandas.sandbox.engine import MetricEngine
from bspandas.sandbox.fault_state import FaultState
from bspandas.sandbox.faults import Faults
from bspandas.sandbox.handler import Handler
from bspandas.sandbox.request_log import RequestLog
from bspandas.sandbox.tenant import Tenant, TenantOptions
from bspandas.sandbox.tokens import TokenTable

if TYPE_CHECKING:
    from bspandas._http.client import Client

__all__ = ["EXPORT_PATH", "TOKEN_PATH", "Sandbox", "is_loopback"]

_TENANT_OPTIONS = {f.name for f in fields(TenantOptions)}
_FAULT_OPTIONS = {f.name for f in fields(Faults)} - {"seed"}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the sandbox reachable from this machine only.

    >>> is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _stop_aware_wait(seconds: float, stopping: threading.Event) -> bool:
    return stopping.wait(seconds)


def _split_options(
    options: dict[str, Any], tenant: Tenant | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keywords for :class:`TenantOptions` and for :class:`Faults`, unknown ones refused."""
    unknown = set(options) - _TENANT_OPTIONS - _FAULT_OPTIONS - {"fault_seed"}
    if unknown:
        raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
    tenant_options = {k: v for k, v in options.items() if k in _TENANT_OPTIONS}
    fault_options = {k: v for k, v in options.items() if k in _FAULT_OPTIONS}
    if "fault_seed" in options:
        fault_options["seed"] = options["fault_seed"]
    if tenant is not None and tenant_options:
        raise TypeError("pass either tenant= or tenant options, not both")
    return tenant_options, fault_options


def _check_limits(**limits: float) -> None:
    for name, limit in limits.items():
        if isinstance(limit, bool) or not limit > 0:
            raise ValueError(f"{name} must be positive, got {limit!r}")


def _warn_unless_loopback(host: str) -> None:
    if not is_loopback(host):
        warnings.warn(
            f"The sandbox will listen on {host!r}, not loopback: anyone who can reach "
            "this machine can read its tenant and see its credentials in use. Bind "
            "127.0.0.1 unless you mean it.",
            InsecureConfigWarning,
            stacklevel=find_stacklevel(),
        )


class Sandbox(SandboxControls):
    """A running (or startable) local Query API with a synthetic tenant.

    Parameters
    ----------
    tenant : Tenant or None, default None
        The tenant to serve; ``None`` builds one from the tenant keywords in ``options``.
    host : str, default "127.0.0.1"
        The address to listen on. Anything but loopback warns
        (:class:`~bspandas._exceptions.InsecureConfigWarning`).
    port : int, default 0
        The port to listen on; 0 picks a free one (see :attr:`port` once started).
    client_id : str or None, default None
        The first client's id; ``None`` makes a random ``sandbox-...`` one.
    client_secret : str or None, default None
        The first client's secret; ``None`` makes a random one.
    max_body_bytes : int, default 1 MiB
        The largest request body accepted (larger ones answer 413).
    batch_rows : int, default 65536
        Rows rendered at a time while streaming an export.
    chunk_bytes : int, default 256 KiB
        The largest HTTP chunk of an export answer.
    faults : Faults or None, default None
        The fault switches to start with (a healthy service when ``None``); the fault
        keywords in ``options`` change them.
    max_connections : int, default 64
        Connections open at once; more get 503 and are closed.
    idle_timeout : float, default 60.0
        Seconds a connection may stay silent before it is closed.
    request_timeout : float, default 60.0
        Seconds (on the sandbox's clock) a request may take, from its first byte, to send
        its headers and body; a byte arriving later closes the connection, so a client
        trickling bytes cannot keep its slot forever.
    max_log : int, default 10000
        Request records kept (the oldest are dropped).
    max_tokens : int, default 10000
        Live tokens kept (expired ones are swept first, then the oldest).
    wait : callable or None, default None
        ``wait(seconds, stopping) -> stopped``: how slow faults wait. The default returns
        early when the sandbox stops; tests pass their own to avoid real time.
    clock : callable or None, default None
        The monotonic seconds the sandbox's clock reads (default :func:`time.monotonic`);
        :meth:`advance_clock` moves it forward. Tokens, budgets and request deadlines use it.
    **options
        The tenant's keywords (every field of :class:`TenantOptions`: ``seed``, ``as_of``
        -- sent as every answer's ``Date`` header --, ``fiscal_year_start``, ``accounts``,
        ``opportunities_per_account``, ``users``, ``contacts_per_account``,
        ``activities_per_account``, ``history_days``, ``vocabulary``) and every field of
        :class:`Faults` (its ``seed`` is ``fault_seed`` here, since ``seed`` is the
        tenant's).

    Raises
    ------
    TypeError
        For an unknown keyword, or both ``tenant`` and tenant keywords.
    ValueError
        For a limit that is not positive, or an invalid tenant or fault option.

    Examples
    --------
    >>> with Sandbox(accounts=5, users=2, hourly_budget=10) as sb:
    ...     sb.running, sb.faults.hourly_budget
    (True, 10)
    """

    def __init__(
        self,
        *,
        tenant: Tenant | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str | None = None,
        client_secret: str | None = None,
        max_body_bytes: int = 1 << 20,
        batch_rows: int = 65_536,
        chunk_bytes: int = 256 * 1024,
        faults: Faults | None = None,
        max_connections: int = 64,
        idle_timeout: float = 60.0,
        request_timeout: float = 60.0,
        max_log: int = 10_000,
        max_tokens: int = 10_000,
        wait: Callable[[float, threading.Event], bool] | None = None,
        clock: Callable[[], float] | None = None,
        **options: Any,
    ) -> None:
        tenant_options, fault_options = _split_options(options, tenant)
        _check_limits(
            max_connections=max_connections,
            max_log=max_log,
            max_tokens=max_tokens,
            idle_timeout=idle_timeout,
            request_timeout=request_timeout,
        )
        _warn_unless_loopback(host)
        self.tenant = tenant or Tenant(TenantOptions(**tenant_options))
        self.engine = MetricEngine(self.tenant)
        self.host = host
        self.port = port
        self.client_id = client_id or "sandbox-" + secrets.token_hex(4)
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.max_body_bytes = max_body_bytes
        self.batch_rows = batch_rows
        self.chunk_bytes = chunk_bytes
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_tokens = max_tokens
        self._wait = wait or _stop_aware_wait
        self._lock = threading.RLock()
        self._clock = Clock(clock)
        self._fault_state = FaultState((faults or Faults()).updated(**fault_options))
        self._tokens = TokenTable(self._clock.now, max_tokens)
        self._tokens.add_client(self.client_id, self.client_secret)
        self._budget = Budget(self._clock.now)
        self._log = RequestLog(max_log)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a background thread (idempotent).

        Returns
        -------
        Sandbox
            ``self``, serving (:attr:`port` holds the port bound).

        Examples
        --------
        >>> sb = Sandbox(accounts=3, users=2).start()
        >>> sb.running, sb.port > 0
        (True, True)
        >>> sb.stop()
        """
        with self._lock:
            if self._server is not None:
                return self
            self._stopping.clear()
            server = SandboxServer((self.host, self.port), Handler, self.max_connections)
            server.sandbox = self
            self._server = server
            self.port = server.server_address[1]
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"bspandas-sandbox:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and wait for the handler threads.

        Examples
        --------
        >>> sb = Sandbox(accounts=3, users=2).start()
        >>> sb.stop()
        >>> sb.running, sb.open_connections
        (False, 0)
        """
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @robust_repr
    def __repr__(self) -> str:
        state = "serving " + self.base_url if self.running else "stopped"
        return f"<Sandbox {state} {self.tenant!r}>"

    @property
    def running(self) -> bool:
        """Whether the sandbox is serving.

        Examples
        --------
        >>> Sandbox(accounts=3, users=2).running
        False
        """
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The root URL clients use (``http://host:port``).

        Examples
        --------
        >>> Sandbox(accounts=3, users=2, port=8123).base_url
        'http://127.0.0.1:8123'
        """
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        """The URL of ``path`` on this sandbox.

        Parameters
        ----------
        path : str
            An absolute path, such as ``"/v3/auth/tokens"``.

        Returns
        -------
        str
            :attr:`base_url` followed by ``path``.

        Examples
        --------
        >>> Sandbox(accounts=3, users=2, port=8123).url("/v3/nothing")
        'http://127.0.0.1:8123/v3/nothing'
        """
        return self.base_url + path

    @property
    def token_url(self) -> str:
        """The token endpoint's URL.

        Examples
        --------
        >>> Sandbox(accounts=3, users=2, port=8123).token_url
        'http://127.0.0.1:8123/v3/auth/tokens'
        """
        return self.url(TOKEN_PATH)

    @property
    def export_url(self) -> str:
        """The export endpoint's URL.

        Examples
        --------
        >>> Sandbox(accounts=3, users=2, port=8123).export_url
        'http://127.0.0.1:8123/v3/beta/insights/export'
        """
        return self.url(EXPORT_PATH)

    def budget(self) -> str:
        """The export budget per client, as token answers announce it.

        Token answers carry it in the ``X-Sandbox-Hourly-Budget`` header, so every client
        paces to it (``sb.client()`` and ``bspandas.connect`` alike).

        Returns
        -------
        str
            ``"N;window=W"``: N requests per rolling W seconds (N 0: unlimited).

        Examples
        --------
        >>> Sandbox(accounts=3, users=2, hourly_budget=5, budget_window=60).budget()
        '5;window=60'
        """
        faults = self.faults
        return describe(faults.hourly_budget, faults.budget_window)

    def client(self, **options: Any) -> Client:
        """A client for this sandbox (its credentials and URL).

        It paces to the sandbox's hourly budget unless ``hourly_budget=`` says otherwise.

        Parameters
        ----------
        **options
            Keywords of :class:`bspandas.Client` (``retry``, ``hourly_budget``, ...);
            ``environ`` defaults to ``{}`` so no environment variable leaks in.

        Returns
        -------
        bspandas.Client
            A client to use as a context manager or pass to ``read_query(client=...)``.

        Examples
        --------
        >>> with Sandbox(accounts=3, users=2) as sb, sb.client() as client:
        ...     client.base_url == sb.base_url
        True
        """
        from bspandas._http.client import Client

        return Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            base_url=self.base_url,
            **{"environ": {}, **options},
        )
