from __future__ import annotations

import pytest

from bspandas._exceptions import PacingWarning, RateLimitError
from bspandas._http.pacer import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_budget_is_a_rolling_window() -> None:
    clock = FakeClock()
    pacer = Pacer(3, 60.0, clock=clock, sleep=clock.sleep)
    assert [pacer.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 10
    with pytest.warns(PacingWarning, match="waiting 50 s"):
        assert pacer.acquire() == pytest.approx(50.0)
    assert clock.slept == [pytest.approx(50.0)]
    assert pacer.used() == 1  # the three first requests left the window together


def test_max_wait_raises_instead_of_sleeping() -> None:
    clock = FakeClock()
    pacer = Pacer(1, 3600.0, max_wait=5, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    with pytest.raises(RateLimitError, match="max_wait=5"):
        pacer.acquire()
    assert clock.slept == []


def test_remaining_recovers_after_the_window() -> None:
    clock = FakeClock()
    pacer = Pacer(2, 100.0, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.acquire()
    assert pacer.remaining() == 0
    clock.now += 100
    assert pacer.remaining() == 2


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(0)


def test_margin_keeps_a_request_in_the_window_a_little_longer() -> None:
    clock = FakeClock()
    pacer = Pacer(2, 60.0, margin=1.5, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.acquire()
    clock.now += 60
    assert pacer.remaining() == 0  # the server may have counted them a moment later
    with pytest.warns(PacingWarning, match="waiting 2 s"):
        assert pacer.acquire() == pytest.approx(1.5)
    assert pacer.used() == 1


def test_a_call_can_tighten_the_wait_bound_and_name_it() -> None:
    clock = FakeClock()
    pacer = Pacer(1, 3600.0, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    with pytest.raises(RateLimitError, match="beyond the read's deadline"):
        pacer.acquire(100.0, why="the read's deadline")
    assert clock.slept == []
    with pytest.warns(PacingWarning):
        assert pacer.acquire(4000.0) == pytest.approx(3600.0)


def test_margin_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="margin"):
        Pacer(1, margin=-1)
