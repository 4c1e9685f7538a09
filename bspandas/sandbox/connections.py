"""The listening server: a ``ThreadingHTTPServer`` with a cap on open connections.

Each connection takes a slot; when none is free the accepting thread answers 503 and closes
at once (a flood of connections cannot start a flood of threads). Connections are tracked so
:meth:`SandboxServer.close_connections` can end them all when the sandbox stops.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from bspandas.sandbox.request_log import RequestRecord

if TYPE_CHECKING:
    from bspandas.sandbox.server import Sandbox

__all__ = ["SandboxServer"]

log = logging.getLogger("bspandas.sandbox")

_BUSY_BODY = b'{"code": 503, "message": "Too many connections; try again."}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


class SandboxServer(ThreadingHTTPServer):
    """Serves ``sandbox`` with at most ``max_connections`` connections open at once."""

    daemon_threads = True
    block_on_close = True
    allow_reuse_address = True
    sandbox: Sandbox

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        max_connections: int,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._served = 0
        super().__init__(address, handler)

    def open_count(self) -> int:
        """Connections holding a slot now."""
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
        self.sandbox._log.append(  # logged first: whoever sees the 503 also sees the record
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
        """Remember (``add``) or forget an open connection."""
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down every open connection (their handlers then end)."""
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection %s ended with an error", client_address, exc_info=True)
