"""The Client: one connection to the Query API, the streamed export call and its flow.

The client knows nothing about dtypes: it hands the answer's byte stream (a
:class:`~bspandas._http.body.Body`) to a consumer (the parser) and retries the whole request,
within bounds, when the status, the connection or the consumer says the answer is unusable.
Which failures are retried, and for how long, is decided in :mod:`bspandas._http.retry`;
the rules it holds to on a hostile network are listed in :mod:`bspandas._http`.

>>> client = Client("my-id", "my-secret", "http://127.0.0.1:8080")
>>> client
Client(base_url='http://127.0.0.1:8080', client_id='my-id', client_secret='***')
>>> client.close()
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from bspandas._exceptions import TransportError, TruncatedResponseError
from bspandas._http.auth import Redacted, TokenHolder
from bspandas._http.body import MAX_ANSWER_BYTES, Body, TimedOutError, check_answer_cap
from bspandas._http.config import Credentials, resolve_credentials
from bspandas._http.deadline import DEFAULT_DEADLINE, Deadline, check_deadline, current
from bspandas._http.pacer import DEFAULT_HOURLY_BUDGET, Pacer
from bspandas._http.retry import Attempts, Failure, RetryPolicy, open_export
from bspandas._http.status import (
    ACCEPT_ENCODING,
    UnsendableError,
    what,
)
from bspandas._http.wire import EXPORT_PATH
from bspandas._messages import robust_repr

if TYPE_CHECKING:
    import requests

__all__ = ["Client"]

log = logging.getLogger("bspandas")

T = TypeVar("T")


class Client(TokenHolder):
    """A connection to the Backstory Query API (or a local sandbox).

    Credentials come from the arguments, else ``BACKSTORY_CLIENT_ID`` /
    ``BACKSTORY_CLIENT_SECRET`` / ``BACKSTORY_BASE_URL``, else the config file (see
    :mod:`bspandas._http.config`). The secret and the bearer token stay in memory: they are
    never shown in a repr, a log line or an exception. The client never follows a redirect,
    paces itself to the hourly budget, and retries an export within ``retry`` and
    ``deadline``.

    Parameters
    ----------
    client_id : str, optional
        The API key's client id (else ``BACKSTORY_CLIENT_ID``, else the config file).
    client_secret : str, optional
        The API key's secret (else ``BACKSTORY_CLIENT_SECRET``, else the config file).
    base_url : str, optional
        The Query API's address (else ``BACKSTORY_BASE_URL``, else the config file, else
        ``https://api.people.ai``). Plain ``http`` is refused except on loopback.
    config_file : str or Path, optional
        The TOML config file to read (default: ``BACKSTORY_CONFIG``, else
        ``~/.config/bspandas/config.toml``).
    profile : str, default "default"
        The table of the config file to read.
    timeout : float or (float, float), default (10.0, 600.0)
        Connect and read timeouts in seconds (one number: the read timeout).
    retry : RetryPolicy, optional
        How hard to try (default: ``RetryPolicy()``).
    hourly_budget : int, optional
        Export requests per hour to pace to (default 100, the Query API's budget).
    pacer : Pacer, optional
        A pacer to share with other clients (replaces ``hourly_budget``).
    session : requests.Session, optional
        The HTTP transport (default: a session whose sockets the deadline can shut).
    token_margin : float, default 60.0
        Seconds before a token's expiry that a new one is fetched (at most 10% of it).
    deadline : float, default 900.0
        Seconds that bound each export call, retries included, from its first request (a
        wait for the hourly budget before it does not count).
    max_answer_bytes : int, default 4 GiB
        The cap on the decoded size of one answer (a decompression bomb stops there).
    clock : callable, default time.monotonic
        Seconds, for token expiry, backoff, the deadline and the default pacer.
    sleep : callable, default time.sleep
        How the client waits between attempts and for the budget.
    environ : mapping, optional
        The environment to read credentials from (default: ``os.environ``).
    wall_clock : callable, default time.time
        Seconds since the epoch, for a ``Retry-After`` date in an answer without ``Date``.

    Raises
    ------
    MissingCredentialsError
        No client id or secret in the arguments, the environment or the config file.
    ConfigurationError
        A base URL that is not an https URL (or http on loopback), or a broken config file.
    ValueError
        ``deadline`` or ``max_answer_bytes`` is not a positive number.

    Examples
    --------
    >>> with Client("my-id", "my-secret", "http://127.0.0.1:8080", hourly_budget=50) as client:
    ...     client.base_url, client.pacer.budget
    ('http://127.0.0.1:8080', 50)
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
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(client_secret, str):  # frames that raise below show it as '***'
            client_secret = Redacted(client_secret)
        check_deadline(deadline)
        check_answer_cap(max_answer_bytes)
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
        self._wall_clock = wall_clock
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
        from bspandas._http.transport import new_session  # requests, at first use only

        return new_session()

    @property
    def base_url(self) -> str:
        """The Query API's address (without a trailing slash)."""
        return self._credentials.base_url

    @property
    def client_id(self) -> str:
        """The API key's client id (not a secret)."""
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
        """Close the pooled connections.

        Examples
        --------
        >>> Client("my-id", "my-secret", "http://127.0.0.1:8080").close()
        """
        self._session.close()

    def _adopt_budget(self, announced: str | None) -> None:
        """Pace to the budget a bspandas sandbox announces (``"N;window=W"``), unless this
        client was given ``hourly_budget=`` or its own pacer. The Query API announces none."""
        if announced and self._budget_from_server:
            self.pacer.adopt(announced)

    def _send(
        self, method: str, url: str, *, deadline: Deadline, timeout: tuple[float, float], **kw: Any
    ) -> requests.Response:
        with self._count_lock:
            self.requests_sent += 1
        log.debug("%s %s", method, url)
        current.deadline = deadline
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
            current.deadline = None
        deadline.watch(getattr(response.raw, "connection", None))
        return response

    def _post_export(
        self, payload: Mapping[str, Any], deadline: Deadline
    ) -> tuple[requests.Response, int] | Failure:
        """One export attempt up to its headers (paced; the token fetched if needed)."""
        from bspandas._http.transport import REQUEST_ERRORS, classify

        left = deadline.remaining() if deadline.started else None
        why = f"the read's deadline ({left:.0f} s left)" if left is not None else ""
        self.pacer.acquire(left, why=why)
        deadline.start()
        try:
            authorization, generation = self._bearer(deadline)
        except UnsendableError as exc:
            return Failure(exc, "token request", retry=False)
        except TimedOutError as exc:
            return Failure(exc, "token request timed out")
        except TransportError as exc:
            return Failure(exc, "token request failed")
        try:
            response = self._send(
                "POST",
                self.base_url + EXPORT_PATH,
                deadline=deadline,
                timeout=self.timeout,
                json=dict(payload),
                headers={"Authorization": authorization, "Accept-Encoding": ACCEPT_ENCODING},
            )
        except REQUEST_ERRORS as exc:
            error, retried = classify(exc, "exporting", self.base_url + EXPORT_PATH)
            return Failure(error, type(exc).__name__, retry=retried)
        if deadline.expired():  # headers cut short by the deadline's timer
            response.close()
            return Failure(deadline.error(), "deadline")
        return response, generation

    def _body(self, response: requests.Response, deadline: Deadline) -> Body:
        return Body(
            response,
            deadline=deadline,
            max_bytes=self.max_answer_bytes,
            read_timeout=self.timeout[1],
        )

    def _consume(
        self, response: requests.Response, consume: Callable[[Body], T], deadline: Deadline
    ) -> tuple[T] | Failure:
        with response:
            try:
                return (consume(self._body(response, deadline)),)
            except (TruncatedResponseError, TransportError) as exc:
                failure = Failure(exc, what(exc))
        return failure

    def export(self, payload: Mapping[str, Any], consume: Callable[[Body], T]) -> T:
        """POST the export request and hand the streamed answer to ``consume``.

        Retries, within :attr:`retry` and the deadline, on 429/5xx, connection errors,
        timeouts and answers ``consume`` rejects with :class:`TruncatedResponseError` (or a
        broken connection); replays once on 401 with a fresh token. Then raises the library
        error that says what happened and what to do.

        Parameters
        ----------
        payload : mapping
            The export request's JSON (``bspandas.Query(...).payload()``).
        consume : callable
            Reads the answer's :class:`~bspandas._http.body.Body` (decoded byte chunks) and
            returns the result; called again from scratch on each retried answer.

        Returns
        -------
        object
            What ``consume`` returned for the answer it accepted.

        Raises
        ------
        APIError
            An error status (``RateLimitError``, ``ServerError``, ``AuthenticationError``,
            ...) or a redirect, after the retries the policy allows.
        TransportError
            The connection failed or the deadline passed; ``TruncatedResponseError`` when
            every answer was cut short; ``ResponseError`` for an answer that is not CSV.

        Examples
        --------
        >>> import bspandas as bs
        >>> from bspandas.sandbox import serve
        >>> payload = bs.Query("account", ["ootb_account_name"]).payload()
        >>> with serve(seed=1, accounts=3) as sandbox, sandbox.client() as client:
        ...     csv = client.export(payload, lambda body: b"".join(body))
        >>> csv.count(b"\\n")  # the header and three accounts
        4
        """
        deadline = Deadline(self.deadline, self._clock)
        attempts = Attempts(self.retry, self._sleep, self._rng, self._clock, deadline)
        try:
            while True:
                response = open_export(self, payload, attempts)
                outcome = self._consume(response, consume, deadline)
                if not isinstance(outcome, Failure):
                    return outcome[0]
                attempts.failed_before_answer(outcome)
        finally:
            deadline.close()

    @contextmanager
    def stream(self, payload: Mapping[str, Any]) -> Iterator[Body]:
        """The answer as a :class:`Body`, retried on status and connection errors only
        (for consumers that hand rows on as they arrive and so cannot start over). The
        deadline covers the whole iteration, the consumer's own time included.

        Parameters
        ----------
        payload : mapping
            The export request's JSON (``bspandas.Query(...).payload()``).

        Returns
        -------
        contextlib.AbstractContextManager of Body
            The answer; iterating it may raise ``TransportError`` (not retried).

        Raises
        ------
        APIError, TransportError
            As :meth:`export`, before the answer's first byte.

        Examples
        --------
        >>> import bspandas as bs
        >>> from bspandas.sandbox import serve
        >>> payload = bs.Query("account", ["ootb_account_name"]).payload()
        >>> with serve(seed=1, accounts=3) as sandbox, sandbox.client() as client:
        ...     with client.stream(payload) as body:
        ...         csv = b"".join(body)
        >>> body.terminated, csv.splitlines()[0]
        (True, b'Account Name')
        """
        deadline = Deadline(self.deadline, self._clock)
        attempts = Attempts(self.retry, self._sleep, self._rng, self._clock, deadline)
        try:
            response = open_export(self, payload, attempts)
            with response:
                yield self._body(response, deadline)
        finally:
            deadline.close()
