"""The HTTP client: credentials, bearer tokens, pacing, retries and the streamed export call.

The client knows nothing about dtypes: it hands the answer's byte stream (a :class:`Body`)
to a consumer (the parser) and retries the whole request, within bounds, when the status,
the connection or the consumer says the answer is unusable.

On a network nobody controls it holds to a few rules: it never follows a redirect (the
client secret and the token go to the configured host only); every export call ends within
``deadline`` seconds, retries included, however slowly the server sends; only a ``text/csv``
answer reaches the parser, and one whose framing proves bytes are missing is never handed
on as complete (see :class:`Body`); error bodies are read a few KiB at most and compressed
answers are decoded with a size cap; exceptions carry no ``requests`` objects.

>>> client = Client("my-id", "my-secret", "http://127.0.0.1:8080")
>>> client
Client(base_url='http://127.0.0.1:8080', client_id='my-id', client_secret='***')
>>> client.close()
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import math
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import IncompleteRead as Urllib3IncompleteRead
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from bspandas._exceptions import (
    APIError,
    AuthenticationError,
    BackstoryError,
    BadRequestError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    TruncatedResponseError,
)
from bspandas._http.config import Credentials, resolve_credentials
from bspandas._http.pacer import Pacer
from bspandas._http.wire import EXPORT_PATH, SANDBOX_BUDGET_HEADER, TOKEN_PATH
from bspandas._messages import redact, register_secret, robust_repr

__all__ = ["Body", "Client", "RetryPolicy", "connect", "default_client", "set_default_client"]

log = logging.getLogger("bspandas")

CHUNK = 1 << 20

#: Export requests per hour a client paces itself to (the Query API's budget).
DEFAULT_HOURLY_BUDGET = 100
#: What "unlimited" paces to.
UNLIMITED_BUDGET = 1 << 30
#: Default bound, in seconds, of one export call (retries and all).
DEFAULT_DEADLINE = 900.0
#: Default cap on the decoded size of one answer (a decompression bomb stops here).
MAX_ANSWER_BYTES = 4 << 30
#: How much of an error answer is read (the rest is dropped with the connection).
ERROR_BODY_BYTES = 4096
#: How much of a token answer is read at most.
TOKEN_ANSWER_BYTES = 64 * 1024
#: The range a token lifetime (``expires_in``) is clamped to, in seconds.
TOKEN_LIFETIME_RANGE = (1.0, 86_400.0)
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/x-csv", "text/comma-separated-values"})
ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
ACCEPT_ENCODING = "gzip, deflate"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token
_HOST_SHAPE = re.compile(r"[A-Za-z0-9.\-_:\[\]]{1,255}")
_BREAKS = (ProtocolError, Urllib3HTTPError, OSError, http.client.HTTPException)
#: Failures of sending a request that another attempt may not meet.
_RETRIED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    Urllib3HTTPError,
    OSError,
)
_REQUEST_ERRORS = (requests.RequestException, Urllib3HTTPError, OSError, ValueError)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, exponential backoff with jitter, and a total time bound.

    The delay before attempt ``n + 1`` is ``min(max_backoff, backoff * 2 ** (n - 1))`` with
    +/- ``jitter`` (a fraction), or the server's ``Retry-After`` when it sends one.
    """

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_time: float = 600.0
    jitter: float = 0.25
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return max(0.0, float(base * (1 + rng.uniform(-self.jitter, self.jitter))))


# -- the deadline ------------------------------------------------------------------------------

_current = threading.local()  # the deadline of the request this thread is sending


