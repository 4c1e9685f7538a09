"""The retry owner: Retry-After (seconds, and HTTP dates measured on the server's clock or
the client's injectable wall clock, never the machine's), and the client waiting what it
says. No test sleeps: clocks and sleeps are injected."""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import pytest

from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy, retry_after
from tests.wire import Sent, Wire, answer, csv_answer, token_answer

#: A moment far from any machine's clock (so a wall-clock reading cannot pass by accident).
SERVED = 1_956_528_000.0  # 2032-01-01 00:00:00 UTC
POLICY = RetryPolicy(attempts=3, backoff=1.0, max_backoff=8.0, max_time=600, jitter=0.0)


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def no_wall_clock() -> float:
    raise AssertionError("the machine's wall clock was read")


@pytest.fixture
def machine_clock_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """time.time() fails the test: only the answer's Date or the injected clock may count."""
    monkeypatch.setattr(time, "time", no_wall_clock)


def test_retry_after_in_seconds_is_taken_as_is() -> None:
    assert retry_after({"Retry-After": "40"}, now=no_wall_clock) == 40.0
    assert retry_after({"Retry-After": " 7 "}, now=no_wall_clock) == 7.0


def test_retry_after_date_is_measured_against_the_answers_date(
    machine_clock_forbidden: None,
) -> None:
    headers = {"Retry-After": http_date(SERVED + 30), "Date": http_date(SERVED)}
    assert retry_after(headers, now=no_wall_clock) == 30.0


def test_retry_after_date_without_a_date_header_uses_the_injected_clock(
    machine_clock_forbidden: None,
) -> None:
    headers = {"Retry-After": http_date(SERVED + 90)}
    assert retry_after(headers, now=lambda: SERVED) == 90.0
    assert retry_after(headers, now=lambda: SERVED + 120) == 0.0  # already passed: no wait


def test_retry_after_date_with_an_unreadable_date_header_uses_the_injected_clock() -> None:
    headers = {"Retry-After": http_date(SERVED + 12), "Date": "yesterday-ish"}
    assert retry_after(headers, now=lambda: SERVED) == 12.0


def test_retry_after_minus_zero_zone_is_gmt_not_local_time() -> None:
    """RFC 5322's "-0000" zone is read as UTC, not as the machine's local time."""
    headers = {"Retry-After": "Thu, 01 Jan 2032 00:00:45 -0000", "Date": http_date(SERVED)}
    assert retry_after(headers, now=no_wall_clock) == 45.0


@pytest.mark.parametrize("value", ["", "soon", "Thu, 99 Foo 2032 99:99:99 GMT", "-5"])
def test_unreadable_retry_after_is_none(value: str) -> None:
    assert retry_after({"Retry-After": value}, now=lambda: SERVED) is None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.delays: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds


def busy_then_csv(headers: dict[str, str]) -> Wire:
    """A server that answers the first export 503 with ``headers``, then a small CSV."""
    exports: list[int] = []
    lock = threading.Lock()

    def server(sent: Sent) -> bytes:
        if sent.endpoint == "token":
            return token_answer("tok-abcdefgh-0001")
        with lock:
            exports.append(1)
            first = len(exports) == 1
        if first:
            return answer(503, b"busy", {"Content-Type": "text/plain", **headers})
        return csv_answer(b"id,name\n1,a\n")

    return Wire(server)


def export(client: Client) -> bytes:
    return client.export({"object": "account"}, lambda body: b"".join(body))


def make_client(wire: Wire, clock: Clock, **options: Any) -> Client:
    return Client(
        "wire-id",
        "cs-retry-secret-0123456789",
        "https://api.example.test",
        session=wire,
        retry=POLICY,
        clock=clock,
        sleep=clock.sleep,
        environ={},
        **options,
    )


def test_client_waits_a_retry_after_date_on_the_servers_clock() -> None:
    """The machine's clock is years away from the server's: the wait is still the 30 s the
    server meant (before the fix: Retry-After minus time.time(), years, past max_time)."""
    clock = Clock()
    wire = busy_then_csv({"Retry-After": http_date(SERVED + 30), "Date": http_date(SERVED)})
    with make_client(wire, clock) as client:
        assert export(client) == b"id,name\n1,a\n"
    assert clock.delays == [30.0]


def test_client_measures_a_dateless_retry_after_on_its_wall_clock() -> None:
    clock = Clock()
    wire = busy_then_csv({"Retry-After": http_date(SERVED + 25)})
    with make_client(wire, clock, wall_clock=lambda: SERVED) as client:
        assert export(client) == b"id,name\n1,a\n"
    assert clock.delays == [25.0]
