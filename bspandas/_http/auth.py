"""Bearer tokens: the client-credentials request, the checks a token answer must pass,
the token's lifetime and its one-thread-at-a-time renewal, and the redacted holder that
keeps the secret and the token out of reprs, logs and tracebacks.

>>> parse_token(b'{"access_token": "abcdefgh12345678", "expires_in": 7200}')
('abcdefgh12345678', 7200.0)
>>> parse_token(b"<html>login</html>")
'with something that is not JSON'
>>> Redacted("s3cret")
'***'
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bspandas._exceptions import AuthenticationError, BackstoryError
from bspandas._http.body import read_capped, short_body
from bspandas._http.config import Credentials
from bspandas._http.deadline import Deadline
from bspandas._http.status import UnsendableError, redirect_error, status_error
from bspandas._http.wire import SANDBOX_BUDGET_HEADER, TOKEN_PATH
from bspandas._messages import register_secret, robust_repr

if TYPE_CHECKING:
    import requests

__all__ = ["TOKEN_ANSWER_BYTES", "Redacted", "TokenHolder", "parse_token"]

log = logging.getLogger("bspandas")

#: How much of a token answer is read at most.
TOKEN_ANSWER_BYTES = 64 * 1024
#: The range a token lifetime (``expires_in``) is clamped to, in seconds.
TOKEN_LIFETIME_RANGE = (1.0, 86_400.0)


_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token


def parse_token(data: bytes) -> tuple[str, float] | str:
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


class Redacted(str):
    """A secret value (the client secret, a bearer header) whose repr hides it, so that a
    traceback formatted with its frames' locals cannot show it."""

    __slots__ = ()

    @robust_repr
    def __repr__(self) -> str:
        return "'***'"


class TokenHolder:
    """The token half of :class:`~bspandas._http.client.Client` (a mixin): fetches a bearer
    token with the client credentials, keeps it until shortly before it expires, renews it
    in one thread while the others wait, and forgets it when an export is refused with 401.
    """

    _credentials: Credentials
    timeout: tuple[float, float]
    token_margin: float
    _clock: Callable[[], float]
    _token: str | None
    _token_expires: float
    _token_generation: int
    _token_lock: threading.Lock

    if TYPE_CHECKING:

        def _send(
            self,
            method: str,
            url: str,
            *,
            deadline: Deadline,
            timeout: tuple[float, float],
            **kw: Any,
        ) -> requests.Response: ...

        def _adopt_budget(self, announced: str | None) -> None: ...

    # -- tokens ---------------------------------------------------------------------------
    # Frames that raise hold neither the secret nor a token in their locals (a traceback
    # formatted with capture_locals=True shows them): the form and the answer live in
    # _token_request, which returns an error instead of raising it.

    def _token_request(self, deadline: Deadline) -> tuple[str, float] | BackstoryError:
        url = self._credentials.base_url + TOKEN_PATH
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": Redacted(self._credentials.client_secret),
        }
        from bspandas._http.transport import REQUEST_ERRORS, classify

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
        except REQUEST_ERRORS as exc:
            error, retried = classify(exc, "fetching a token", url)
            return error if retried else UnsendableError(str(error))
        with response:
            answer = self._token_answer(response, deadline)
        if isinstance(answer, BackstoryError):
            return answer
        return _checked_token(answer, deadline)

    def _token_answer(
        self, response: requests.Response, deadline: Deadline
    ) -> bytes | BackstoryError:
        """The token answer's bytes (a capped read), or the error its status means."""
        if deadline.expired():  # headers cut short by the deadline's timer
            return deadline.error(detail=" (while fetching a token)")
        status = response.status_code
        if 300 <= status < 400:
            return redirect_error(response, "fetching a token", self._credentials.base_url)
        if status in (400, 401, 403):
            where = self._credentials.sources
            return AuthenticationError(
                "The Query API refused the client credentials (client id from "
                f"{where.get('client_id', '?')}, secret from "
                f"{where.get('client_secret', '?')}). Check them in the tenant's API Key "
                "Management.",
                status=status,
                body=short_body(response),
            )
        if status != 200:
            return status_error(response, "fetching a token")
        self._adopt_budget(response.headers.get(SANDBOX_BUDGET_HEADER))
        return read_capped(response, TOKEN_ANSWER_BYTES + 1)

    def _fetch_token(self, deadline: Deadline) -> None:
        outcome = self._token_request(deadline)
        if isinstance(outcome, BackstoryError):
            raise outcome
        register_secret(outcome[0])
        margin = min(self.token_margin, outcome[1] * 0.1)
        self._token = Redacted(outcome[0])
        self._token_expires = self._clock() + outcome[1] - margin
        self._token_generation += 1
        log.debug("fetched a bearer token valid for %.0f s", outcome[1])

    def _bearer(self, deadline: Deadline) -> tuple[str, int]:
        """The ``Authorization`` header value and the token's generation; one thread fetches
        a new token when it expired, the others wait for it (within their deadline)."""
        if not self._token_lock.acquire(timeout=max(0.001, deadline.remaining())):
            raise deadline.error(detail=" (waiting for another thread's token request)")
        try:
            if self._token is None or self._clock() >= self._token_expires:
                self._fetch_token(deadline)
            if self._token is None:  # pragma: no cover - _fetch_token sets it or raises
                raise AuthenticationError("No bearer token is available.")
            return Redacted("Bearer " + self._token), self._token_generation
        finally:
            self._token_lock.release()

    def _forget_token(self, generation: int) -> None:
        """Drop the token refused with a 401, unless another thread already replaced it."""
        with self._token_lock:
            if self._token_generation == generation:
                self._token = None


def _checked_token(answer: bytes, deadline: Deadline) -> tuple[str, float] | BackstoryError:
    """The token and its lifetime from a token answer's bytes, or the error to raise (which
    never shows the answer: it may hold a token)."""
    if deadline.expired():
        return deadline.error(detail=" (while fetching a token)")
    if len(answer) > TOKEN_ANSWER_BYTES:
        parsed: tuple[str, float] | str = "with more than 64 KiB"
    else:
        parsed = parse_token(answer)
    if isinstance(parsed, str):
        return AuthenticationError(
            f"The token endpoint answered {parsed}, so no usable bearer token came back "
            "(the answer is not shown: it may hold one). Check that the base URL points at "
            "the Query API and not at a proxy or login page, then try again.",
            status=200,
        )
    return parsed
