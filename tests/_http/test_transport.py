"""Failures of the connection itself, as a user meets them."""

from __future__ import annotations

import socket

import pytest

import bspandas as bs
from bspandas._http.transport import refused_locally, transport_error


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_stopped_sandbox_fails_at_once_and_says_what_to_do() -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{_closed_port()}"
    client = bs.Client("id", "s3cret-value", url, sleep=waits.append)
    with pytest.raises(bs.TransportError) as info:
        bs.read_query("account", ["ootb_account_name"], client=client)
    message = str(info.value)
    assert message.startswith(f"Nothing is listening at {url}: the connection was refused")
    assert "bs.sandbox.serve()" in message
    assert waits == []  # nothing will start listening by itself: no retries
    assert "s3cret-value" not in message
    assert "Pool" not in message
    assert "urllib3" not in message
    assert ".." not in message


def test_refused_elsewhere_is_retried_and_points_at_the_network() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert not refused_locally(refused, "https://api.example.com")
    error = transport_error(refused, "exporting", "https://api.example.com/v3/x")
    assert str(error) == (
        "Nothing is listening at https://api.example.com: the connection was refused while "
        "exporting; check the base URL and the network."
    )


def test_other_failures_keep_their_detail() -> None:
    error = transport_error(ConnectionResetError(104, "Connection reset by peer"), "exporting")
    assert "Connection reset by peer" in str(error)
