"""Where credentials come from: arguments, then environment variables, then a config file.

Environment: ``BACKSTORY_CLIENT_ID``, ``BACKSTORY_CLIENT_SECRET``, ``BACKSTORY_BASE_URL``
(and ``BACKSTORY_CONFIG`` for another config file path). The config file is TOML, by default
``$XDG_CONFIG_HOME/bspandas/config.toml`` (``~/.config/bspandas/config.toml``)::

    [default]
    client_id = "..."
    client_secret = "..."
    base_url = "https://api.people.ai"

Other profiles are tables of their own (``[staging]``), chosen with ``profile=``. A file
that other users can read triggers :class:`bspandas.InsecureConfigWarning`.

>>> creds = resolve_credentials("id", "secret", "http://127.0.0.1:8080", environ={})
>>> creds.base_url, creds.sources["client_secret"]
('http://127.0.0.1:8080', 'argument')
"""

from __future__ import annotations

import os
import stat
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bspandas._exceptions import ConfigurationError, InsecureConfigWarning, MissingCredentialsError
from bspandas._messages import register_secret, robust_repr
from bspandas._utils import find_stacklevel

__all__ = [
    "DEFAULT_BASE_URL",
    "Credentials",
    "check_base_url",
    "default_config_path",
    "resolve_credentials",
]

