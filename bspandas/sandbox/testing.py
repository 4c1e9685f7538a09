"""pytest fixtures for the sandbox.

Enable them with ``pytest_plugins = ["bspandas.sandbox.testing"]`` (in the root
``conftest.py`` or a test module):

* ``sandbox_session``: one sandbox for the whole session (200 accounts, seed 7);
* ``sandbox``: that same sandbox, reset before each test (faults as started, empty request
  log and budgets, no tokens, clock not advanced);
* ``sandbox_factory``: ``sandbox_factory(**options)`` starts a sandbox with custom options;
  every one it started is stopped after the test.

Helpers for tests that talk to the wire without the bspandas client: :func:`get_token`,
:func:`session_for` (a ``requests`` session with the bearer header), :func:`read_csv_rows`
and :func:`raw_post`, which speaks HTTP over a bare socket and reports the exact framing
(terminating chunk seen or not, connection reset).

>>> from bspandas.sandbox import serve
>>> with serve(accounts=3, users=2) as sb, session_for(sb) as http:
...     answer = raw_post(sb, "/v3/beta/insights/export",
...                       {"object": "user", "columns": [{"slug": "ootb_user_name"}]},
...                       headers={"Authorization": http.headers["Authorization"]})
>>> answer.status, answer.terminated, read_csv_rows(answer.body)[0]
(200, True, ['Name'])
"""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from bspandas.sandbox.server import Sandbox

__all__ = [
    "SESSION_OPTIONS",
    "RawAnswer",
    "get_token",
    "raw_post",
    "read_csv_rows",
    "sandbox",
    "sandbox_factory",
    "sandbox_session",
    "session_for",
]

#: Options of the session-wide sandbox: small enough to be quick, big enough to be varied.
SESSION_OPTIONS: dict[str, Any] = {"seed": 7, "accounts": 200, "users": 30}


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    """A sandbox shared by the whole test session."""
    with Sandbox(**SESSION_OPTIONS) as sb:
        yield sb


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Sandbox:
    """The session sandbox, reset to its starting state."""
    sandbox_session.reset()
    return sandbox_session


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with custom options; all are stopped after the test."""
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sb = Sandbox(**options).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


# -- wire helpers ---------------------------------------------------------------------------


def get_token(sb: Sandbox, http: requests.Session | None = None) -> str:
    """A bearer token for the sandbox's own credentials (form-encoded, as the API wants)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
    }
    if http is None:
        with requests.Session() as own:
            answer = own.post(sb.token_url, data=form, timeout=10)
    else:
        answer = http.post(sb.token_url, data=form, timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def session_for(sb: Sandbox) -> requests.Session:
    """A ``requests`` session carrying a fresh bearer token (close it, or use ``with``)."""
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + get_token(sb, http)
    return http


def read_csv_rows(data: bytes | str) -> list[list[str]]:
    """Parse CSV text with the standard library (RFC 4180, embedded newlines kept)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.reader(io.StringIO(text, newline="")))


@dataclass
class RawAnswer:
    """What arrived on the socket: status, headers (lower-case names), the de-chunked body,
    whether the terminating chunk arrived, and whether the connection was reset."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    terminated: bool = False
    reset: bool = False
    wire: bytes = b""


def raw_post(
    sb: Sandbox,
    path: str,
    body: Any,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> RawAnswer:
    """POST over a bare socket (``Connection: close``) and read until the server closes."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {sb.host}:{sb.port}",
        "Connection: close",
        f"Content-Length: {len(payload)}",
    ]
    has_type = any(k.lower() == "content-type" for k in (headers or {}))
    if not has_type:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    received = bytearray()
    reset = False
    with socket.create_connection((sb.host, sb.port), timeout=timeout) as conn:
        conn.sendall(request)
        while True:
            try:
                block = conn.recv(65536)
            except ConnectionResetError:
                reset = True
                break
            if not block:
                break
            received += block
    return _parse_raw(bytes(received), reset)


def _parse_raw(wire: bytes, reset: bool) -> RawAnswer:
    head, _, rest = wire.partition(b"\r\n\r\n")
    if not head:
        return RawAnswer(status=0, reset=reset, wire=wire)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    answer = RawAnswer(status=int(status_line.split()[1]), headers=headers, reset=reset, wire=wire)
    if headers.get("transfer-encoding", "").lower() != "chunked":
        answer.body = rest
        return answer
    answer.chunked = True
    body = bytearray()
    position = 0
    while True:
        end = rest.find(b"\r\n", position)
        if end < 0:
            break
        size = int(rest[position:end], 16)
        if size == 0:
            answer.terminated = rest[end : end + 4] == b"\r\n\r\n"
            break
        body += rest[end + 2 : end + 2 + size]
        if end + 2 + size > len(rest):
            break
        position = end + 2 + size + 2
    answer.body = bytes(body)
    return answer
