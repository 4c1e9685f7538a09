"""A faithful local Query API server with a deterministic synthetic tenant.

The sandbox speaks the wire format of ``../shared/spec/query-api.md`` (form-encoded token
endpoint, chunked CSV exports with display labels, silent drops, the filter grammar and its
error answers, the hourly budget) and can reproduce every failure of the real service on
demand (see :class:`Faults`).

>>> import requests
>>> from bspandas import sandbox
>>> with sandbox.serve(accounts=20, users=4, seed=7) as sb:
...     auth = requests.post(sb.token_url, data={"grant_type": "client_credentials",
...                          "client_id": sb.client_id, "client_secret": sb.client_secret})
...     token = auth.json()["access_token"]
...     query = {"object": "account", "columns": [{"slug": "ootb_account_name"}]}
...     answer = requests.post(sb.export_url, json=query,
...                            headers={"Authorization": f"Bearer {token}"})
...     lines = answer.text.splitlines()
>>> lines[0], len(lines)
('Account Name', 21)
"""

from __future__ import annotations

from typing import Any

from bspandas.sandbox.faults import Faults
from bspandas.sandbox.request_log import RequestRecord
from bspandas.sandbox.server import EXPORT_PATH, TOKEN_PATH, Sandbox
from bspandas.sandbox.tenant import AS_OF, Tenant, TenantOptions

__all__ = [
    "AS_OF",
    "EXPORT_PATH",
    "TOKEN_PATH",
    "Faults",
    "RequestRecord",
    "Sandbox",
    "Tenant",
    "TenantOptions",
    "serve",
]


def serve(**options: Any) -> Sandbox:
    """Start a sandbox in the background on a free loopback port and return it.

    Use it as a context manager (``with serve(...) as sb:``) or call ``sb.stop()``.

    Parameters
    ----------
    **options
        Keywords of :class:`Sandbox`: the tenant's size and seed (``accounts``, ``users``,
        ``seed``, ``as_of``...), the server's (``host``, ``port``, credentials, limits) and
        every fault switch of :class:`Faults`.

    Returns
    -------
    Sandbox
        The sandbox, already serving.

    Raises
    ------
    TypeError
        For an unknown keyword.
    ValueError
        For an invalid option value.

    Examples
    --------
    >>> with serve(accounts=5, users=2, seed=3) as sb:
    ...     sb.running, sb.tenant.size("account")
    (True, 5)
    """
    return Sandbox(**options).start()
