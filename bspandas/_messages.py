"""How bspandas writes text about secrets and user input: every message goes through here.

:func:`redact` scrubs registered secrets, bearer tokens and secret-looking fields from any
text (every :class:`bspandas.BackstoryError` message passes through it);
:func:`register_secret` adds a live client's secret to what it scrubs; :func:`quote_input`
quotes what the user typed, cut to a readable length; :func:`describe_failure` names an
exception in one line; :func:`robust_repr` keeps a ``__repr__`` from crashing a traceback.
A leaf: it imports nothing from bspandas.

>>> redact("Authorization: Bearer abc.def-123 for client_secret=s3cr3t")
'Authorization: Bearer *** for client_secret=***'
"""

from __future__ import annotations

import difflib
import functools
import html
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = [
    "close_object",
    "describe_failure",
    "quote_input",
    "redact",
    "register_secret",
    "robust_repr",
    "short_text",
]

# Secrets registered by live clients; redact() removes them from any text.
_SECRETS: set[str] = set()
# A bearer token is token68 text (RFC 6750) that looks like one: at least 8 characters with
# a digit, or an inner "." "~" "+" "/" (a JWT), or 20 and more. This keeps ordinary wording
# ("no usable bearer token came back") intact; registered secrets go by exact value anyway.
_TOKEN68 = r"[A-Za-z0-9._~+/-]"
_BEARER = re.compile(
    rf"(?i)(bearer\s+)(?={_TOKEN68}*(?:[0-9]|[.~+/][A-Za-z0-9])|{_TOKEN68}{{20}})"
    rf"(?={_TOKEN68}{{8}}){_TOKEN68}+=*"
)
_SECRET_FIELDS = re.compile(r'(?i)("?(?:client_secret|access_token|token)"?\s*[=:]\s*"?)[^"&\s,}]+')


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` removes it from every message.

    Values shorter than 8 characters are not registered: real client secrets and tokens are
    long, and scrubbing a short word ("secret") would garble ordinary text.
    """
    if value and len(value) >= 8:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Remove registered secrets, bearer tokens and secret-looking fields from ``text``.

    >>> redact("Authorization: Bearer abc.def-123")
    'Authorization: Bearer ***'
    >>> redact("client_secret=s3cr3t&grant_type=client_credentials")
    'client_secret=***&grant_type=client_credentials'
    """
    text = _BEARER.sub(r"\1***", text)
    text = _SECRET_FIELDS.sub(r"\1***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


def short_text(body: str | bytes | None, limit: int = 300) -> str:
    """A server's answer body for a message: one line, redacted, at most ``limit`` characters.

    >>> short_text(b"  upstream\\n  timed out ", limit=20)
    'upstream timed out'
    """
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    body = redact(" ".join(body.split()))
    return body if len(body) <= limit else body[: limit - 1] + "…"


def close_object(obj: object, known: Sequence[str]) -> str | None:
    """The known name a plural, a different case or a small typo meant, or ``None``.

    >>> close_object("Accounts", ["account", "opportunity"])
    'account'
    """
    if not isinstance(obj, str):
        return None
    text = obj.strip().lower()
    for candidate in (text, text.removesuffix("s"), text.removesuffix("ies") + "y"):
        if candidate in known:
            return candidate
    close = difflib.get_close_matches(text, known, n=1, cutoff=0.75)
    return close[0] if close else None


def quote_input(text: str, limit: int = 200) -> str:
    """``repr(text)``, cut to ``limit`` characters with its length when longer, so that an
    error quoting what the user typed stays readable.

    >>> quote_input("a" * 300, limit=5)
    "'aaaaa'… (300 characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


_R = TypeVar("_R")


def robust_repr(method: Callable[[_R], str]) -> Callable[[_R], str]:
    """Make a ``__repr__`` / ``_repr_html_`` safe on a half-initialised object.

    When ``__init__`` raises, ``traceback.TracebackException(..., capture_locals=True)``
    still calls ``repr(self)`` on the frame's ``self``; a repr that reads an attribute
    never set would crash the traceback itself. This shows the class name instead.
    """

    @functools.wraps(method)
    def wrapper(self: _R) -> str:
        try:
            return method(self)
        except Exception:  # a repr must never raise
            text = f"<{type(self).__name__} (not fully initialised)>"
            return html.escape(text) if method.__name__ == "_repr_html_" else text

    return wrapper


def describe_failure(exc: BaseException) -> str:
    """One line naming an exception without leaking secrets (for logs and the CLI)."""
    return redact(f"{type(exc).__name__}: {exc}")
