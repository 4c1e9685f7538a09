"""The default client: the one ``read_query`` (and every call without ``client=``) uses,
set by :func:`connect` or :func:`set_default_client`, else built from the environment or the
config file on first use.

>>> client = connect("my-id", "my-secret", "http://127.0.0.1:8080")
>>> default_client() is client
True
>>> set_default_client(None); client.close()
"""

from __future__ import annotations

import threading
from typing import Any

from bspandas._http.client import Client

__all__ = ["connect", "default_client", "set_default_client"]

_default: Client | None = None
_default_lock = threading.Lock()


def set_default_client(client: Client | None) -> None:
    """Make ``client`` the one used when ``read_query`` (or any call) gets no ``client=``.

    Parameters
    ----------
    client : Client or None
        The new default; ``None`` forgets the current one, so that the next
        :func:`default_client` builds one from the environment or the config file.

    Examples
    --------
    >>> import bspandas as bs
    >>> client = bs.Client("my-id", "my-secret", "http://127.0.0.1:8080")
    >>> bs.set_default_client(client)
    >>> bs.default_client() is client
    True
    >>> bs.set_default_client(None); client.close()
    """
    global _default
    with _default_lock:
        _default = client


def default_client() -> Client:
    """The default client: the one given to :func:`connect` or :func:`set_default_client`,
    else one built (once) from the environment and the config file.

    Returns
    -------
    Client
        The client that calls without ``client=`` use.

    Raises
    ------
    MissingCredentialsError
        No default was set and no credentials are in the environment or the config file
        (the message lists the places it looked).

    Examples
    --------
    >>> import bspandas as bs
    >>> client = bs.connect("my-id", "my-secret", "http://127.0.0.1:8080")
    >>> bs.default_client() is client
    True
    >>> bs.set_default_client(None); client.close()
    """
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

    Parameters
    ----------
    client_id : str, optional
        The API key's client id (else ``BACKSTORY_CLIENT_ID``, else the config file).
    client_secret : str, optional
        The API key's secret (else ``BACKSTORY_CLIENT_SECRET``, else the config file).
    base_url : str, optional
        The Query API's address (else ``BACKSTORY_BASE_URL``, else the config file).
    **options
        Any keyword argument of :class:`Client` (``hourly_budget=``, ``deadline=``,
        ``retry=``, ...).

    Returns
    -------
    Client
        The new client, now the default.

    Raises
    ------
    MissingCredentialsError
        No client id or secret in the arguments, the environment or the config file.
    ConfigurationError
        The base URL is not https (or http on loopback), or the config file is broken.

    Examples
    --------
    >>> import bspandas as bs
    >>> client = bs.connect("id", "secret", "http://localhost:9999")
    >>> bs.default_client() is client
    True
    >>> bs.set_default_client(None); client.close()
    """
    client = Client(client_id, client_secret, base_url, **options)
    set_default_client(client)
    return client