class _Deadline:
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
        _shutdown(connection)

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
            _shutdown(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._connections.clear()
        if self._timer is not None:
            self._timer.cancel()

    def error(self, attempts: _Attempts | None = None, detail: str = "") -> TransportError:
        tried = f" ({attempts.summary()})" if attempts is not None and attempts.failures else ""
        return TransportError(
            f"The export did not finish within the client's deadline of {self.seconds:g} s"
            f"{detail}{tried}. The server may be overloaded or sending the answer a trickle at "
            "a time. Narrow the query with a filter, or raise Client(deadline=...) for exports "
            "that legitimately take longer."
        )


def _shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return


class _WatchedHTTPConnection(HTTPConnection):
    """Registers itself with the sending thread's deadline, so that headers trickled one
    byte at a time cannot outlive it either."""

    _bspandas_deadline: _Deadline | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_current, "deadline", None)
        self._bspandas_deadline = deadline
        if deadline is not None:
            deadline.watch(self)
        super().request(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        deadline = self._bspandas_deadline
        if deadline is not None and deadline.fired:
            _shutdown(self)


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


# -- the body ----------------------------------------------------------------------------------


class _Inflater:
    """Decodes gzip/deflate in bounded steps and counts the decoded bytes against a cap."""

    def __init__(self, encoding: str, limit: int, piece: int = CHUNK) -> None:
        self.encoding = "" if encoding == "identity" else encoding
        self.limit = limit
        self.piece = piece
        self.total = 0
        self._input = 0
        self._head = b""  # deflate: the first bytes, to tell zlib from raw deflate
        self._z: Any = None
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _count(self, size: int) -> None:
        self.total += size
        if self.total > self.limit:
            what = "decoded answer" if self.encoding else "answer"
            raise ResponseError(
                f"The {what} passed {self.limit:,} bytes (max_answer_bytes). A compressed "
                "answer that grows this much is a decompression bomb or a broken proxy; a real "
                "export this large should be narrowed with a filter, or read with a higher "
                "Client(max_answer_bytes=...)."
            )

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._input += len(data)
        if not self.encoding:
            self._count(len(data))
            yield data
            return
        if self._z is None:  # deflate: zlib-wrapped (RFC 1950) or, from some servers, raw
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        yield from self._inflate(data)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out: bytes | None = self._z.decompress(data, self.piece)
            except zlib.error:
                out = None
            if out is None:
                raise ResponseError(
                    f"The answer's {self.encoding} encoding is corrupt after {self.total:,} "
                    "decoded bytes. A proxy may be damaging it; try again later."
                )
            data = self._z.unconsumed_tail
            if out:
                self._count(len(out))
                yield out
            if self._z.eof:
                rest = self._z.unused_data
                if not rest or self.encoding == "deflate":
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = rest

    @property
    def ended(self) -> bool:
        """True when the data was compressed and its stream reached its end marker."""
        return bool(self.encoding) and self._z is not None and bool(self._z.eof)

    def finish(self) -> Iterator[bytes]:
        if self._head:
            data, self._head = self._head, b""
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self._inflate(data)
        if self.encoding and self._input and (self._z is None or not self._z.eof):
            raise TruncatedResponseError(
                f"The answer's {self.encoding} stream stopped before its end after "
                f"{self._input:,} compressed bytes: the answer was cut short."
            )


class Body:
    """The streamed answer: iterate it for decoded byte chunks.

    How an iteration ends is the contract with the parser and the reader:

    * normally, :attr:`terminated` True: the framing proved the answer complete (the
      terminating chunk of a chunked answer arrived, or every byte of its Content-Length);
    * normally, :attr:`terminated` False: a chunked answer stopped cleanly at a chunk
      boundary without its terminating chunk (the Query API does this to complete answers),
      or an answer without any framing ended with its connection. Only such an answer may be
      accepted when it ends at a row boundary, and a whole read re-reads to confirm it;
    * :class:`TruncatedResponseError`: the framing proves bytes are missing (fewer than the
      Content-Length, a chunk shorter than its announced size, a compressed stream cut
      before its end). Never a complete answer: :meth:`Client.export` retries it;
    * :class:`TransportError`: the connection broke or stalled past the read timeout, or the
      client's deadline passed (retried while the deadline allows);
    * :class:`ResponseError`: the decoded answer passed ``max_answer_bytes`` or its
      compression is corrupt (not retried).
    """

    def __init__(
        self,
        response: requests.Response,
        chunk_size: int = CHUNK,
        *,
        deadline: _Deadline | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
        read_timeout: float | None = None,
    ) -> None:
        self._response = response
        self._chunk_size = chunk_size
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._read_timeout = read_timeout
        self.terminated = False
        #: Decoded bytes handed on so far.
        self.bytes_read = 0
        #: Bytes received on the wire so far (compressed, if the answer is).
        self.wire_bytes = 0
        self.status = response.status_code
        self.headers = response.headers
        self.encoding = _content_encoding(response)
        raw = response.raw
        length = _content_length(response)
        if getattr(raw, "chunked", False):
            self.framing = "chunked"
        elif length is not None:
            self.framing = "length"
        else:
            self.framing = "close"
        #: The decoded size, when the headers tell it (for progress bars).
        self.length = length if self.framing == "length" and not self.encoding else None

    def __iter__(self) -> Iterator[bytes]:
        inflater = _Inflater(self.encoding, self._max_bytes)
        chunks = self._response.raw.stream(self._chunk_size, decode_content=False)
        problem: BackstoryError | None = None
        framed_end = False
        while True:
            try:
                data = next(chunks, None)
            except _BREAKS as exc:
                problem = self._broken(exc)
                break
            if data is None:
                framed_end = True
                break
            self.wire_bytes += len(data)
            if self._deadline is not None and self._deadline.expired():
                problem = self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
                break
            for piece in inflater.feed(data):
                self.bytes_read += len(piece)
                yield piece
        if problem is None and self._deadline is not None and self._deadline.expired():
            # the deadline's timer shut the socket: an end that looks clean is not
            problem = self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
        if problem is not None:
            raise problem
        for piece in inflater.finish():
            self.bytes_read += len(piece)
            yield piece
        # a compressed stream that reached its own end (gzip's CRC and size trailer, the
        # deflate final block) proves the payload whole, terminating chunk or not: no
        # second full export is needed to confirm it
        self.terminated = (framed_end and self.framing != "close") or inflater.ended
        if not self.terminated:
            log.debug("answer ended without proof of completeness after %d bytes", self.wire_bytes)

    def _broken(self, exc: BaseException) -> BackstoryError | None:
        """What a break of the stream means; ``None``: it ended without its terminating chunk."""
        where = f"after {self.wire_bytes:,} bytes of the answer"
        if self._deadline is not None and self._deadline.expired():
            return self._deadline.error(detail=f" ({self.wire_bytes:,} bytes had arrived)")
        kind = _break_kind(exc)
        if kind == "unterminated" and self.framing == "chunked":
            return None
        if kind == "timeout":
            waited = f" for {self._read_timeout:g} s" if self._read_timeout else ""
            return _TimedOutError(f"The answer stalled {where}: no byte arrived{waited}.")
        if kind == "short":
            how = (
                f"fewer bytes than its Content-Length ({self.length or '?'})"
                if self.framing == "length"
                else "a chunk shorter than its announced size"
            )
            return TruncatedResponseError(
                f"The answer was cut short {where}: the connection delivered {how}. It is "
                "never used as a complete answer. Read again (without chunksize= bspandas "
                "retries automatically)."
            )
        if kind == "reset":
            return TransportError(f"The connection was reset {where}.")
        return TransportError(
            f"The connection broke {where} ({redact(f'{type(exc).__name__}: {exc}')[:300]})."
        )


class _TimedOutError(TransportError):
    """A timeout (internal: the final error says so in its message)."""


def _what(error: BaseException) -> str:
    return "timeout" if isinstance(error, _TimedOutError) else type(error).__name__


class _UnsendableError(TransportError):
    """A request that cannot be sent at all (internal: not retried)."""


def _break_kind(exc: BaseException) -> str:
    """``timeout``, ``reset``, ``short`` (framing proves bytes missing), ``unterminated``
    (a clean end where the next chunk size belonged) or ``broken``."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    short = False
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ReadTimeoutError | TimeoutError):
            return "timeout"
        if isinstance(error, ConnectionResetError | BrokenPipeError):
            return "reset"
        if isinstance(error, http.client.IncompleteRead | Urllib3IncompleteRead):
            short = True
        stack.extend(a for a in error.args if isinstance(a, BaseException))
        stack.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    if short:
        return "short"
    text = str(exc).lower()
    if "ended prematurely" in text:
        return "unterminated"
    if "reset" in text:
        return "reset"
    return "broken"


def _content_encoding(response: requests.Response) -> str:
    value = response.headers.get("Content-Encoding", "").strip().lower()
    return "" if value == "identity" else value


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def _read_capped(response: requests.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the (decoded) body; never the whole of a huge answer."""
    content = getattr(response, "_content", False)
    if content is not False:  # a transport that read the body already
        return bytes(content or b"")[:limit]
    raw = response.raw
    encoding = _content_encoding(response)
    if raw is None or encoding not in ENCODINGS:
        return b""
    try:
        data = raw.read(limit, decode_content=False)
    except _BREAKS:
        return b""
    if not isinstance(data, bytes):
        return b""
    out = bytearray()
    inflater = _Inflater(encoding, limit + CHUNK, piece=limit + 1)
    try:
        for piece in inflater.feed(data):
            out += piece
            if len(out) > limit:
                break
    except ResponseError:
        pass
    return bytes(out[:limit])


def _short_body(response: requests.Response) -> str:
    return _read_capped(response, ERROR_BODY_BYTES).decode("utf-8", errors="replace")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _location(response: requests.Response) -> str:
    """Where a redirect points, by scheme and host only (a query string may hold secrets)."""
    location = response.headers.get("Location", "").strip()
    if not location:
        return "no Location at all"
    try:
        parts = urlsplit(location)
        host = parts.hostname
    except ValueError:
        return "an unreadable location"
    if not parts.netloc:
        return "another path on the same host"
    if host is None or not _HOST_SHAPE.fullmatch(host):
        return "an unreadable location"
    scheme = parts.scheme.lower() if parts.scheme.lower() in ("http", "https") else "?"
    return f"host {host!r} ({scheme})"


def _redirect_error(response: requests.Response, doing: str, base_url: str) -> APIError:
    return APIError(
        f"The server answered with a redirect to {_location(response)} while {doing}. "
        "bspandas never follows redirects, so the client secret and the token cannot be sent "
        f"to another host or over plain http. Check the base URL ({base_url}); if the "
        "redirect's host is the Query API you trust, use it as the base URL.",
        status=response.status_code,
    )


def _answer_problem(response: requests.Response) -> ResponseError | None:
    """Why a 200 export answer cannot be CSV, or ``None``."""
    given = response.headers.get("Content-Type", "")
    kind = given.split(";", 1)[0].strip().lower()
    encoding = _content_encoding(response)
    if kind in CSV_TYPES and encoding in ENCODINGS:
        return None
    shown = repr(given[:100]) if given else "none"
    if kind in CSV_TYPES:
        return ResponseError(
            f"The answer is compressed with {encoding[:40]!r}, which bspandas does not decode "
            f"(it asks for {ACCEPT_ENCODING}). A proxy may be re-encoding it; try without it."
        )
    start = redact(" ".join(_short_body(response)[:200].split()))
    began = f" It began: {start[:200]!r}." if start else ""
    return ResponseError(
        f"The export answered 200 with Content-Type {shown}, not CSV (expected text/csv), so "
        f"no rows were read.{began} A login page or proxy may be answering instead of the Query "
        "API: check the base URL and the network (a captive portal, a VPN)."
    )


def _transport_error(exc: BaseException, doing: str) -> TransportError:
    """A requests/urllib3/socket failure as a bspandas error, with nothing attached."""
    detail = redact(f"{type(exc).__name__}: {exc}")[:400]
    if _break_kind(exc) == "timeout" or isinstance(exc, requests.Timeout):
        return _TimedOutError(f"No answer in time while {doing} ({detail}).")
    return TransportError(f"The connection failed while {doing} ({detail}).")


def _parse_token(data: bytes) -> tuple[str, float] | str:
    """The bearer token and its lifetime from a token answer, or what is wrong with it
    (never containing the answer)."""
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        return "with something that is not JSON"
    if not isinstance(answer, dict):
        return "with JSON that is not an object"
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        return "without an access_token"
    if not 8 <= len(token) <= 8192 or not _TOKEN_SHAPE.fullmatch(token):
        return "with an access_token that is not a plausible bearer token"
    lifetime: Any = answer.get("expires_in", 3600)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float | str):
        return "with an expires_in that is not a number"
    try:
        seconds = float(lifetime)
    except (ValueError, OverflowError):
        return "with an expires_in that is not a number"
    if not math.isfinite(seconds) or seconds <= 0:
        return "with an expires_in that is not a positive number of seconds"
    low, high = TOKEN_LIFETIME_RANGE
    return token, min(max(seconds, low), high)


