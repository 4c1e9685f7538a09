"""B4: generating the tenant and serving it, against raw loopback throughput."""

from __future__ import annotations

import socket
import threading
import time

from benchmarks.common import Figure
from bspandas.sandbox.benchmark import measure


def loopback_mb_per_s(megabytes: float) -> float:
    """Throughput of a bare TCP socket on loopback sending as many bytes (the ceiling)."""
    size = int(megabytes * 1e6)
    block = b"x" * (1 << 20)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def send() -> None:
        connection, _ = server.accept()
        with connection:
            sent = 0
            while sent < size:
                connection.sendall(block)
                sent += len(block)

    thread = threading.Thread(target=send)
    thread.start()
    started = time.perf_counter()
    received = 0
    with socket.create_connection(("127.0.0.1", port)) as client:
        while received < size:
            data = client.recv(1 << 20)
            if not data:
                break
            received += len(data)
    elapsed = time.perf_counter() - started
    thread.join()
    server.close()
    return received / 1e6 / elapsed


def run(rows: int) -> list[Figure]:
    figures = measure(accounts=max(1, rows // 5), activities_per_account=1.0, users=2000)
    ceiling = loopback_mb_per_s(figures["megabytes"])
    tag = f"B4 sandbox {int(figures['opportunities']):,} opportunities"
    return [
        Figure(tag, "tenant generation", figures["generation_s"], "s"),
        Figure(tag, "serving throughput, first answer (renders)", figures["mb_per_s"], "MB/s"),
        Figure(tag, "serving throughput, same answer again", figures["mb_per_s_repeat"], "MB/s"),
        Figure(tag, "raw loopback socket throughput (same run)", ceiling, "MB/s"),
        Figure(tag, "first answer / raw loopback", figures["mb_per_s"] / ceiling, "x"),
        Figure(tag, "answer again / raw loopback", figures["mb_per_s_repeat"] / ceiling, "x"),
    ]
