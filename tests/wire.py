"""A transport seam for client tests: a ``requests.Session`` whose answers are exact HTTP/1.1
bytes, parsed by the real ``http.client`` and ``urllib3`` code, without any socket.

A handler gets each request (a :class:`Sent`) and returns the raw answer bytes (status line,
headers, body, framing and all), or raises the exception a real transport would raise.
``on_read`` runs before each read of the answer (a fake clock advances there: a trickle).
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter


@dataclass
class Sent:
    """One request the client sent through the fake session."""

    method: str
    url: str
    kwargs: dict[str, Any]
    prepared: requests.PreparedRequest
    form: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        path = urllib.parse.urlsplit(self.url).path
        return {"/v3/auth/tokens": "token", "/v3/beta/insights/export": "export"}.get(path, "?")

    @property
    def bearer(self) -> str | None:
        value = self.prepared.headers.get("Authorization")
        return value.removeprefix("Bearer ") if value else None


Handler = Callable[[Sent], bytes]


class _File(io.BytesIO):
    """The answer's bytes; ``consumed`` tells how far they were read."""

    def __init__(self, data: bytes, on_read: Callable[[], None] | None) -> None:
        super().__init__(data)
        self._on_read = on_read
        self.consumed = 0

    def _tick(self) -> None:
        if self._on_read is not None:
            self._on_read()

    def _done(self, data: bytes) -> bytes:
        self.consumed = self.tell()
        return data

    def read(self, size: int | None = -1) -> bytes:
        self._tick()
        return self._done(super().read(size))

    def read1(self, size: int = -1) -> bytes:
        self._tick()
        return self._done(super().read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        self._tick()
        return self._done(super().readline(size))

    def readinto(self, buffer: Any) -> int:
        self._tick()
        count = super().readinto(buffer)
        self.consumed = self.tell()
        return count


class _Sock:
    def __init__(self, data: bytes, on_read: Callable[[], None] | None) -> None:
        self.file = _File(data, on_read)

    def makefile(self, mode: str) -> _File:
        return self.file


def response_from(
    prepared: requests.PreparedRequest, raw: bytes, on_read: Callable[[], None] | None = None
) -> requests.Response:
    """Parse ``raw`` as http.client and urllib3 would from a socket, and wrap it for requests."""
    original = http.client.HTTPResponse(_Sock(raw, on_read), method=prepared.method)  # type: ignore[arg-type]
    original.begin()
    answer = urllib3.HTTPResponse(
        body=original,
        headers=urllib3.HTTPHeaderDict(original.getheaders()),
        status=original.status,
        version=original.version,
        reason=original.reason,
        preload_content=False,
        decode_content=False,
        original_response=original,
        enforce_content_length=True,
        request_method=prepared.method,
    )
    return HTTPAdapter().build_response(prepared, answer)


class Wire(requests.Session):
    """A session answering from ``handler`` (thread-safe log in :attr:`sent`)."""

    def __init__(self, handler: Handler, on_read: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.on_read = on_read
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        assert not args
        prepared = requests.Request(
            str(method),
            str(url),
            data=kwargs.get("data"),
            json=kwargs.get("json"),
            headers=kwargs.get("headers"),
        ).prepare()
        body = prepared.body
        form: dict[str, str] = {}
        if isinstance(body, str) and kwargs.get("data"):
            form = dict(urllib.parse.parse_qsl(body))
        sent = Sent(str(method), str(url), dict(kwargs), prepared, form)
        with self._lock:
            self.sent.append(sent)
        return response_from(prepared, self.handler(sent), self.on_read)

    def count(self, endpoint: str) -> int:
        with self._lock:
            return sum(1 for s in self.sent if s.endpoint == endpoint)


# -- answers -------------------------------------------------------------------------------------


def answer(
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    length: int | None = None,
    chunks: list[bytes] | None = None,
    terminated: bool = True,
) -> bytes:
    """Raw HTTP/1.1 answer bytes. ``chunks``: chunked framing (``terminated`` adds the
    terminating chunk); else ``Content-Length`` is ``length`` (default: the true length)."""
    reason = http.client.responses.get(status, "Whatever")
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if chunks is not None:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%X\r\n%s\r\n" % (len(c), c) for c in chunks if c)
        if terminated:
            payload += b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def token_answer(token: str, expires_in: Any = 3600) -> bytes:
    data = {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    return answer(200, json.dumps(data).encode(), {"Content-Type": "application/json"})


def csv_answer(
    body: bytes, pieces: int = 3, *, terminated: bool = True, gzipped: bool = False
) -> bytes:
    """A chunked ``text/csv`` answer of ``body`` in ``pieces`` chunks."""
    headers = {"Content-Type": "text/csv; charset=utf-8"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    size = max(1, -(-len(body) // pieces))
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    return answer(200, headers=headers, chunks=chunks, terminated=terminated)