DEFAULT_BASE_URL = "https://api.people.ai"
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class Credentials:
    """A client id, its secret (never shown) and the base URL, with where each came from."""

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)

    @robust_repr
    def __repr__(self) -> str:
        return (
            f"Credentials(client_id={self.client_id!r}, client_secret='***', "
            f"base_url={self.base_url!r})"
        )


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$BACKSTORY_CONFIG``, else ``$XDG_CONFIG_HOME/bspandas/config.toml``."""
    env = os.environ if environ is None else environ
    if env.get("BACKSTORY_CONFIG"):
        return Path(env["BACKSTORY_CONFIG"]).expanduser()
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "bspandas" / "config.toml"


def check_base_url(url: str) -> str:
    """Normalise a base URL; refuse what could send the secret somewhere unintended.

    Refused: anything but ``http(s)://host[:port][/path]``; credentials in the URL
    (``user:pw@host``, never shown back); backslashes, whitespace or control characters;
    a query or fragment; a URL whose host ``urllib.parse`` and ``urllib3`` (which opens the
    connection) read differently; plain ``http://`` to anything but loopback.

    >>> check_base_url("https://api.people.ai/")
    'https://api.people.ai'
    """
    text = url.strip()
    shown = _shown(text)
    if "\\" in text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ConfigurationError(
            f"The base URL {shown} holds a backslash, a space or a control character. "
            f"Expected a plain URL such as {DEFAULT_BASE_URL!r}."
        )
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigurationError(
            f"The base URL {shown} cannot be parsed. Expected e.g. {DEFAULT_BASE_URL!r}."
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"The base URL {shown} is not an http(s) URL. Expected e.g. {DEFAULT_BASE_URL!r}."
        )
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"The base URL {shown} holds credentials (user:password@host). bspandas sends "
            "only the client id and secret, to the token endpoint: remove them from the URL "
            "and give the client id and secret as arguments, BACKSTORY_* variables or in "
            "the config file instead."
        )
    if parts.query or parts.fragment or "?" in text or "#" in text or "%" in parts.netloc:
        raise ConfigurationError(
            f"The base URL {shown} has a query, a fragment or an escaped host. Expected "
            f"scheme, host, port and at most a path, e.g. {DEFAULT_BASE_URL!r}."
        )
    if _connect_target(text) != (host, port):
        raise ConfigurationError(
            f"The base URL {shown} names a different host depending on the URL parser, so "
            "the connection could go to another host than the one checked. Write the URL "
            f"plainly, e.g. {DEFAULT_BASE_URL!r}."
        )
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise ConfigurationError(
            f"Refusing plain http:// to {_shown(host)}: credentials and tokens would travel "
            "unencrypted. Use https:// (plain http is allowed only for a local sandbox on "
            "127.0.0.1/localhost)."
        )
    return text.rstrip("/")


def _connect_target(url: str) -> tuple[str | None, int | None] | None:
    """The host and port urllib3 (the library that opens the connection) reads in ``url``."""
    from urllib3.exceptions import LocationParseError  # not on import bspandas
    from urllib3.util import parse_url

    try:
        parsed = parse_url(url)
    except LocationParseError:
        return None
    host = parsed.host
    if host is not None:
        host = host.lower().removeprefix("[").removesuffix("]")
    return host, parsed.port


def _shown(url: str) -> str:
    """``url`` fit for a message: anything before an ``@`` (a user:password part) hidden,
    control characters escaped, at most 200 characters."""
    if "@" in url:
        scheme, sep, _ = url.partition("://")
        url = (scheme + sep if sep else "") + "***@" + url.rpartition("@")[2]
    text = repr(url)
    return text if len(text) <= 200 else text[:199] + "…"


def _read_file(path: Path, profile: str) -> dict[str, str]:
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(
            f"{path} can be read by other users and holds a client secret. Restrict it with "
            f"`chmod 600 {path}`.",
            InsecureConfigWarning,
            stacklevel=find_stacklevel(),
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}.") from None
    section = data.get(profile)
    if section is None:
        if profile == "default" and any(k in data for k in ("client_id", "client_secret")):
            section = data
        else:
            known = ", ".join(k for k, v in data.items() if isinstance(v, dict)) or "none"
            raise ConfigurationError(f"{path} has no [{profile}] profile (profiles: {known}).")
    if not isinstance(section, dict):
        raise ConfigurationError(f"[{profile}] in {path} must be a table.")
    return {
        k: str(v) for k, v in section.items() if k in ("client_id", "client_secret", "base_url")
    }


def resolve_credentials(
    client_id: str | None = None,
    client_secret: str | None = None,
    base_url: str | None = None,
    *,
    config_file: str | Path | None = None,
    profile: str = "default",
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Find credentials: arguments first, then the environment, then the config file.

    A missing id or secret raises :class:`MissingCredentialsError` listing every place looked at.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str | None] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "base_url": base_url,
    }
    sources = {k: "argument" for k, v in values.items() if v}
    env_names = {
        "client_id": "BACKSTORY_CLIENT_ID",
        "client_secret": "BACKSTORY_CLIENT_SECRET",
        "base_url": "BACKSTORY_BASE_URL",
    }
    for key, name in env_names.items():
        if not values[key] and env.get(name):
            values[key], sources[key] = env[name], f"environment variable {name}"
    path = Path(config_file).expanduser() if config_file else default_config_path(env)
    if not all(values.values()) and path.is_file():
        for key, value in _read_file(path, profile).items():
            if not values[key] and value:
                values[key], sources[key] = value, f"config file {path} [{profile}]"
    elif config_file and not path.is_file():
        raise ConfigurationError(f"The config file {path} does not exist.")
    missing = [k for k in ("client_id", "client_secret") if not values[k]]
    if missing:
        looked_at = [
            "the client_id and client_secret arguments (of bspandas.connect or Client)",
            "environment variables BACKSTORY_CLIENT_ID and BACKSTORY_CLIENT_SECRET",
            f"the config file {path} [{profile}]" + ("" if path.is_file() else " (not found)"),
        ]
        raise MissingCredentialsError(missing, looked_at)
    if not values["base_url"]:
        values["base_url"], sources["base_url"] = DEFAULT_BASE_URL, "default"
    secret, ident, url = values["client_secret"], values["client_id"], values["base_url"]
    if secret is None or ident is None or url is None:  # for the type checker; checked above
        raise MissingCredentialsError(missing or ["base_url"], [])
    register_secret(secret)
    return Credentials(
        client_id=ident,
        client_secret=secret,
        base_url=check_base_url(url),
        sources=sources,
    )
