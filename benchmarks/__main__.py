"""``python -m benchmarks [--quick] [--only B1,B2,...]``: run the suite, print, save."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import dataset, field, read, reshape, serve
from benchmarks.common import Figure, machine, table

RESULTS = Path(__file__).with_name("results.md")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows; under a minute")
    parser.add_argument("--rows", type=int, help="rows for B1-B4 (default 1M, 100k quick)")
    parser.add_argument(
        "--dataset-rows", type=int, help="activities for B5 (default 5M, 500k quick)"
    )
    parser.add_argument(
        "--only", default="B6,B1,B2,B3,B4,B5", help="comma-separated benchmarks (B6: field data)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    parser.add_argument("--no-save", action="store_true", help="do not write results.md")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    only = {x.strip().upper() for x in args.only.split(",")}
    warnings.simplefilter("ignore")  # benchmarks measure speed; the tests check warnings
    started = time.perf_counter()
    figures: list[Figure] = []
    if "B6" in only:
        field_sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
        figures += field.run(rows, args.repeat, field_sizes)
    if only & {"B1", "B3"}:
        figures += read.run_read(rows, args.repeat)
        if "B1" in only:
            figures += read.run_scaling(sizes, args.repeat)
    if "B2" in only:
        figures += reshape.run(rows, args.repeat)
    if "B4" in only:
        figures += serve.run(rows)
    if "B5" in only:
        activities = args.dataset_rows or (500_000 if args.quick else 5_000_000)
        figures += dataset.run(activities, chunksize=min(250_000, max(1_000, activities // 20)))
    elapsed = time.perf_counter() - started
    text = table(figures)
    print(text)
    short = [f for f in figures if f.ok is False]
    print(f"\n{len(figures)} figures in {elapsed:.0f} s; {len(short)} target(s) fall short.")
    if not args.no_save:
        command = "make bench-quick" if args.quick else "make bench"
        if sys.argv[1:] not in ([], ["--quick"]):
            command = "python -m benchmarks " + " ".join(sys.argv[1:])
        RESULTS.write_text(
            f"# Benchmark results\n\nLast run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
            f"`{command}` ({elapsed:.0f} s).\n\nMachine: {machine()}.\n\n{text}\n",
            encoding="utf-8",
        )
        print(f"saved to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
