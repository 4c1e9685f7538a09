"""The HTTP client: credentials, bearer tokens, pacing, retries and the streamed export call.

The client knows nothing about dtypes: it hands the answer's byte stream (a :class:`Body`)
to a consumer (the parser) and retries the whole request, within bounds, when the status,
the connection or the consumer says the answer is unusable.

>>> client = Client("my-id", "my-secret", "http://127.0.0.1:8080")
>>> client
Client(base_url='http://127.0.0.1:8080', client_id='my-id', client_secret='***')
>>> client.close()
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from bspandas.config import Credentials, resolve_credentials
from bspandas.errors import (
    APIError,
    AuthenticationError,
    BackstoryError,
    BadRequestError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    TruncatedResponseError,
    redact,
    register_secret,
)
from bspandas.pacer import Pacer

__all__ = ["Body", "Client", "RetryPolicy", "connect", "default_client", "set_default_client"]

log = logging.getLogger("bspandas")

TOKEN_PATH = "/v3/auth/tokens"
EXPORT_PATH = "/v3/beta/insights/export"
CHUNK = 1 << 20
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


class Body:
    """The streamed answer: iterate it for byte chunks; afterwards :attr:`terminated`
    tells whether the stream ended properly (the terminating chunk arrived)."""

    def __init__(self, response: requests.Response, chunk_size: int = CHUNK) -> None:
        self._response = response
        self._chunk_size = chunk_size
        self.terminated = False
        self.bytes_read = 0
        self.status = response.status_code
        self.headers = response.headers
        length = response.headers.get("Content-Length")
        self.length = int(length) if length and length.isdigit() else None

    def __iter__(self) -> Iterator[bytes]:
        raw = self._response.raw
        try:
            for chunk in raw.stream(self._chunk_size, decode_content=True):
                if chunk:
                    self.bytes_read += len(chunk)
                    yield chunk
        except (ProtocolError, Urllib3HTTPError, OSError) as exc:
            if _is_reset(exc) or isinstance(exc, ReadTimeoutError):
                raise TransportError(
                    f"The connection broke after {self.bytes_read} bytes of the answer "
                    f"({type(exc).__name__}: {exc})."
                ) from None
            log.debug("answer ended without its terminating chunk after %d bytes", self.bytes_read)
            return
        self.terminated = True


def _is_reset(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError | BrokenPipeError):
            return True
        if any(isinstance(a, ConnectionResetError | BrokenPipeError) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return "reset" in str(exc).lower()


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


def _short_body(response: requests.Response) -> str:
    try:
        return response.text[:2000]
    except (requests.RequestException, UnicodeDecodeError):
        return ""


class Client:
    """A connection to the Backstory Query API (or a local sandbox).

    Credentials come from the arguments, else ``BACKSTORY_CLIENT_ID`` /
    ``BACKSTORY_CLIENT_SECRET`` / ``BACKSTORY_BASE_URL``, else the config file (see
    :mod:`bspandas.config`). The secret and the bearer token stay in memory: they are never
    shown in a repr, a log line or an exception.
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
        hourly_budget: int = 100,
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
        token_margin: float = 60.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
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
        self.pacer = pacer or Pacer(hourly_budget)
        self.token_margin = token_margin
        self._session = session or self._new_session()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._rng = random.Random()
        #: Number of HTTP requests this client sent (tokens and exports).
        self.requests_sent = 0
        self._sleep: Callable[[float], None] = time.sleep

    @staticmethod
    def _new_session() -> requests.Session:
        from bspandas import __version__

        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
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
        """The base URL without credentials (what goes into ``df.attrs``)."""
        return self.base_url

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

    def _fetch_token(self) -> None:
        url = self.base_url + TOKEN_PATH
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._credentials.client_secret,
        }
        response = self._send("POST", url, data=form)
        with response:
            if response.status_code in (400, 401, 403):
                where = self._credentials.sources
                raise AuthenticationError(
                    "The Query API refused the client credentials (client id from "
                    f"{where.get('client_id', '?')}, secret from "
                    f"{where.get('client_secret', '?')}). Check them in the tenant's API Key "
                    "Management.",
                    status=response.status_code,
                    body=_short_body(response),
                )
            if response.status_code != 200:
                raise _status_error(response, "fetching a token")
            try:
                data = response.json()
                token = str(data["access_token"])
                lifetime = float(data.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                raise ResponseError(
                    "The token endpoint answered without a usable access_token."
                ) from None
        register_secret(token)
        margin = min(self.token_margin, lifetime * 0.1)
        self._token = token
        self._token_expires = time.monotonic() + lifetime - margin
        log.debug("fetched a bearer token valid for %.0f s", lifetime)

    def _bearer(self) -> str:
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _forget_token(self) -> None:
        with self._token_lock:
            self._token = None

    # -- requests --------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.pacer.acquire()
        self.requests_sent += 1
        log.debug("%s %s", method, url)
        return self._session.request(method, url, timeout=self.timeout, **kwargs)

    def _open(self, payload: Mapping[str, Any], attempts: _Attempts) -> requests.Response:
        """POST the export and return the 200 response (headers read, body not yet)."""
        url = self.base_url + EXPORT_PATH
        replayed = False
        while True:
            try:
                token = self._bearer()
                response = self._send(
                    "POST",
                    url,
                    json=dict(payload),
                    headers={"Authorization": f"Bearer {token}"},
                    stream=True,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                attempts.failed(exc, type(exc).__name__)
                continue
            status = response.status_code
            if status == 200:
                return response
            error = _status_error(response, "exporting")
            wait = _retry_after(response)
            response.close()
            if status == 401 and not replayed:
                replayed = True
                self._forget_token()
                log.debug("401 on export: fetching a new token and replaying once")
                continue
            if status not in self.retry.statuses:
                raise error
            attempts.failed(error, str(status), wait)

    def export(self, payload: Mapping[str, Any], consume: Callable[[Body], T]) -> T:
        """POST the export request and hand the streamed answer to ``consume``.

        Retries, within :attr:`retry`, on 429/5xx, connection errors, timeouts and answers
        ``consume`` rejects with :class:`TruncatedResponseError` (or a broken connection);
        replays once on 401 with a fresh token. Then raises the library error that says what
        happened and what to do.
        """
        attempts = _Attempts(self.retry, self._sleep, self._rng)
        while True:
            response = self._open(payload, attempts)
            with response:
                try:
                    return consume(Body(response))
                except (TruncatedResponseError, TransportError) as exc:
                    failure = exc
            attempts.failed(failure, type(failure).__name__)

    @contextmanager
    def stream(self, payload: Mapping[str, Any]) -> Iterator[Body]:
        """The answer as a :class:`Body`, retried on status and connection errors only
        (for consumers that hand rows on as they arrive and so cannot start over)."""
        attempts = _Attempts(self.retry, self._sleep, self._rng)
        response = self._open(payload, attempts)
        with response:
            yield Body(response)


class _Attempts:
    """Counts attempts and time; sleeps between them; raises the final error when done."""

    def __init__(
        self, policy: RetryPolicy, sleep: Callable[[float], None], rng: random.Random
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.rng = rng
        self.started = time.monotonic()
        self.failures: list[str] = []

    def failed(self, error: BaseException, what: str, wait: float | None = None) -> None:
        self.failures.append(what)
        count = len(self.failures)
        elapsed = time.monotonic() - self.started
        if count >= self.policy.attempts:
            raise _final_error(error, self.failures, elapsed)
        delay = self.policy.delay(count, self.rng) if wait is None else wait
        if elapsed + delay > self.policy.max_time:
            raise _final_error(error, self.failures, elapsed, stopped_early=delay)
        log.debug("attempt %d failed (%s); retrying in %.2f s", count, what, delay)
        self.sleep(delay)


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
    last: BaseException, failures: list[str], elapsed: float, stopped_early: float | None = None
) -> BackstoryError:
    tried = f"{len(failures)} attempt(s) over {elapsed:.0f} s ({', '.join(failures)})"
    if stopped_early is not None:
        tried += f"; the next wait ({stopped_early:.0f} s) would pass the retry time limit"
    if isinstance(last, RateLimitError):
        return RateLimitError(
            f"Still rate limited after {tried}. The budget is about 100 requests per hour per "
            "client on a rolling window: wait a few minutes, then retry; lower hourly_budget= "
            "if other programs share these credentials.",
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
    if isinstance(last, requests.Timeout):
        return TransportError(
            f"The Query API did not answer in time: {tried}. Unfiltered exports of large "
            "objects take minutes; raise the read timeout (timeout=(10, 1200)) or filter."
        )
    detail = redact(f"{type(last).__name__}: {last}")
    return TransportError(
        f"Could not complete the export: {tried}. Last problem: {detail}. Check the network "
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
    >>> bs.client.default_client() is client
    True
    >>> bs.client.set_default_client(None); client.close()
    """
    client = Client(client_id, client_secret, base_url, **options)
    set_default_client(client)
    return client
