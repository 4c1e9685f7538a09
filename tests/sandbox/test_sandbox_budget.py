"""The sandbox tells its clients its budget: ``sb.client()`` and ``bs.connect`` pace to it."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import pytest

import bspandas as bs
from bspandas._http.default import set_default_client
from bspandas._http.pacer import DEFAULT_HOURLY_BUDGET, UNLIMITED_BUDGET
from bspandas._http.retry import RetryPolicy
from bspandas.sandbox import Sandbox
from bspandas.sandbox.command import build_parser
from bspandas.sandbox.command import run as run_sandbox

FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05, max_time=5)
COLUMNS = ["ootb_account_name"]


def test_the_real_budget_stays_the_default() -> None:
    assert Sandbox(accounts=3, users=2).faults.hourly_budget == 100 == DEFAULT_HOURLY_BUDGET


@pytest.mark.parametrize(("budget", "paced"), [(500, 500), (0, UNLIMITED_BUDGET), (100, 100)])
def test_sandbox_clients_and_connect_agree_with_the_sandbox(
    sandbox_factory: Callable[..., Sandbox], budget: int, paced: int
) -> None:
    sb = sandbox_factory(accounts=5, users=2, hourly_budget=budget)
    with sb.client(retry=FAST) as own:
        bs.read_query("account", COLUMNS, client=own)
        assert own.pacer.budget == paced
    connected = bs.connect(sb.client_id, sb.client_secret, sb.base_url, environ={})
    try:
        bs.read_query("account", COLUMNS)
        assert connected.pacer.budget == paced
    finally:
        set_default_client(None)
        connected.close()


def test_an_explicit_budget_wins(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(accounts=5, users=2, hourly_budget=500)
    with sb.client(retry=FAST, hourly_budget=7) as client:
        bs.read_query("account", COLUMNS, client=client)
        assert client.pacer.budget == 7


def test_a_small_sandbox_budget_is_paced_not_answered_with_429(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(accounts=5, users=2, hourly_budget=3, budget_window=60.0)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        sb.advance_clock(seconds)

    with sb.client(retry=FAST, clock=lambda: now[0], sleep=sleep) as client:
        for _ in range(3):
            bs.read_query("account", COLUMNS, client=client)
        with pytest.warns(bs.PacingWarning, match="3 export requests per 60 s"):
            bs.read_query("account", COLUMNS, client=client)
    assert sb.count(fault="budget") == 0
    assert sb.count(endpoint="export", status=200) == 4


def test_the_command_line_prints_the_budget() -> None:
    for argv, expected in (
        ([], "budget: 100 export requests per client per hour"),
        (["--hourly-budget", "0"], "budget: unlimited export requests"),
    ):
        args = build_parser().parse_args(["--accounts", "3", "--users", "2", *argv])
        out, err = io.StringIO(), io.StringIO()
        stop = threading.Event()
        stop.set()
        assert run_sandbox(args, stop=stop, out=out, err=err) == 0
        assert expected in out.getvalue()