class _Redacted(str):
    """A secret value (the client secret, a bearer header) whose repr hides it, so that a
    traceback formatted with its frames' locals cannot show it."""

    __slots__ = ()

    @robust_repr
    def __repr__(self) -> str:
        return "'***'"


class _Failure(NamedTuple):
    error: BackstoryError
    what: str
    retry: bool = True


class Client:
    """A connection to the Backstory Query API (or a local sandbox).

    Credentials come from the arguments, else ``BACKSTORY_CLIENT_ID`` /
    ``BACKSTORY_CLIENT_SECRET`` / ``BACKSTORY_BASE_URL``, else the config file (see
    :mod:`bspandas._http.config`). The secret and the bearer token stay in memory: they are never
    shown in a repr, a log line or an exception.

    ``deadline`` (seconds) bounds each export call, retries included, from its first
    request (a wait for the hourly budget before it does not count). ``clock`` and ``sleep``
    drive token expiry, backoff, the deadline and the default pacer (tests inject them);
    ``session`` replaces the HTTP transport. ``max_answer_bytes`` caps the decoded size of
    one answer.
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        base_url: str | None = None,
        *,
        config_file: str | Path | None = None,
        profile: str = "default",
        timeout: float | tuple[float, float] = (10.0, 600.0),
        retry: RetryPolicy | None = None,
        hourly_budget: int | None = None,
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
        token_margin: float = 60.0,
        deadline: float = DEFAULT_DEADLINE,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(client_secret, str):  # frames that raise below show it as '***'
            client_secret = _Redacted(client_secret)
        if isinstance(deadline, bool) or not (
            isinstance(deadline, int | float) and math.isfinite(deadline) and deadline > 0
        ):
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        if isinstance(max_answer_bytes, bool) or not (
            isinstance(max_answer_bytes, int) and max_answer_bytes > 0
        ):
            raise ValueError(f"max_answer_bytes must be a positive int, got {max_answer_bytes!r}")
        self._credentials: Credentials = resolve_credentials(
            client_id,
            client_secret,
            base_url,
            config_file=config_file,
            profile=profile,
            environ=environ,
        )
        self.timeout = timeout if isinstance(timeout, tuple) else (min(10.0, timeout), timeout)
        self.retry = retry or RetryPolicy()
        self.deadline = float(deadline)
        self.max_answer_bytes = max_answer_bytes
        self._clock = clock
        self._sleep: Callable[[float], None] = sleep
        #: Whether a sandbox's announced budget may replace the default one.
        self._budget_from_server = pacer is None and hourly_budget is None
        self.pacer = pacer or Pacer(
            DEFAULT_HOURLY_BUDGET if hourly_budget is None else hourly_budget,
            margin=1.0,
            clock=clock,
            sleep=sleep,
        )
        self.token_margin = token_margin
        self._session = session or self._new_session()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_generation = 0
        self._token_lock = threading.Lock()
        self._rng = random.Random()
        self._count_lock = threading.Lock()
        #: Number of HTTP requests this client sent (tokens and exports).
        self.requests_sent = 0

    @staticmethod
    def _new_session() -> requests.Session:
        from bspandas._version import __version__

        session = requests.Session()
        adapter = _Adapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = f"bspandas/{__version__}"
        return session

    @property
    def base_url(self) -> str:
        return self._credentials.base_url

    @property
    def client_id(self) -> str:
        return self._credentials.client_id

    @property
    def host(self) -> str:
        """The base URL (it never holds credentials: those are refused)."""
        return self.base_url

    @robust_repr
    def __repr__(self) -> str:
        return (
            f"Client(base_url={self.base_url!r}, client_id={self.client_id!r}, client_secret='***')"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # -- tokens ---------------------------------------------------------------------------
    # Frames that raise hold neither the secret nor a token in their locals (a traceback
    # formatted with capture_locals=True shows them): the form and the answer live in
    # _token_request, which returns an error instead of raising it.

    def _token_request(self, deadline: _Deadline) -> tuple[str, float] | BackstoryError:
        url = self.base_url + TOKEN_PATH
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": _Redacted(self._credentials.client_secret),
        }
        connect, read = self.timeout
        try:
            response = self._send(
                "POST",
                url,
                deadline=deadline,
                timeout=(connect, min(read, 60.0)),
                data=form,
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
            )
        except _REQUEST_ERRORS as exc:
            error = _transport_error(exc, "fetching a token")
            return error if isinstance(exc, _RETRIED) else _UnsendableError(str(error))
        with response:
            if deadline.expired():  # headers cut short by the deadline's timer
                return deadline.error(detail=" (while fetching a token)")
            status = response.status_code
            if 300 <= status < 400:
                return _redirect_error(response, "fetching a token", self.base_url)
            if status in (400, 401, 403):
                where = self._credentials.sources
                return AuthenticationError(
                    "The Query API refused the client credentials (client id from "
                    f"{where.get('client_id', '?')}, secret from "
                    f"{where.get('client_secret', '?')}). Check them in the tenant's API Key "
                    "Management.",
                    status=status,
                    body=_short_body(response),
                )
            if status != 200:
                return _status_error(response, "fetching a token")
            self._adopt_budget(response.headers.get(SANDBOX_BUDGET_HEADER))
            answer = _read_capped(response, TOKEN_ANSWER_BYTES + 1)
        if deadline.expired():
            return deadline.error(detail=" (while fetching a token)")
        if len(answer) > TOKEN_ANSWER_BYTES:
            parsed: tuple[str, float] | str = "with more than 64 KiB"
        else:
            parsed = _parse_token(answer)
        if isinstance(parsed, str):
            return AuthenticationError(
                f"The token endpoint answered {parsed}, so no usable bearer token came back "
                "(the answer is not shown: it may hold one). Check that the base URL points at "
                "the Query API and not at a proxy or login page, then try again.",
                status=200,
            )
        return parsed

    def _adopt_budget(self, announced: str | None) -> None:
        """Pace to the budget a bspandas sandbox announces (``"N;window=W"``), unless this
        client was given ``hourly_budget=`` or its own pacer. The Query API announces none."""
        if not announced or not self._budget_from_server:
            return
        count, _, window = announced.partition(";window=")
        try:
            budget, seconds = int(count), float(window or 3600)
        except ValueError:
            return
        if budget < 0 or not math.isfinite(seconds) or seconds <= 0:
            return
        with self.pacer._lock:
            self.pacer.budget = budget if budget else UNLIMITED_BUDGET
            self.pacer.window = seconds

    def _fetch_token(self, deadline: _Deadline) -> None:
        outcome = self._token_request(deadline)
        if isinstance(outcome, BackstoryError):
            raise outcome
        register_secret(outcome[0])
        margin = min(self.token_margin, outcome[1] * 0.1)
        self._token = _Redacted(outcome[0])
        self._token_expires = self._clock() + outcome[1] - margin
        self._token_generation += 1
        log.debug("fetched a bearer token valid for %.0f s", outcome[1])

    def _bearer(self, deadline: _Deadline) -> tuple[str, int]:
        """The ``Authorization`` header value and the token's generation; one thread fetches
        a new token when it expired, the others wait for it (within their deadline)."""
        if not self._token_lock.acquire(timeout=max(0.001, deadline.remaining())):
            raise deadline.error(detail=" (waiting for another thread's token request)")
        try:
            if self._token is None or self._clock() >= self._token_expires:
                self._fetch_token(deadline)
            if self._token is None:  # pragma: no cover - _fetch_token sets it or raises
                raise AuthenticationError("No bearer token is available.")
            return _Redacted("Bearer " + self._token), self._token_generation
        finally:
            self._token_lock.release()

    def _forget_token(self, generation: int) -> None:
        """Drop the token refused with a 401, unless another thread already replaced it."""
        with self._token_lock:
            if self._token_generation == generation:
                self._token = None

    # -- requests --------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, deadline: _Deadline, timeout: tuple[float, float], **kw: Any
    ) -> requests.Response:
        with self._count_lock:
            self.requests_sent += 1
        log.debug("%s %s", method, url)
        _current.deadline = deadline
        try:
            response = self._session.request(
                method,
                url,
                timeout=deadline.timeouts(*timeout),
                allow_redirects=False,
                stream=True,
                **kw,
            )
        finally:
            _current.deadline = None
        deadline.watch(getattr(response.raw, "connection", None))
        return response

    def _post_export(
        self, payload: Mapping[str, Any], deadline: _Deadline
    ) -> tuple[requests.Response, int] | _Failure:
        """One export attempt up to its headers (paced; the token fetched if needed)."""
        left = deadline.remaining() if deadline.started else None
        why = f"the read's deadline ({left:.0f} s left)" if left is not None else ""
        self.pacer.acquire(left, why=why)
        deadline.start()
        try:
            authorization, generation = self._bearer(deadline)
        except _UnsendableError as exc:
            return _Failure(exc, "token request", retry=False)
        except _TimedOutError as exc:
            return _Failure(exc, "token request timed out")
        except TransportError as exc:
            return _Failure(exc, "token request failed")
        try:
            response = self._send(
                "POST",
                self.base_url + EXPORT_PATH,
                deadline=deadline,
                timeout=self.timeout,
                json=dict(payload),
                headers={"Authorization": authorization, "Accept-Encoding": ACCEPT_ENCODING},
            )
        except _REQUEST_ERRORS as exc:
            error = _transport_error(exc, "exporting")
            return _Failure(error, type(exc).__name__, retry=isinstance(exc, _RETRIED))
        if deadline.expired():  # headers cut short by the deadline's timer
            response.close()
            return _Failure(deadline.error(), "deadline")
        return response, generation

    def _open(
        self, payload: Mapping[str, Any], attempts: _Attempts, deadline: _Deadline
    ) -> requests.Response:
        """POST the export and return the 200 CSV response (headers read, body not yet)."""
        replayed = False
        while True:
            if deadline.expired():
                raise deadline.error(attempts)
            outcome = self._post_export(payload, deadline)
            if isinstance(outcome, _Failure):
                if deadline.expired():
                    raise deadline.error(attempts)
                if not outcome.retry:
                    raise TransportError(str(outcome.error))
                attempts.failed(outcome.error, outcome.what)
                continue
            response, generation = outcome
            status = response.status_code
            if status == 200:
                problem = _answer_problem(response)
                if problem is None:
                    return response
                response.close()
                raise problem
            if 300 <= status < 400:
                redirect = _redirect_error(response, "exporting", self.base_url)
                response.close()
                raise redirect
            error = _status_error(response, "exporting")
            wait = _retry_after(response)
            response.close()
            if status == 500 and isinstance(error, ServerError):
                reason = deterministic_500(payload) or attempts.repeated(error.body)
                if reason is not None:
                    raise ServerError(
                        f"The Query API failed while exporting and {reason}; the field "
                        "record says such a 500 does not change on retry, so it was not "
                        f"retried (after {len(attempts.failures) + 1} attempt(s)), to save "
                        "the hourly budget. Check the filter (read_query builds one that "
                        "never has this shape), or try again later if the query is plain.",
                        status=status,
                        body=error.body,
                    )
            if status == 429 and wait is None:
                # no Retry-After: the budget is a rolling hour, so the next request fits no
                # sooner than the pacer's oldest recorded request leaves the window
                slot = self.pacer.next_slot()
                wait = max(slot, self.retry.delay(len(attempts.failures) + 1, self._rng))
            if status == 401 and not replayed:
                replayed = True
                self._forget_token(generation)
                log.debug("401 on export: fetching a new token and replaying once")
                continue
            if status not in self.retry.statuses:
                raise error
            attempts.failed(error, str(status), wait)

    def _body(self, response: requests.Response, deadline: _Deadline) -> Body:
        return Body(
            response,
            deadline=deadline,
            max_bytes=self.max_answer_bytes,
            read_timeout=self.timeout[1],
        )

    def _consume(
        self, response: requests.Response, consume: Callable[[Body], T], deadline: _Deadline
    ) -> tuple[T] | _Failure:
        with response:
            try:
                return (consume(self._body(response, deadline)),)
            except (TruncatedResponseError, TransportError) as exc:
                failure = _Failure(exc, _what(exc))
        return failure

    def export(self, payload: Mapping[str, Any], consume: Callable[[Body], T]) -> T:
        """POST the export request and hand the streamed answer to ``consume``.

        Retries, within :attr:`retry` and the deadline, on 429/5xx, connection errors,
        timeouts and answers ``consume`` rejects with :class:`TruncatedResponseError` (or a
        broken connection); replays once on 401 with a fresh token. Then raises the library
        error that says what happened and what to do.
        """
        deadline = _Deadline(self.deadline, self._clock)
        attempts = _Attempts(self.retry, self._sleep, self._rng, self._clock, deadline)
        try:
            while True:
                response = self._open(payload, attempts, deadline)
                outcome = self._consume(response, consume, deadline)
                if not isinstance(outcome, _Failure):
                    return outcome[0]
                if deadline.expired():
                    raise deadline.error(attempts)
                attempts.failed(outcome.error, outcome.what)
        finally:
            deadline.close()

    @contextmanager
    def stream(self, payload: Mapping[str, Any]) -> Iterator[Body]:
        """The answer as a :class:`Body`, retried on status and connection errors only
        (for consumers that hand rows on as they arrive and so cannot start over). The
        deadline covers the whole iteration, the consumer's own time included."""
        deadline = _Deadline(self.deadline, self._clock)
        attempts = _Attempts(self.retry, self._sleep, self._rng, self._clock, deadline)
        try:
            response = self._open(payload, attempts, deadline)
            with response:
                yield self._body(response, deadline)
        finally:
            deadline.close()


