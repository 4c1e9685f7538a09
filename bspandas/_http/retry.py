"""The one owner of retry decisions: the policy (attempts, backoff, a time bound), the
count of one export's attempts, which answers are retried, how long to wait (backoff, the
server's ``Retry-After``, the pacer's next slot after a bare 429) and when to give up.

>>> RetryPolicy().statuses == frozenset({429, 500, 502, 503, 504})
True
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from bspandas._exceptions import APIError, BackstoryError, ServerError, TransportError
from bspandas._http.deadline import Deadline
from bspandas._http.status import accepted, final_error, status_error

if TYPE_CHECKING:
    import requests

    from bspandas._http.client import Client

__all__ = [
    "Attempts",
    "Failure",
    "RetryPolicy",
    "deterministic_500",
    "open_export",
    "retry_after",
]

log = logging.getLogger("bspandas")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, exponential backoff with jitter, and a total time bound.

    The delay before attempt ``n + 1`` is ``min(max_backoff, backoff * 2 ** (n - 1))`` with
    +/- ``jitter`` (a fraction), or the server's ``Retry-After`` when it sends one. A
    :class:`~bspandas.Client` retries an export within this policy and its ``deadline``.

    Parameters
    ----------
    attempts : int, default 5
        Attempts in all (the first included) before the last error is raised.
    backoff : float, default 1.0
        Seconds before the second attempt; doubled for each attempt after it.
    max_backoff : float, default 60.0
        The longest computed wait between two attempts, in seconds.
    max_time : float, default 600.0
        Seconds from the first attempt past which no further attempt starts.
    jitter : float, default 0.25
        The fraction by which each computed wait varies at random (spreads clients apart).
    statuses : frozenset of int, default {429, 500, 502, 503, 504}
        The HTTP statuses that are retried (others raise at once).

    Examples
    --------
    >>> import random
    >>> policy = RetryPolicy(attempts=3, backoff=2.0, jitter=0.0)
    >>> [policy.delay(n, random.Random(0)) for n in (1, 2, 3)]
    [2.0, 4.0, 8.0]
    """

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_time: float = 600.0
    jitter: float = 0.25
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait, in seconds, after failed attempt number ``attempt`` (1 for the first).

        Parameters
        ----------
        attempt : int
            The number of the attempt that failed, from 1.
        rng : random.Random
            The source of the jitter.

        Returns
        -------
        float
            ``min(max_backoff, backoff * 2 ** (attempt - 1))``, varied by +/- ``jitter``.

        Examples
        --------
        >>> import random
        >>> RetryPolicy(backoff=1.0, max_backoff=5.0, jitter=0.0).delay(10, random.Random())
        5.0
        """
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return max(0.0, float(base * (1 + rng.uniform(-self.jitter, self.jitter))))


def retry_after(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (``None``: none or unreadable).

    A number of seconds is taken as is. An HTTP date is measured against the answer's own
    ``Date`` header when it has a readable one (both are the server's clock, so a machine
    whose clock is off waits what the server meant), else against ``now()`` (the client's
    injectable wall clock, seconds since the epoch).

    >>> retry_after({"Retry-After": "Tue, 01 Dec 2026 12:00:30 GMT",
    ...              "Date": "Tue, 01 Dec 2026 12:00:00 GMT"}, now=lambda: 0.0)
    30.0
    """
    value = headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    served = _http_date(headers.get("Date") or "")
    return max(0.0, when - (served if served is not None else now()))


def _http_date(value: str) -> float | None:
    """An HTTP date as seconds since the epoch (always GMT), or ``None`` when unreadable."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": GMT by RFC 9110, not the machine's local time
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


class Failure(NamedTuple):
    """An attempt that failed before an answer could be used (``retry``: worth another)."""

    error: BackstoryError
    what: str
    retry: bool = True


class Attempts:
    """Counts attempts and time; sleeps between them; raises the final error when done."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        rng: random.Random,
        clock: Callable[[], float],
        deadline: Deadline,
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
            raise final_error(error, self.failures, elapsed)
        delay = self.policy.delay(count, self.rng) if wait is None else wait
        if elapsed + delay > self.policy.max_time:
            raise final_error(error, self.failures, elapsed, (delay, "the retry time limit"))
        left = self.deadline.remaining()
        if delay >= left:
            limit = f"the deadline ({max(0.0, left):.0f} s left of {self.deadline.seconds:g} s)"
            raise final_error(error, self.failures, elapsed, (delay, limit))
        log.debug("attempt %d failed (%s); retrying in %.2f s", count, what, delay)
        self.sleep(delay)

    def failed_before_answer(self, failure: Failure) -> None:
        """Count an attempt that got no usable answer and wait, or raise: past the
        deadline, for a request that cannot be sent, or when the policy is spent."""
        if self.deadline.expired():
            raise self.deadline.error(self)
        if not failure.retry:
            raise TransportError(str(failure.error))
        self.failed(failure.error, failure.what)

    def refused(
        self,
        error: APIError,
        wait: float | None,
        payload: Mapping[str, Any],
        next_slot: Callable[[], float],
    ) -> None:
        """Count an error answer and wait, or raise: a status the policy does not retry, a
        500 the field record says never changes, or the policy spent. ``wait`` is the
        server's ``Retry-After``; ``next_slot`` the pacer's wait for its window to open."""
        status = error.status
        if status == 500 and isinstance(error, ServerError):
            self._raise_deterministic_500(error, payload)
        if status == 429 and wait is None:
            # no Retry-After: the budget is a rolling hour, so the next request fits no
            # sooner than the pacer's oldest recorded request leaves the window
            slot = next_slot()
            wait = max(slot, self.policy.delay(len(self.failures) + 1, self.rng))
        if status not in self.policy.statuses:
            raise error
        self.failed(error, str(status), wait)

    def _raise_deterministic_500(self, error: ServerError, payload: Mapping[str, Any]) -> None:
        reason = deterministic_500(payload) or self.repeated(error.body)
        if reason is not None:
            raise ServerError(
                f"The Query API failed while exporting and {reason}; the field "
                "record says such a 500 does not change on retry, so it was not "
                f"retried (after {len(self.failures) + 1} attempt(s)), to save "
                "the hourly budget. Check the filter (read_query builds one that "
                "never has this shape), or try again later if the query is plain.",
                status=error.status,
                body=error.body,
            )


def open_export(
    client: Client, payload: Mapping[str, Any], attempts: Attempts
) -> requests.Response:
    """POST the export until an answer is accepted and return the 200 CSV response (headers
    read, body not yet): each failure is counted and waited out in ``attempts``, a 401 is
    replayed once with a new token, and what is not retried raises."""
    deadline = attempts.deadline
    replayed = False
    while True:
        if deadline.expired():
            raise deadline.error(attempts)
        outcome = client._post_export(payload, deadline)
        if isinstance(outcome, Failure):
            attempts.failed_before_answer(outcome)
            continue
        response, generation = outcome
        status = response.status_code
        if status == 200 or 300 <= status < 400:
            return accepted(response, client.base_url)
        error = status_error(response, "exporting")
        wait = retry_after(response.headers, client._wall_clock)
        response.close()
        if status == 401 and not replayed:
            replayed = True
            client._forget_token(generation)
            log.debug("401 on export: fetching a new token and replaying once")
            continue
        attempts.refused(error, wait, payload, client.pacer.next_slot)


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
