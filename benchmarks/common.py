"""Shared pieces of the benchmarks: timing, a sandbox in its own process, results."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SECRET = "benchmark-secret-not-for-production"
CLIENT_ID = "benchmark"


@dataclass
class Figure:
    """One measured figure with its target; ``ok`` is None when there is no target."""

    bench: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    def mark(self) -> str:
        return "" if self.ok is None else ("pass" if self.ok else "FALLS SHORT")

    def shown(self) -> str:
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "%":
            return f"{self.value:.0f}%"
        if self.unit == "s":
            return f"{self.value:.2f} s"
        return f"{self.value:,.1f} {self.unit}".strip()


def best_of(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs (the least disturbed by the shared machine)."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


@dataclass
class SandboxProcess:
    """A sandbox served by ``python -m bspandas.sandbox`` in a process of its own, so the
    server's CPU and memory never mix with what the benchmark measures."""

    base_url: str
    opportunities: int
    process: subprocess.Popen[str]

    @property
    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
        answer = requests.post(self.base_url + "/v3/auth/tokens", data=form, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])


@contextmanager
def sandbox_process(rows: int, seed: int = 11) -> Iterator[SandboxProcess]:
    accounts = max(1, rows // 5)
    command = [
        sys.executable, "-m", "bspandas.sandbox", "--seed", str(seed),
        "--accounts", str(accounts), "--opportunities-per-account", "5",
        "--users", str(max(10, min(2000, accounts // 50))), "--activities-per-account", "1",
        "--hourly-budget", "0", "--client-id", CLIENT_ID, "--client-secret", SECRET,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        base_url = lines[0].rsplit(" ", 1)[-1].strip()
        opportunities = int(lines[3].split("opportunities=")[1].split()[0])
        yield SandboxProcess(base_url, opportunities, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def machine() -> str:
    """A one-paragraph description of the machine and the library versions."""
    import numpy
    import pandas
    import pyarrow

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores{memory}; "
        f"Python {platform.python_version()}, pandas {pandas.__version__}, "
        f"pyarrow {pyarrow.__version__}, numpy {numpy.__version__}"
    )


def table(figures: list[Figure]) -> str:
    header = "| benchmark | figure | value | target | result |\n|---|---|---|---|---|"
    rows = [f"| {f.bench} | {f.name} | {f.shown()} | {f.target} | {f.mark()} |" for f in figures]
    return "\n".join([header, *rows])
