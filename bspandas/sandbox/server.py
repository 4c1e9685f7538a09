"""The sandbox HTTP server: auth, budget, export streaming and fault injection.

A ``ThreadingHTTPServer`` speaking HTTP/1.1 (keep-alive, several clients at once) on
loopback by default. ``POST /v3/auth/tokens`` takes form-encoded client credentials and
issues bearer tokens; ``POST /v3/beta/insights/export`` answers CSV with manual chunked
framing. Every handled request is appended to a thread-safe log (:class:`RequestRecord`).

>>> with Sandbox(accounts=5, users=2) as sb:
...     sb.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import ipaddress
import json
import logging
import random
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from bspandas._exceptions import InsecureConfigWarning, robust_repr
from bspandas._http.wire import EXPORT_PATH, SANDBOX_BUDGET_HEADER, TOKEN_PATH
from bspandas._utils import find_stacklevel
from bspandas.sandbox.export import ExportPlan, plan_export
from bspandas.sandbox.faults import STREAM_FAULTS, Faults
from bspandas.sandbox.engine import MetricEngine
from bspandas.sandbox.problems import ApiError, bad_request, filter_invalid, server_error
from bspandas.sandbox.render import header_line, iter_batches
from bspandas.sandbox.tenant import Tenant, TenantOptions

if TYPE_CHECKING:
    from bspandas._http.client import Client

__all__ = ["EXPORT_PATH", "TOKEN_PATH", "RequestRecord", "Sandbox"]

log = logging.getLogger("bspandas.sandbox")

_TENANT_OPTIONS = {f.name for f in fields(TenantOptions)}
_FAULT_OPTIONS = {f.name for f in fields(Faults)} - {"seed"}
_GATEWAY_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
_FIELD_START = re.compile(rb"[,\n]")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")  # at most 4 GiB; no sign, prefix or "_"
_QUERY_VALUE = re.compile(r"([?&;][^=&;\s\"'?]*=)[^&;\s\"']*")
_BUSY_BODY = b'{"code": 503, "message": "Too many connections; try again."}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


def redact_target(text: str) -> str:
    """A request target (or any log text) with every query-string value replaced, so a
    secret sent as ``?client_secret=...`` is never logged.

    >>> redact_target("/v3/auth/tokens?client_id=a&client_secret=s3cret")
    '/v3/auth/tokens?client_id=REDACTED&client_secret=REDACTED'
    """
    return _QUERY_VALUE.sub(r"\1REDACTED", text)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the sandbox reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _stop_aware_wait(seconds: float, stopping: threading.Event) -> bool:
    return stopping.wait(seconds)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One handled request.

    ``endpoint`` is ``"token"``, ``"export"`` or ``"other"``; ``status`` the HTTP status
    sent (a damaged 200 answer keeps 200 and names its ``fault``); ``client_id`` is ``None``
    when the request did not identify a client; ``query`` is the parsed export body (for the
    token endpoint: the form without the secret); ``rows``/``bytes`` describe a CSV answer
    (``bytes``: payload bytes actually sent).
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


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


#: The token answer's header that tells a client the sandbox's hourly export budget.
BUDGET_HEADER = SANDBOX_BUDGET_HEADER


class Sandbox:
    """A running (or startable) local Query API with a synthetic tenant.

    Keywords: the tenant's (``seed``, ``as_of`` -- a datetime, a date or an ISO string, sent
    as every answer's ``Date`` header --, ``fiscal_year_start`` -- the month, 1-12, every
    fiscal period served starts from --, ``accounts``, ``opportunities_per_account``,
    ``users``, ``contacts_per_account``, ``activities_per_account``, ``history_days``), the
    server's (``host``, ``port``, ``client_id``, ``client_secret``, ``max_body_bytes``,
    ``batch_rows``, ``chunk_bytes``) and every field of :class:`Faults` (its ``seed`` is
    ``fault_seed`` here, since ``seed`` is the tenant's).

    Limits under abuse: ``max_connections`` open connections (more get 503 and are
    closed), ``idle_timeout`` seconds a connection may stay silent, ``max_log`` records kept
    (oldest dropped), ``max_tokens`` live tokens (expired ones swept, then the oldest).
    ``wait(seconds, stopping) -> stopped`` is how slow faults wait (the default returns early
    when the sandbox stops); tests pass their own to avoid real time. A ``host`` other than
    loopback warns (:class:`~bspandas._exceptions.InsecureConfigWarning`).
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
        max_log: int = 10_000,
        max_tokens: int = 10_000,
        wait: Callable[[float, threading.Event], bool] | None = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - _TENANT_OPTIONS - _FAULT_OPTIONS - {"fault_seed"}
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
        tenant_options = {k: v for k, v in options.items() if k in _TENANT_OPTIONS}
        fault_options = {k: v for k, v in options.items() if k in _FAULT_OPTIONS}
        if "fault_seed" in options:
            fault_options["seed"] = options["fault_seed"]
        if tenant is not None and tenant_options:
            raise TypeError("pass either tenant= or tenant options, not both")
        for name, limit in (
            ("max_connections", max_connections),
            ("max_log", max_log),
            ("max_tokens", max_tokens),
            ("idle_timeout", idle_timeout),
        ):
            if isinstance(limit, bool) or not limit > 0:
                raise ValueError(f"{name} must be positive, got {limit!r}")
        if not is_loopback(host):
            warnings.warn(
                f"The sandbox will listen on {host!r}, not loopback: anyone who can reach "
                "this machine can read its tenant and see its credentials in use. Bind "
                "127.0.0.1 unless you mean it.",
                InsecureConfigWarning,
                stacklevel=find_stacklevel(),
            )
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
        self.max_tokens = max_tokens
        self._wait = wait or _stop_aware_wait
        self._lock = threading.RLock()
        self._initial_faults = (faults or Faults()).updated(**fault_options)
        self._faults = self._initial_faults
        self._rng = random.Random(self._faults.seed)
        self._slow_left = self._faults.slow_first_byte_count
        self._clients: dict[str, str] = {self.client_id: self.client_secret}
        self._tokens: dict[bytes, tuple[str, float]] = {}
        self._budget: dict[str, deque[float]] = {}
        self._log: deque[RequestRecord] = deque(maxlen=max_log)
        self._clock_offset = 0.0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a background thread (idempotent). Returns ``self``."""
        with self._lock:
            if self._server is not None:
                return self
            self._stopping.clear()
            server = _Server((self.host, self.port), _Handler, self.max_connections)
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
        """Stop serving, close every connection and wait for the handler threads."""
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
        return self._server is not None

    @property
    def base_url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def token_url(self) -> str:
        return self.url(TOKEN_PATH)

    @property
    def export_url(self) -> str:
        return self.url(EXPORT_PATH)

    def budget(self) -> str:
        """The export budget per client as ``"N;window=W"`` (N requests per rolling W
        seconds; N 0: unlimited). Token answers carry it in the ``X-Sandbox-Hourly-Budget``
        header, so every client paces to it (``sb.client()`` and ``bspandas.connect``
        alike)."""
        faults = self.faults
        budget = faults.hourly_budget
        count = 0 if budget is None or budget <= 0 else budget
        return f"{count};window={faults.budget_window:g}"

    def client(self, **options: Any) -> Client:
        """A :class:`bspandas._http.client.Client` for this sandbox (its credentials and URL),
        pacing to the sandbox's hourly budget unless ``hourly_budget=`` says otherwise."""
        from bspandas._http.client import Client

        return Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            base_url=self.base_url,
            **{"environ": {}, **options},
        )

    # -- state and controls -----------------------------------------------------------------

    def override(self, object: str, slug: str, *values: Any, period: str | None = None) -> None:
        """Serve these values (one sequence per part of the slug, one value per row of
        ``object``) for a column, e.g. adversarial text for property tests of the wire
        format. :meth:`reset` does not undo it; a new sandbox does."""
        from bspandas.catalog import store

        metric = store.find(slug, object)
        if metric is None:
            raise ValueError(f"{slug!r} is not a catalog slug of {object!r}")
        self.engine.override(metric, period, values)

    @property
    def faults(self) -> Faults:
        """A copy of the current fault switches (counters show what is left)."""
        with self._lock:
            return self._faults.updated()

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault switches at runtime; returns the new switches."""
        with self._lock:
            self._faults = self._faults.updated(**changes)
            if "seed" in changes:
                self._rng = random.Random(self._faults.seed)
            if "slow_first_byte_count" in changes or "slow_first_byte" in changes:
                self._slow_left = self._faults.slow_first_byte_count
            return self.faults

    def reset_faults(self) -> Faults:
        """Back to the switches the sandbox was started with."""
        with self._lock:
            self._faults = self._initial_faults
            self._rng = random.Random(self._faults.seed)
            self._slow_left = self._faults.slow_first_byte_count
            return self.faults

    def reset(self) -> None:
        """Faults as started, empty log and budgets, no tokens, clock not advanced."""
        with self._lock:
            self.reset_faults()
            self._log.clear()
            self._budget.clear()
            self._tokens.clear()
            self._clock_offset = 0.0

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first (the last ``max_log`` requests)."""
        with self._lock:
            return list(self._log)

    def count(
        self, endpoint: str | None = None, status: int | None = None, fault: str | None = None
    ) -> int:
        """How many logged requests match (each given criterion)."""
        return sum(
            1
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (status is None or r.status == status)
            and (fault is None or r.fault == fault)
        )

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def add_client(
        self, client_id: str | None = None, client_secret: str | None = None
    ) -> tuple[str, str]:
        """Register another key pair (each client has its own hourly budget)."""
        cid = client_id or "sandbox-" + secrets.token_hex(4)
        secret = client_secret or secrets.token_urlsafe(24)
        with self._lock:
            self._clients[cid] = secret
        return cid, secret

    def expire_tokens(self) -> None:
        """Invalidate every issued token now (the next export gets 401)."""
        with self._lock:
            self._tokens.clear()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock forward: tokens expire and budgets roll without sleeping."""
        with self._lock:
            self._clock_offset += seconds

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._clock_offset

    @property
    def token_count(self) -> int:
        """How many issued tokens the sandbox holds (expired ones until swept)."""
        with self._lock:
            return len(self._tokens)

    @property
    def open_connections(self) -> int:
        """Connections being served now (0 when stopped)."""
        server = self._server
        return 0 if server is None else server.open_count()

    # -- used by the handler ----------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    def _check_client(self, client_id: str, secret: str) -> bool:
        with self._lock:
            expected = self._clients.get(client_id)
        known = expected is not None
        reference = expected if expected is not None else secrets.token_urlsafe(24)
        same = hmac.compare_digest(secret.encode("utf-8"), reference.encode("utf-8"))
        return known and same

    def _issue(self, client_id: str) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        with self._lock:
            lifetime = self._faults.token_lifetime
            advertised = self._faults.advertised_token_lifetime
            now = self.now()
            if len(self._tokens) >= self.max_tokens:  # sweep the expired, then the oldest
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
                for key in list(self._tokens)[: len(self._tokens) - self.max_tokens + 1]:
                    del self._tokens[key]
            self._tokens[_digest(token)] = (client_id, now + lifetime)
        return token, int(advertised if advertised is not None else lifetime)

    def _authenticate(self, header: str | None) -> str | None:
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            entry = self._tokens.get(_digest(token))
            if entry is None:
                return None
            client_id, expires = entry
            if self.now() >= expires:
                del self._tokens[_digest(token)]
                return None
            return client_id

    def _admit(self, client_id: str) -> bool:
        """Count a request against the client's rolling budget (False: over budget)."""
        with self._lock:
            budget = self._faults.hourly_budget
            if budget is None or budget <= 0:
                return True
            now = self.now()
            window = self._budget.setdefault(client_id, deque())
            while window and window[0] <= now - self._faults.budget_window:
                window.popleft()
            if len(window) >= budget:
                return False
            window.append(now)
            return True

    def _status_fault(self) -> tuple[int, str] | None:
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

    def _stream_fault(self) -> str | None:
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

    def _trickle_delay(self) -> float | None:
        """Seconds between bytes when this answer trickles (``trickle`` fault), else None."""
        with self._lock:
            f = self._faults
            if f.trickle <= 0:
                return None
            self._faults = f.updated(trickle=f.trickle - 1)
            return f.trickle_delay

    def _slow_delay(self) -> float:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    allow_reuse_address = True
    sandbox: Sandbox

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], max_connections: int
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._served = 0
        super().__init__(address, handler)

    def open_count(self) -> int:
        with self._connections_lock:
            return self._served

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve in a thread while a slot is free; otherwise answer 503 and close at once
        (in the accepting thread: a flood of connections cannot start a flood of threads)."""
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        with self._connections_lock:
            self._served += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._connections_lock:
            self._served -= 1
        self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        self.sandbox._record(  # logged first: whoever sees the 503 also sees the record
            RequestRecord(
                time=time.time(),
                method="",
                path="",
                endpoint="other",
                status=503,
                fault="too_many_connections",
            )
        )
        try:
            request.setblocking(False)
            with contextlib.suppress(OSError):
                request.recv(65536)  # what already arrived, so closing sends no reset
            request.settimeout(1.0)
            request.sendall(_BUSY)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection %s ended with an error", client_address, exc_info=True)


#: What a refused request may still send after the answer (read and dropped, so closing the
#: socket does not reset the connection before the client has read the answer).
_DRAIN_BYTES = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bspandas-sandbox"
    sys_version = ""
    timeout = 60
    server: _Server

    @property
    def sb(self) -> Sandbox:
        return self.server.sandbox

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.sb.idle_timeout)  # a silent connection is closed
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
            if getattr(self, "_linger", False):
                self._drain()
        finally:
            self.server.track(self.connection, False)

    def _drain(self) -> None:
        """After refusing a body: send FIN, then read (a bounded amount, briefly) what the
        client still sends, so closing does not reset the connection and lose the answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(min(self.sb.idle_timeout, 2.0))
            left = max(self.sb.max_body_bytes, _DRAIN_BYTES)  # not just the limit: a body
            while left > 0:  # refused for its size is usually well past it
                block = self.connection.recv(min(65536, left))
                if not block:
                    return
                left -= len(block)
        except OSError:
            return

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's ``Date`` header is the tenant's ``as_of``: the instant its relative
        periods (``this_month``, ``last_90_days``...) are computed at, as a real server's
        Date is its own "now"."""
        if timestamp is None:
            timestamp = self.sb.tenant.as_of.timestamp()
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: Any) -> None:
        shown = [redact_target(a) if isinstance(a, str) else a for a in args]
        log.debug("%s " + format, self.address_string(), *shown)

    # -- plumbing --------------------------------------------------------------------------

    def _record(self, endpoint: str, status: int, **details: Any) -> None:
        self.sb._record(
            RequestRecord(
                time=self._started,
                method=self.command,
                path=redact_target(self.path),
                endpoint=endpoint,
                status=status,
                **details,
            )
        )

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send_status_fault(self, status: int) -> None:
        if status in _GATEWAY_PAGES:
            title = f"{status} {_GATEWAY_PAGES[status]}"
            page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            self._send(status, page.encode(), "text/html")
        elif status == 429:
            self._send_json(429, {"code": 429, "message": "Too many requests"})
        elif status == 500:
            self._send_json(500, server_error().body)
        else:
            self._send_json(status, {"code": status, "message": "injected fault"})

    def _read_body(self) -> bytes:
        limit = self.sb.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise bad_request("Invalid Content-Length.") from None
        if size < 0:
            self.close_connection = True
            raise bad_request("Invalid Content-Length.")
        if size > limit:
            self.close_connection = True
            raise ApiError(
                413, {"code": 413, "message": f"Request body larger than {limit} bytes."}
            )
        return self.rfile.read(size)

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body, strictly framed (RFC 9112 7.1). Every byte read, framing and
        trailers included, counts against ``limit``: nothing is read past it."""
        parts: list[bytes] = []
        total = 0

        def malformed(what: str) -> ApiError:
            self.close_connection = True
            return bad_request(f"Malformed chunked request body: {what}.")

        def too_large() -> ApiError:
            self.close_connection = True
            return ApiError(
                413, {"code": 413, "message": f"Request body larger than {limit} bytes."}
            )

        def line() -> bytes:
            nonlocal total
            text = self.rfile.readline(min(1026, limit - total + 1))
            total += len(text)
            if total > limit:
                raise too_large()
            if not text.endswith(b"\r\n"):
                raise malformed("a line without CRLF")
            return text[:-2]

        while True:
            size_text = line().split(b";", 1)[0]
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise malformed(f"chunk size {size_text[:20]!r} is not hexadecimal")
            size = int(size_text, 16)
            if size == 0:
                while line():  # trailer fields, up to the empty line
                    continue
                return b"".join(parts)
            if total + size + 2 > limit:
                raise too_large()
            data = self.rfile.read(size)
            total += len(data)
            if len(data) < size:
                raise malformed("the body ended inside a chunk")
            parts.append(data)
            if self.rfile.read(2) != b"\r\n":
                raise malformed("a chunk is longer than its size")
            total += 2

    # -- methods ---------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._started = time.time()
        self._responded = False
        path = urllib.parse.urlsplit(self.path).path
        endpoint = {TOKEN_PATH: "token", EXPORT_PATH: "export"}.get(path, "other")
        try:
            body = self._read_body()
        except ApiError as problem:
            self._record(endpoint, problem.status)
            self._send_json(problem.status, problem.body)
            self._linger = self.close_connection
            return
        try:
            if endpoint == "token":
                self._token(body)
            elif endpoint == "export":
                self._export(body)
            else:
                self._record("other", 404)
                self._send_json(404, {"code": 404, "message": f"No route for {path}"})
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("sandbox handler failed")
            self.close_connection = True
            if not self._responded:
                self._record(endpoint, 500, fault="internal_error")
                self._send_json(500, server_error().body)

    def _not_allowed(self) -> None:
        self._started = time.time()
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._read_body()
        except ApiError:
            self.close_connection = self._linger = True
        if path in (TOKEN_PATH, EXPORT_PATH):
            self._record("other", 405)
            self._send_json(405, {"code": 405, "message": "Method not allowed"}, {"Allow": "POST"})
        else:
            self._record("other", 404)
            self._send_json(404, {"code": 404, "message": f"No route for {path}"})

    do_GET = _not_allowed  # noqa: N815
    do_PUT = _not_allowed  # noqa: N815
    do_DELETE = _not_allowed  # noqa: N815
    do_PATCH = _not_allowed  # noqa: N815

    # -- token ---------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        def fail(status: int, error: str, message: str, client: str | None = None) -> None:
            self._record("token", status, client_id=client)
            self._send_json(status, {"code": status, "error": error, "message": message})

        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            fail(400, "invalid_request", "Send the credentials form-encoded.")
            return
        try:
            text = body.decode("utf-8")
            form = (
                urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
                if text
                else {}
            )
        except (UnicodeDecodeError, ValueError):
            fail(400, "invalid_request", "Malformed form body.")
            return
        if any(len(v) > 1 for v in form.values()):
            fail(400, "invalid_request", "Repeated form field.")
            return
        values = {k: v[0] for k, v in form.items()}
        if values.get("grant_type") != "client_credentials":
            fail(400, "unsupported_grant_type", "grant_type must be client_credentials.")
            return
        client_id = values.get("client_id", "")
        secret = values.get("client_secret", "")
        if not client_id or not secret or not self.sb._check_client(client_id, secret):
            fail(401, "invalid_client", "Invalid client credentials.", client_id or None)
            return
        token, expires_in = self.sb._issue(client_id)
        query = {k: v for k, v in values.items() if k != "client_secret"}
        self._record("token", 200, client_id=client_id, query=query)
        self._send_json(
            200,
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in},
            {BUDGET_HEADER: self.sb.budget()},
        )

    # -- export --------------------------------------------------------------------------------

    def _export(self, body: bytes) -> None:
        sb = self.sb
        client = sb._authenticate(self.headers.get("Authorization"))
        if client is None:
            self._record("export", 401)
            self._send_json(
                401,
                {"code": 401, "message": "Invalid or expired token"},
                {"WWW-Authenticate": "Bearer"},
            )
            return
        if not sb._admit(client):
            self._record("export", 429, client_id=client, fault="budget")
            budget = sb.faults.hourly_budget
            self._send_json(
                429, {"code": 429, "message": f"Rate limit exceeded: {budget} requests per hour"}
            )
            return
        delay = sb._slow_delay()
        injected = sb._status_fault()
        query: Any = None
        try:
            query = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            query = None
            parse_error = True
        else:
            parse_error = False
        if delay > 0 and sb._wait(delay, sb._stopping):
            self.close_connection = True
            return
        if injected is not None:
            status, fault = injected
            self._record("export", status, client_id=client, fault=fault, query=query)
            self._send_status_fault(status)
            return
        if parse_error:
            problem = bad_request("Malformed JSON body.", "invalid_json")
            self._record("export", 400, client_id=client)
            self._send_json(problem.status, problem.body)
            return
        try:
            plan = plan_export(query, sb.engine, sb.faults)
        except ApiError as problem:
            self._record("export", problem.status, client_id=client, query=query)
            self._send_json(problem.status, problem.body)
            return
        except RecursionError:
            deep = filter_invalid("nested too deeply")
            self._record("export", 400, client_id=client, query=query)
            self._send_json(deep.status, deep.body)
            return
        except Exception:
            log.exception("sandbox export failed")
            self._record("export", 500, client_id=client, fault="internal_error", query=query)
            self._send_json(500, server_error().body)
            return
        self._stream(plan, client, query)

    def _start_csv(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes | memoryview) -> None:
        if len(data):
            self.wfile.write(b"%X\r\n" % len(data) + bytes(data) + b"\r\n")

    def _chunks(self, data: bytes) -> Iterator[memoryview]:
        view = memoryview(data)
        size = self.sb.chunk_bytes
        for start in range(0, len(view), size):
            yield view[start : start + size]

    def _stream(self, plan: ExportPlan, client: str, query: Any) -> None:
        fault = self.sb._stream_fault()
        details = {"client_id": client, "object": plan.object, "query": query}
        rows = plan.row_count
        header = header_line(plan.labels)
        batches = iter_batches(plan.columns, plan.indices, plan.n_rows, self.sb.batch_rows)
        if fault is not None:
            self._damaged(fault, header, batches, rows, details)
            return
        trickle = self.sb._trickle_delay()
        if trickle is not None:
            self._trickled(trickle, header, batches, rows, details)
            return
        self._start_csv()
        sent = 0
        try:
            self._chunk(header)
            sent = len(header)
            for data, _ in batches:
                for piece in self._chunks(data):
                    self._chunk(piece)
                sent += len(data)
        except (ConnectionError, TimeoutError):
            self._record("export", 200, rows=rows, bytes=sent, fault="client_gone", **details)
            raise
        self._record("export", 200, rows=rows, bytes=sent, **details)
        self.wfile.write(b"0\r\n\r\n")

    def _trickled(
        self,
        delay: float,
        header: bytes,
        batches: Iterator[tuple[bytes, Any]],
        rows: int,
        details: dict[str, Any],
    ) -> None:
        """The whole answer as one chunk, written one byte every ``delay`` seconds (the
        framing bytes too), until done, the client goes away or the sandbox stops."""
        payload = header + b"".join(data for data, _ in batches)
        prefix = b"%X\r\n" % len(payload)
        wire = prefix + payload + b"\r\n0\r\n\r\n"
        self._start_csv()
        sent = 0
        try:
            for index in range(len(wire)):
                if self.sb._stopping.wait(delay):
                    break
                self.wfile.write(wire[index : index + 1])
                sent += 1
        except (ConnectionError, TimeoutError):
            pass
        self.close_connection = True
        delivered = max(0, min(len(payload), sent - len(prefix)))
        self._record("export", 200, rows=rows, bytes=delivered, fault="trickle", **details)

    def _damaged(
        self,
        fault: str,
        header: bytes,
        batches: Iterator[tuple[bytes, Any]],
        rows: int,
        details: dict[str, Any],
    ) -> None:
        starts = [0, len(header)]
        parts = [header]
        for data, offsets in batches:
            base = starts[-1]
            starts.extend(int(base + o) for o in offsets[1:])
            parts.append(data)
        payload = b"".join(parts)
        cut, fault = cut_point(payload, starts, fault)
        self._record("export", 200, rows=rows, bytes=cut, fault=fault, **details)
        self._start_csv()
        for piece in self._chunks(payload[:cut]):
            self._chunk(piece)
        self.close_connection = True
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
            self.rfile = io.BytesIO()
            self.wfile = io.BytesIO()


