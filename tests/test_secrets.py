"""The client secret and the bearer token never appear anywhere a user or a log could see."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import bspandas as bs
from bspandas.cli import main
from bspandas.client import Client
from bspandas.sandbox import Sandbox, serve

SECRET = "cs-" + secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve(accounts=12, users=3, client_secret=SECRET, hourly_budget=0) as sandbox:
        yield sandbox


def leaks(text: str, *values: str) -> list[str]:
    return [v for v in values if v and v in text]


def test_repr_attrs_logs_and_cache(
    sb: Sandbox, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    with Client(sb.client_id, SECRET, sb.base_url, environ={}) as client:
        frame = bs.read_query(
            "account",
            ["ootb_account_name", "ootb_account_original_owner"],
            client=client,
            cache=tmp_path,
        )
        token = client._token
        assert token is not None
        shown = [
            repr(client),
            str(client),
            repr(client._credentials),
            repr(client.pacer),
            repr(client.retry),
            repr(sb),
            json.dumps(frame.attrs, default=str),
            repr(bs.Query("account", ["industry"])),
        ]
    assert not leaks("\n".join(shown), SECRET, token)
    assert caplog.records, "DEBUG logging was captured"
    assert not leaks(caplog.text, SECRET, token)
    cached = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET.encode() not in cached
    assert token.encode() not in cached


def test_exception_texts(sb: Sandbox) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(16)
    bad = Client(sb.client_id, wrong, sb.base_url, environ={})
    with bad, pytest.raises(bs.AuthenticationError) as info:
        bs.read_query("account", ["industry"], client=bad)
    assert not leaks(str(info.value) + repr(info.value), wrong, SECRET)

    with Client(sb.client_id, SECRET, sb.base_url, environ={}) as client:
        bs.read_query("account", ["industry"], client=client)
        token = client._token
        assert token is not None
        echoed = bs.ServerError(
            "failed", status=500, body=f"Authorization: Bearer {token} {SECRET}"
        )
        assert not leaks(str(echoed) + repr(echoed) + echoed.body, token, SECRET)
        sb.set_faults(token_lifetime=1e-6)  # every new token is expired on arrival
        sb.expire_tokens()  # and the cached one too: 401, new token, 401
        try:
            with pytest.raises(bs.AuthenticationError) as refused:
                bs.read_query("account", ["industry"], client=client)
        finally:
            sb.reset_faults()
    text = str(refused.value) + repr(refused.value)
    assert "revoked" in text
    assert not leaks(text, SECRET, token, client._token or "")


def test_cli_output(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKSTORY_CLIENT_ID", sb.client_id)
    monkeypatch.setenv("BACKSTORY_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("BACKSTORY_BASE_URL", sb.base_url)
    assert main(["query", "account", "ootb_account_name", "--limit", "2"]) == 0
    monkeypatch.setenv("BACKSTORY_CLIENT_SECRET", SECRET + "-wrong")
    assert main(["query", "account", "ootb_account_name"]) == 2
    captured = capsys.readouterr()
    assert "AuthenticationError" in captured.err
    assert not leaks(captured.out + captured.err, SECRET)


def test_cli_dry_run_and_describe_are_secret_free(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "account", "industry", "--dry-run"]) == 0
    assert SECRET not in capsys.readouterr().out