class _Attempts:
    """Counts attempts and time; sleeps between them; raises the final error when done."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        rng: random.Random,
        clock: Callable[[], float],
        deadline: _Deadline,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.rng = rng
        self.clock = clock
        self.deadline = deadline
        self.started = clock()
        self.failures: list[str] = []
        self._last_500: str | None = None

    def repeated(self, body: str | None) -> str | None:
        """Why a 500 is deterministic: the same body as the 500 just before (None: not)."""
        previous, self._last_500 = self._last_500, body
        if body and previous == body:
            return "answered the same 500 body twice in a row"
        return None

    def summary(self) -> str:
        elapsed = self.clock() - self.started
        return f"{len(self.failures)} failed attempt(s) over {elapsed:.0f} s: " + ", ".join(
            self.failures
        )

    def failed(self, error: BackstoryError, what: str, wait: float | None = None) -> None:
        self.failures.append(what)
        count = len(self.failures)
        elapsed = self.clock() - self.started
        if count >= self.policy.attempts:
            raise _final_error(error, self.failures, elapsed)
        delay = self.policy.delay(count, self.rng) if wait is None else wait
        if elapsed + delay > self.policy.max_time:
            raise _final_error(error, self.failures, elapsed, (delay, "the retry time limit"))
        left = self.deadline.remaining()
        if delay >= left:
            limit = f"the deadline ({max(0.0, left):.0f} s left of {self.deadline.seconds:g} s)"
            raise _final_error(error, self.failures, elapsed, (delay, limit))
        log.debug("attempt %d failed (%s); retrying in %.2f s", count, what, delay)
        self.sleep(delay)


def deterministic_500(payload: Mapping[str, Any]) -> str | None:
    """Why the field record says the live service answers this export 500 on every try
    (``None``: nothing known): an attribute given as a bare string, or two leaves on one
    attribute inside one ``$and`` (spec section 2)."""
    stack: list[Any] = [payload.get("filter")]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        if isinstance(node.get("attribute"), str):
            return f"its filter gives the attribute {node['attribute']!r} as a bare string"
        for key in ("$and", "$or"):
            children = node.get(key)
            if not isinstance(children, list):
                continue
            stack.extend(children)
            if key != "$and":
                continue
            seen: set[tuple[Any, Any]] = set()
            for child in children:
                attribute = child.get("attribute") if isinstance(child, Mapping) else None
                if not isinstance(attribute, Mapping):
                    continue
                attr_key = (str(attribute.get("slug")), str(attribute.get("variation_id")))
                if attr_key in seen:
                    return (
                        f"its filter has two leaves on {attr_key[0]} inside one $and "
                        "(merge them into one clause)"
                    )
                seen.add(attr_key)
    return None


def _status_error(response: requests.Response, doing: str) -> APIError:
    status = response.status_code
    body = _short_body(response)
    if status in (401, 403):
        return AuthenticationError(
            f"The token was refused while {doing}. The API key may have been revoked.",
            status=status,
            body=body,
        )
    if status == 400:
        return BadRequestError(
            f"The Query API refused the request while {doing}. The filter or a value type is "
            "probably wrong (dates must be epoch milliseconds, ids integers); check the query "
            "with dry_run=True.",
            status=status,
            body=body,
        )
    if status == 413:
        return BadRequestError(
            f"The request was too large for the Query API while {doing} (often a huge $in "
            "list). Split the query, or use df.backstory.fetch(), which sends ids in chunks.",
            status=status,
            body=body,
        )
    if status == 429:
        return RateLimitError(
            "Too many requests: the Query API allows about 100 requests per hour per client.",
            status=status,
            body=body,
        )
    if status >= 500:
        return ServerError(f"The Query API failed while {doing}.", status=status, body=body)
    return APIError(f"Unexpected answer while {doing}.", status=status, body=body)


def _final_error(
    last: BaseException,
    failures: list[str],
    elapsed: float,
    stopped_early: tuple[float, str] | None = None,
) -> BackstoryError:
    tried = f"{len(failures)} attempt(s) over {elapsed:.0f} s ({', '.join(failures)})"
    if stopped_early is not None:
        tried += f"; the next wait ({stopped_early[0]:.0f} s) would pass {stopped_early[1]}"
    if isinstance(last, RateLimitError):
        return RateLimitError(
            f"Still rate limited after {tried}. The budget is about 100 requests per hour per "
            "client on a rolling window, so a retry within seconds meets the same full window: "
            "try again once the wait above has passed (or raise the retry policy's max_time "
            "and the deadline to let bspandas wait); lower hourly_budget= if other programs "
            "share these credentials.",
            status=last.status,
            body=last.body,
        )
    if isinstance(last, ServerError):
        return ServerError(
            f"The Query API kept failing: {tried}. It may be overloaded or down; try again "
            "later, and contact Backstory support if it persists.",
            status=last.status,
            body=last.body,
        )
    if isinstance(last, TruncatedResponseError):
        return TruncatedResponseError(
            f"Every answer was cut short: {tried}. No partial frame was returned. Large "
            "unfiltered exports are cut more often: narrow the query with a filter, or retry later."
        )
    if isinstance(last, _TimedOutError):
        return TransportError(
            f"The Query API did not answer in time: {tried}. Unfiltered exports of large "
            "objects take minutes; raise the read timeout (timeout=(10, 1200)) or filter."
        )
    if isinstance(last, APIError):
        return type(last)(f"Giving up after {tried}: {last}", status=last.status)
    return TransportError(
        f"Could not complete the export: {tried}. Last problem: {last}. Check the network "
        "and the base URL."
    )


# -- the default client -------------------------------------------------------------------------

_default: Client | None = None
_default_lock = threading.Lock()


def set_default_client(client: Client | None) -> None:
    """Make ``client`` the one used when ``read_query`` gets no ``client=``."""
    global _default
    with _default_lock:
        _default = client


def default_client() -> Client:
    """The default client: the one given to :func:`connect`, else one built from the
    environment / config file (raising :class:`MissingCredentialsError` listing the places)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def connect(
    client_id: str | None = None,
    client_secret: str | None = None,
    base_url: str | None = None,
    **options: Any,
) -> Client:
    """Create a :class:`Client` and make it the default for ``read_query``.

    >>> import bspandas as bs
    >>> client = bs.connect("id", "secret", "http://localhost:9999")
    >>> bs.default_client() is client
    True
    >>> bs.set_default_client(None); client.close()
    """
    client = Client(client_id, client_secret, base_url, **options)
    set_default_client(client)
    return client
