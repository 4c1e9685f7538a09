"""The client secret and the bearer token never appear anywhere a user or a log could see."""

from __future__ import annotations

import json
import logging
import secrets
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas.cli import main
from bspandas.sandbox import Sandbox, serve
from tests.wire import Sent, Wire, answer, csv_answer, token_answer

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
        # every new token is expired on arrival, though the answer claims an hour (an
        # expires_in of 0 would be refused before use)
        sb.set_faults(token_lifetime=1e-6, advertised_token_lifetime=3600.0)
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


# -- exception chains and tracebacks ------------------------------------------------------------

WIRE_SECRET = "cs-" + secrets.token_urlsafe(24)
WIRE_TOKEN = "tk-" + secrets.token_urlsafe(24)


def traceback_text(error: BaseException) -> str:
    """Everything a traceback formatter with the frames' local variables would print."""
    formatted = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(formatted.format())


def assert_clean(error: BaseException, *values: str) -> None:
    assert error.__cause__ is None
    assert error.__context__ is None
    carried = [
        v
        for v in vars(error).values()
        if isinstance(v, requests.Request | requests.PreparedRequest | requests.Response)
    ]
    assert carried == []
    assert not leaks(traceback_text(error), *values)
    assert not leaks(str(error) + repr(error), *values)


def failing_read(client: Client) -> BaseException:
    try:
        bs.read_query("account", ["ootb_account_name"], client=client)
    except bs.BackstoryError as exc:
        return exc
    raise AssertionError("the read did not fail")


def wire_handler(
    export: Callable[[Sent], bytes], token: bytes | None = None
) -> Callable[[Sent], bytes]:
    def handle(sent: Sent) -> bytes:
        if sent.endpoint == "token":
            return token if token is not None else token_answer(WIRE_TOKEN)
        return export(sent)

    return handle


def raises(exception: type[Exception], *args: Any) -> Callable[[Sent], bytes]:
    def handle(sent: Sent) -> bytes:
        raise exception(*args, request=sent.prepared)  # as requests does: the request rides along

    return handle


def reset_midway(sent: Sent) -> bytes:
    return csv_answer(b"Name\r\n" + b"Acme,\r\n" * 10, pieces=5)


WIRE_FAILURES: dict[str, tuple[Callable[[Sent], bytes], bytes | None, type[Exception]]] = {
    "bad credentials": (
        lambda sent: b"",
        answer(401, b'{"error": "invalid_client"}', {"Content-Type": "application/json"}),
        bs.AuthenticationError,
    ),
    "401 on export": (
        lambda sent: answer(401, f'{{"message": "bad token {WIRE_TOKEN}"}}'.encode()),
        None,
        bs.AuthenticationError,
    ),
    "429": (lambda sent: answer(429, b'{"code": 429}'), None, bs.RateLimitError),
    "500": (lambda sent: answer(500, b'{"message": "sorry"}'), None, bs.ServerError),
    "reset": (
        raises(requests.ConnectionError, "Connection aborted.", ConnectionResetError(104, "reset")),
        None,
        bs.TransportError,
    ),
    "redirect": (
        lambda sent: answer(307, b"", {"Location": f"https://evil.test/?t={WIRE_TOKEN}"}),
        None,
        bs.APIError,
    ),
    "timeout": (raises(requests.ReadTimeout, "Read timed out."), None, bs.TransportError),
    "token redirect": (
        lambda sent: b"",
        answer(308, b"", {"Location": "https://evil.test/tokens"}),
        bs.APIError,
    ),
    "unusable token": (
        lambda sent: b"",
        answer(200, f'{{"access_token": "{WIRE_TOKEN}", "expires_in": -1}}'.encode()),
        bs.AuthenticationError,
    ),
}


@pytest.mark.parametrize("path", list(WIRE_FAILURES))
def test_errors_from_every_failure_path_carry_no_secret(path: str) -> None:
    export, token, expected = WIRE_FAILURES[path]
    wire = Wire(wire_handler(export, token))
    retry = RetryPolicy(attempts=2, backoff=0.0, jitter=0.0)
    client = Client(
        "wire-id",
        WIRE_SECRET,
        "https://api.example.test",
        session=wire,
        retry=retry,
        sleep=lambda s: None,
        environ={},
    )
    with client:
        error = failing_read(client)
    assert isinstance(error, expected)
    assert_clean(error, WIRE_SECRET, WIRE_TOKEN)


@pytest.mark.parametrize(
    ("fault", "secret"),
    [
        ({}, "wrong-" + secrets.token_urlsafe(16)),
        ({"token_lifetime": 1e-6, "advertised_token_lifetime": 3600.0}, None),  # 401, 401
        ({"token_lifetime": 1e-6}, None),  # "expires_in": 0, refused before use
        ({"rate_limit_storm": 10}, None),
        ({"status_schedule": (500,) * 10}, None),
        ({"reset": 10}, None),
        ({"slow_first_byte": 30.0}, None),
    ],
)
def test_errors_over_real_sockets_carry_no_secret(
    sb: Sandbox, fault: dict[str, Any], secret: str | None
) -> None:
    sb.reset()
    sb.set_faults(**fault)
    retry = RetryPolicy(attempts=2, backoff=0.0, jitter=0.0)
    tokens: list[str] = []
    try:
        client = Client(
            sb.client_id, secret or SECRET, sb.base_url, retry=retry, timeout=(5.0, 1.0), environ={}
        )
        original = client._fetch_token

        def remember(*args: Any) -> None:  # every token the client got, to look for it
            original(*args)
            tokens.append(str(client._token))

        client._fetch_token = remember  # type: ignore[method-assign]
        with client:
            error = failing_read(client)
    finally:
        sb.reset_faults()
    assert_clean(error, SECRET, secret or SECRET, *tokens)
