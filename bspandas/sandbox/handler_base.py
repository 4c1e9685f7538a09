"""A connection's plumbing, under the endpoints: socket options, the idle timeout and the
request deadline, draining a refused body, sending answers and logging them.

Two limits keep a connection from holding its slot forever: ``idle_timeout`` closes a
connection that stays silent that long, and ``request_timeout`` gives each request, from its
first byte, that many seconds (on the sandbox's clock) to deliver its headers and body; a
byte that arrives later closes the connection. A client trickling one byte just inside each
idle timeout is cut off at its first byte past the deadline.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from bspandas.sandbox.problems import server_error
from bspandas.sandbox.request_log import RequestRecord, redact_target

if TYPE_CHECKING:
    from bspandas.sandbox.connections import SandboxServer
    from bspandas.sandbox.server import Sandbox

__all__ = ["DeadlineReader", "HandlerBase"]

log = logging.getLogger("bspandas.sandbox")

_GATEWAY_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}

#: What a refused request may still send after the answer (read and dropped, so closing the
#: socket does not reset the connection before the client has read the answer).
_DRAIN_BYTES = 1 << 20


class DeadlineReader(io.RawIOBase):
    """A connection's incoming bytes, with a deadline per request.

    :meth:`arm` marks a new request: its deadline starts at the next byte that arrives,
    ``timeout`` seconds on ``now``'s clock; any read that returns bytes after it raises
    ``TimeoutError`` (which ends the connection).

    >>> left, right = socket.socketpair()
    >>> clock = [0.0]
    >>> reader = DeadlineReader(right, lambda: clock[0], timeout=5.0)
    >>> reader.arm()
    >>> _ = left.sendall(b"P")
    >>> reader.read(1)
    b'P'
    >>> clock[0] = 6.0
    >>> _ = left.sendall(b"O")
    >>> reader.read(1)
    Traceback (most recent call last):
    ...
    TimeoutError: the request took longer than 5 seconds to arrive
    >>> left.close(); right.close()
    """

    def __init__(self, sock: socket.socket, now: Callable[[], float], timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._now = now
        self._timeout = timeout
        self._deadline: float | None = None

    def readable(self) -> bool:
        return True

    def arm(self) -> None:
        """A new request begins: its deadline starts with its first byte."""
        self._deadline = None

    def readinto(self, buffer: Any) -> int:
        self._check()
        size = self._sock.recv_into(buffer)
        if size:
            if self._deadline is None:
                self._deadline = self._now() + self._timeout
            else:
                self._check()
        return size

    def _check(self) -> None:
        if self._deadline is not None and self._now() > self._deadline:
            raise TimeoutError(f"the request took longer than {self._timeout:g} seconds to arrive")


class HandlerBase(BaseHTTPRequestHandler):
    """HTTP/1.1 plumbing shared by every endpoint of the sandbox."""

    protocol_version = "HTTP/1.1"
    server_version = "bspandas-sandbox"
    sys_version = ""
    timeout = 60
    server: SandboxServer
    _started: float
    _responded: bool
    _linger: bool

    @property
    def sb(self) -> Sandbox:
        return self.server.sandbox

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.sb.idle_timeout)  # a silent connection is closed
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()  # read through the deadline instead
        self._reader = DeadlineReader(self.connection, self.sb.now, self.sb.request_timeout)
        self.rfile = io.BufferedReader(self._reader)
        self.server.track(self.connection, True)

    def handle_one_request(self) -> None:
        self._reader.arm()
        super().handle_one_request()

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
        self.sb._log.append(
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
