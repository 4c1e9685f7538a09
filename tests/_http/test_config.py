from __future__ import annotations

import os
from pathlib import Path

import pytest

from bspandas._exceptions import ConfigurationError, InsecureConfigWarning, MissingCredentialsError
from bspandas._http.config import check_base_url, resolve_credentials

ENV = {
    "BACKSTORY_CLIENT_ID": "env-id",
    "BACKSTORY_CLIENT_SECRET": "env-secret-value",
    "BACKSTORY_BASE_URL": "https://example.test",
}


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_arguments_win_over_environment() -> None:
    creds = resolve_credentials("arg-id", "arg-secret", environ=ENV)
    assert creds.client_id == "arg-id"
    assert creds.base_url == "https://example.test"
    assert creds.sources["base_url"] == "environment variable BACKSTORY_BASE_URL"


def test_environment_then_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[default]\nclient_id = "file-id"\nclient_secret = "file-secret"\n'
    )
    creds = resolve_credentials(environ={"BACKSTORY_CONFIG": str(path)})
    assert (creds.client_id, creds.base_url) == ("file-id", "https://api.people.ai")
    assert str(path) in creds.sources["client_secret"]


def test_profiles(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[default]\nclient_id="a"\nclient_secret="b"\n[staging]\nclient_id="c"\nclient_secret="d"\n',
    )
    assert resolve_credentials(config_file=path, profile="staging", environ={}).client_id == "c"
    with pytest.raises(ConfigurationError, match="no \\[prod\\] profile"):
        resolve_credentials(config_file=path, profile="prod", environ={})


def test_missing_credentials_list_every_place(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(MissingCredentialsError) as info:
        resolve_credentials(environ=env)
    message = str(info.value)
    assert "the client_id and client_secret arguments" in message
    assert "BACKSTORY_CLIENT_ID" in message
    assert str(tmp_path / "bspandas" / "config.toml") in message
    assert info.value.missing == ["client_id", "client_secret"]


def test_readable_config_file_warns(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'client_id = "a"\nclient_secret = "b"\n', mode=0o644)
    with pytest.warns(InsecureConfigWarning, match="chmod 600"):
        resolve_credentials(config_file=path, environ={})


def test_secret_never_in_repr() -> None:
    creds = resolve_credentials("id", "super-secret-123", environ={})
    assert "super-secret-123" not in repr(creds)


@pytest.mark.parametrize(
    "url",
    ["http://api.people.ai", "ftp://x", "not a url", "http://10.0.0.1:8080"],
)
def test_plain_http_is_refused_except_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://localhost:80/", "https://api.people.ai"]
)
def test_allowed_base_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:8080\\@127.0.0.1",  # urllib sees 127.0.0.1, urllib3 connects to .2
        "https://api.people.ai\\@evil.test",
        "https://api.people.ai\\.evil.test",
    ],
)
def test_a_url_the_parsers_read_differently_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="backslash"):
        check_base_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2-pw@api.people.ai",
        "http://user:hunter2-pw@127.0.0.1:8080",
        "https://hunter2-pw@api.people.ai/",
        "https://user:hunter2-pw@api.people.ai:443/prefix",
    ],
)
def test_credentials_in_the_base_url_are_refused_and_never_shown(url: str) -> None:
    with pytest.raises(ConfigurationError, match="credentials") as info:
        check_base_url(url)
    assert "hunter2" not in str(info.value)
    env = {**ENV, "BACKSTORY_BASE_URL": url}
    with pytest.raises(ConfigurationError) as from_env:
        resolve_credentials(environ=env)
    assert "hunter2" not in str(from_env.value) + repr(from_env.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.people.ai/?next=1",
        "https://api.people.ai/#x",
        "https://api.people.ai%2f.evil.test",
        "https://api.people.ai /x",
        "https://api.people.ai\t/x",
        "https://api.people.ai\x00.evil.test",
        "http://127.0.0.1:notaport",
    ],
)
def test_odd_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url)


def test_hosts_must_agree_between_urllib_and_urllib3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence, for a disagreement no other rule catches."""
    from bspandas._http import config

    monkeypatch.setattr(config, "_connect_target", lambda url: ("127.0.0.2", 8080))
    with pytest.raises(ConfigurationError, match="different host"):
        check_base_url("http://127.0.0.1:8080")


def test_a_client_refuses_credentials_in_its_url() -> None:
    from bspandas._http.client import Client

    with pytest.raises(ConfigurationError) as info:
        Client("id", "secret-value", "https://u:pass-word-9@api.people.ai", environ={})
    assert "pass-word-9" not in str(info.value)
