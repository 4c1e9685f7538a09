"""What an answer's status says, as a bspandas error: refused requests, redirects (never
followed), a 200 that is not CSV, and the final error once retries gave up. Every error
says what was wrong and what to do; none carries a ``requests`` object or the secret.

>>> from types import SimpleNamespace
>>> location_of(SimpleNamespace(headers={"Location": "https://evil.example/x?token=abc"}))
"host 'evil.example' (https)"
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from bspandas._http.body import ENCODINGS, TimedOutError, content_encoding, short_body
from bspandas._messages import redact

if TYPE_CHECKING:
    import requests

__all__ = [
    "ACCEPT_ENCODING",
    "UnsendableError",
    "accepted",
    "answer_problem",
    "final_error",
    "redirect_error",
    "status_error",
    "what",
]

#: The Content-Types of a CSV answer.
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/x-csv", "text/comma-separated-values"})
#: What the client asks for (and :mod:`bspandas._http.body` decodes).
ACCEPT_ENCODING = "gzip, deflate"
_HOST_SHAPE = re.compile(r"[A-Za-z0-9.\-_:\[\]]{1,255}")


def what(error: BaseException) -> str:
    """How an attempt's failure is named in the final error (``timeout`` or the class)."""
    return "timeout" if isinstance(error, TimedOutError) else type(error).__name__


class UnsendableError(TransportError):
    """A request that cannot be sent at all (internal: not retried)."""


def location_of(response: requests.Response | Any) -> str:
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


def redirect_error(response: requests.Response, doing: str, base_url: str) -> APIError:
    """The error a redirect means (never followed: the secret stays with the base URL)."""
    return APIError(
        f"The server answered with a redirect to {location_of(response)} while {doing}. "
        "bspandas never follows redirects, so the client secret and the token cannot be sent "
        f"to another host or over plain http. Check the base URL ({base_url}); if the "
        "redirect's host is the Query API you trust, use it as the base URL.",
        status=response.status_code,
    )


def answer_problem(response: requests.Response) -> ResponseError | None:
    """Why a 200 export answer cannot be CSV, or ``None``."""
    given = response.headers.get("Content-Type", "")
    kind = given.split(";", 1)[0].strip().lower()
    encoding = content_encoding(response)
    if kind in CSV_TYPES and encoding in ENCODINGS:
        return None
    shown = repr(given[:100]) if given else "none"
    if kind in CSV_TYPES:
        return ResponseError(
            f"The answer is compressed with {encoding[:40]!r}, which bspandas does not decode "
            f"(it asks for {ACCEPT_ENCODING}). A proxy may be re-encoding it; try without it."
        )
    start = redact(" ".join(short_body(response)[:200].split()))
    began = f" It began: {start[:200]!r}." if start else ""
    return ResponseError(
        f"The export answered 200 with Content-Type {shown}, not CSV (expected text/csv), so "
        f"no rows were read.{began} A login page or proxy may be answering instead of the Query "
        "API: check the base URL and the network (a captive portal, a VPN)."
    )


def status_error(response: requests.Response, doing: str) -> APIError:
    """The error a non-200, non-redirect answer means, its body read a few KiB at most."""
    status = response.status_code
    body = short_body(response)
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


def final_error(
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
    if isinstance(last, TimedOutError):
        return TransportError(
            f"The Query API did not answer in time: {tried}. Unfiltered exports of large "
            "objects take minutes; raise the read timeout (timeout=(10, 1200)) or filter."
        )
    if isinstance(last, APIError):
        return type(last)(f"Giving up after {tried}: {last}", status=last.status)
    return TransportError(
        f"Could not complete the export: {tried}. Last problem: {str(last).rstrip('.')}. "
        "Check the network "
        "and the base URL."
    )


def accepted(response: requests.Response, base_url: str) -> requests.Response:
    """The 200 CSV answer, or (the response closed) the error a redirect or a 200 that is
    not CSV means."""
    problem = (
        answer_problem(response)
        if response.status_code == 200
        else redirect_error(response, "exporting", base_url)
    )
    if problem is None:
        return response
    response.close()
    raise problem
