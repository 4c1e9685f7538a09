"""The token table: registered key pairs and the bearer tokens issued to them.

Tokens are kept as SHA-256 digests (never in clear), expire on the sandbox's clock and are
bounded in number (expired ones swept first, then the oldest). Secrets are compared in
constant time, and an unknown client costs the same comparison as a known one.

>>> table = TokenTable(lambda: 0.0, max_tokens=10)
>>> table.add_client("me", "s3cret")
>>> table.check_client("me", "s3cret"), table.check_client("me", "guess")
(True, False)
>>> token, _ = table.issue("me", lifetime=60.0, advertised=None)
>>> table.authenticate(f"Bearer {token}"), table.authenticate("Bearer nope")
('me', None)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable

__all__ = ["TokenTable"]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenTable:
    """Clients and their live tokens (thread-safe); ``now`` reads the sandbox's clock."""

    def __init__(self, now: Callable[[], float], max_tokens: int) -> None:
        self._now = now
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._clients: dict[str, str] = {}
        self._tokens: dict[bytes, tuple[str, float]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def add_client(self, client_id: str, secret: str) -> None:
        """Register (or replace) a key pair."""
        with self._lock:
            self._clients[client_id] = secret

    def clear(self) -> None:
        """Invalidate every issued token."""
        with self._lock:
            self._tokens.clear()

    def check_client(self, client_id: str, secret: str) -> bool:
        """Whether ``secret`` is ``client_id``'s (compared in constant time)."""
        with self._lock:
            expected = self._clients.get(client_id)
        known = expected is not None
        reference = expected if expected is not None else secrets.token_urlsafe(24)
        same = hmac.compare_digest(secret.encode("utf-8"), reference.encode("utf-8"))
        return known and same

    def issue(self, client_id: str, lifetime: float, advertised: float | None) -> tuple[str, int]:
        """A new token for ``client_id`` and the ``expires_in`` its answer claims."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._lock:
            if len(self._tokens) >= self.max_tokens:  # sweep the expired, then the oldest
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
                for key in list(self._tokens)[: len(self._tokens) - self.max_tokens + 1]:
                    del self._tokens[key]
            self._tokens[_digest(token)] = (client_id, now + lifetime)
        return token, int(advertised if advertised is not None else lifetime)

    def authenticate(self, header: str | None) -> str | None:
        """The client a ``Bearer`` header's live token belongs to (None: no such token)."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        now = self._now()
        with self._lock:
            entry = self._tokens.get(_digest(token))
            if entry is None:
                return None
            client_id, expires = entry
            if now >= expires:
                del self._tokens[_digest(token)]
                return None
            return client_id
