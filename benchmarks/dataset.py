"""B5 (datasets): ``export_dataset`` of a large activity log against one ``read_query``.

Both read the same rows and columns from a sandbox in a process of its own; each runs in a
fresh Python process of its own too, so its peak memory is its own:

* read_query: the whole activity log in one frame (``validate=False``);
* export_dataset: the same rows, one export per month, streamed to Parquet in chunks of
  ``chunksize`` rows (``validate=False``; no pacing: the sandbox has no budget here).

Memory is the growth of the process's peak resident set (``VmHWM``, reset after a warm-up)
over its resident set before the operation; the target is at most 0.5x of read_query's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from benchmarks.common import CLIENT_ID, SECRET, Figure

COLUMNS = [
    "ootb_activity_uid",
    "ootb_activity_timestamp",
    "ootb_activity_type",
    "ootb_activity_external",
    "ootb_activity_outbound",
    "ootb_activity_account",
]
PER_ACCOUNT = 40
START, END = "2024-10-01", "2026-12-01"  # the tenant's whole history and its future meetings

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    def status(key):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # MiB
        return float("nan")

    mode, url, key, secret, columns, start, end, folder, chunksize, unit = json.loads(sys.argv[1])
    import bspandas as bs
    client = bs.Client(key, secret, url, hourly_budget=100_000, environ={})
    warm = "ootb_activity_timestamp >= '2026-10-01' and ootb_activity_timestamp < '2026-10-02'"
    bs.read_query("activity", columns, where=warm, client=client, validate=False)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    except OSError:
        pass
    before = status("VmRSS")
    sent = client.requests_sent
    started = time.perf_counter()
    if mode == "read":
        frame = bs.read_query("activity", columns, client=client, validate=False)
        rows = len(frame)
    else:
        plan = bs.export_dataset(
            "activity", columns, folder, split_by=("ootb_activity_timestamp", unit),
            start=start, end=end, client=client, validate=False, chunksize=chunksize,
        )
        rows = sum(r.rows for r in plan.results)
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": elapsed, "growth_mib": status("VmHWM") - before,
                      "requests": client.requests_sent - sent}))
    """
)


@contextmanager
def activity_sandbox(rows: int, seed: int = 11) -> Iterator[str]:
    """A sandbox process whose activity log holds about ``rows`` rows; yields its URL."""
    command = [
        sys.executable, "-m", "bspandas.sandbox", "--seed", str(seed),
        "--accounts", str(max(1, rows // PER_ACCOUNT)), "--users", "500",
        "--opportunities-per-account", "1", "--contacts-per-account", "2",
        "--activities-per-account", str(PER_ACCOUNT), "--hourly-budget", "0",
        "--client-id", CLIENT_ID, "--client-secret", SECRET,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()


def warm_up(url: str) -> None:
    """Let the server build the activity log and render its columns before anything is
    timed (both measured runs then find the same warm server)."""
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    token = requests.post(url + "/v3/auth/tokens", data=form, timeout=600).json()["access_token"]
    body = {"object": "activity", "columns": [{"slug": c} for c in COLUMNS]}
    with requests.post(
        url + "/v3/beta/insights/export", json=body, stream=True, timeout=1200,
        headers={"Authorization": f"Bearer {token}"},
    ) as answer:  # fmt: skip
        for _ in answer.iter_content(1 << 20):
            pass


def measure(mode: str, url: str, folder: str, chunksize: int, unit: str) -> dict[str, Any]:
    argument = json.dumps(
        [mode, url, CLIENT_ID, SECRET, COLUMNS, START, END, folder, chunksize, unit]
    )
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, argument], capture_output=True, text=True, check=True,
        timeout=3600,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(rows: int, chunksize: int = 250_000, unit: str = "month") -> list[Figure]:
    with activity_sandbox(rows) as url, tempfile.TemporaryDirectory() as folder:
        warm_up(url)
        read = measure("read", url, folder, chunksize, unit)
        export = measure("export", url, f"{folder}/activity", chunksize, unit)
    if export["rows"] != read["rows"]:
        raise RuntimeError(
            f"the export wrote {export['rows']} rows, read_query read {read['rows']}"
        )
    tag = f"B5 dataset {read['rows']:,} activities"
    memory = export["growth_mib"] / read["growth_mib"]
    return [
        Figure(tag, "read_query: wall time", read["seconds"], "s"),
        Figure(tag, f"export_dataset by {unit}: wall time", export["seconds"], "s"),
        Figure(
            tag, f"export_dataset requests (read_query: {read['requests']})", export["requests"], ""
        ),
        Figure(tag, "export time / read_query time", export["seconds"] / read["seconds"], "x"),
        Figure(tag, "read_query: peak memory growth", read["growth_mib"], "MiB"),
        Figure(
            tag,
            f"export_dataset: peak memory growth (chunks of {chunksize:,})",
            export["growth_mib"],
            "MiB",
        ),
        Figure(tag, "export memory / read_query memory", memory, "x", "<= 0.5x", memory <= 0.5),
    ]