def cut_point(payload: bytes, starts: list[int], fault: str) -> tuple[int, str]:
    """Where a damaged answer stops, and the fault it really is.

    ``starts`` holds the byte offset of the header (0), of each data row, and the end.
    ``missing_terminator`` sends everything; ``cut_mid_row`` and ``reset`` stop inside the
    middle data row (inside the header when there is none); ``cut_mid_quote`` stops inside
    the first quoted field from the middle row on (from the top when there is none after it;
    a mid-row cut when the answer has no quoted field at all).

    >>> cut_point(b'h\\r\\nabc,def\\r\\n', [0, 3, 12], "cut_mid_row")
    (6, 'cut_mid_row')
    >>> cut_point(b'h\\r\\nabc,"d,ef"\\r\\n', [0, 3, 15], "cut_mid_quote")
    (10, 'cut_mid_quote')
    """
    if fault == "missing_terminator":
        return len(payload), fault
    n_rows = len(starts) - 2
    middle = 1 + n_rows // 2 if n_rows > 0 else 0
    if fault == "cut_mid_quote":
        for origin in (starts[middle], 0):
            opening = _opening_quote(payload, origin)
            if opening is not None:
                closing = _closing_quote(payload, opening)
                return opening + 1 + (closing - opening - 1) // 2, fault
        fault = "cut_mid_row"
    begin, end = starts[middle], starts[middle + 1]
    content = max(0, end - begin - 2)
    return begin + max(1, content // 2), fault


def _opening_quote(payload: bytes, position: int) -> int | None:
    """The first field-opening quote at or after a field start outside quotes."""
    while position < len(payload):
        if payload[position] == ord('"'):
            return position
        found = _FIELD_START.search(payload, position)
        if found is None:
            return None
        position = found.end()
    return None


def _closing_quote(payload: bytes, opening: int) -> int:
    position = opening + 1
    while True:
        found = payload.find(b'"', position)
        if found < 0:
            return len(payload)
        if payload[found + 1 : found + 2] == b'"':
            position = found + 2
            continue
        return found
