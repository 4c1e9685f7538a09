"""Quiet by default: a bar only for reads that take longer than about a second, in a
notebook or a terminal; never in CI or a pipe. Time is an injected clock."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator

import pytest
import tqdm.std

import bspandas as bs
from bspandas._http.retry import RetryPolicy
from bspandas._read import progress
from bspandas.sandbox import Sandbox

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)
COLUMNS = ["ootb_account_crm_id", "ootb_account_name"]


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook session: a kernel imported, no setting, not CI."""
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setenv(progress.PROGRESS_ENV, "auto")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "tqdm_class", lambda: tqdm.std.tqdm)


@pytest.fixture
def read_taking(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[float], int]]:
    """``read_taking(seconds)``: a read whose body takes that long on tqdm's clock."""
    sb = sandbox_factory(accounts=400, users=5, seed=2, chunk_bytes=1024)
    now = [1000.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    original = progress.ProgressBody.__iter__
    step = [0.0]

    def ticking(self: progress.ProgressBody) -> Iterator[bytes]:
        for chunk in original(self):
            now[0] += step[0]
            yield chunk

    monkeypatch.setattr(progress.ProgressBody, "__iter__", ticking)
    with sb.client(retry=FAST) as client:

        def read(seconds: float) -> int:
            chunks = 40  # the answer is about 40 KiB in 1 KiB chunks
            step[0] = seconds / chunks
            return len(bs.read_query("account", COLUMNS, client=client))

        yield read


@pytest.mark.usefixtures("notebook")
def test_a_quick_read_in_a_notebook_shows_no_bar(
    read_taking: Callable[[float], int], capsys: pytest.CaptureFixture[str]
) -> None:
    read_taking(0.05)
    assert "account export" not in capsys.readouterr().err


@pytest.mark.usefixtures("notebook")
def test_a_slow_read_in_a_notebook_shows_one(
    read_taking: Callable[[float], int], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = read_taking(3.0)
    err = capsys.readouterr().err
    assert "account export" in err
    assert f"rows={rows}" in err


@pytest.mark.usefixtures("notebook")
def test_never_in_ci(
    read_taking: Callable[[float], int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    read_taking(3.0)
    assert "account export" not in capsys.readouterr().err


@pytest.mark.usefixtures("notebook")
def test_the_setting_and_the_option_force_it(
    read_taking: Callable[[float], int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    read_taking(0.05)
    assert "account export" in capsys.readouterr().err
    monkeypatch.setenv(progress.PROGRESS_ENV, "auto")
    with bs.option_context("progress", False):
        read_taking(3.0)
    assert "account export" not in capsys.readouterr().err
