"""What each command does: catalog search/describe/probe, query, export (a file or a
partitioned dataset), snapshot and demo. Each takes the parsed arguments and returns the
exit status.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from bspandas import catalog
from bspandas.cli import session
from bspandas.cli.output import output_format, printable, visible, write_file
from bspandas.cli.request import column_arg, query_from_args
from bspandas.cli.session import CommandError

__all__ = [
    "catalog_describe",
    "catalog_probe",
    "catalog_search",
    "demo_command",
    "export_command",
    "export_file",
    "print_query",
    "snapshot_command",
]


def catalog_search(args: argparse.Namespace) -> int:
    hits = catalog.search(" ".join(args.text), args.object, limit=args.limit)
    if hits.empty:
        print(f"No catalog entry matches {' '.join(args.text)!r}.")
        return 1
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        shown = printable(hits[["object", "slug", "type", "label", "periods"]])
        print(shown.to_string(index=False))
    return 0


def catalog_describe(args: argparse.Namespace) -> int:
    text = str(catalog.describe(args.slug, args.object))
    print("\n".join(visible(line) for line in text.splitlines()))
    return 0


def catalog_probe(args: argparse.Namespace) -> int:
    """Which of the columns the tenant serves, and under which header labels."""
    with session._client(args) as client:
        frame = catalog.probe(
            args.object,
            [column_arg(c) for c in args.columns] or None,  # slug:period as read takes it
            client=client,
            budget=args.budget,
            cache=not args.sandbox,  # an embedded sandbox is gone when the command ends
        )
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(printable(frame).to_string(index=False))
    print(f"{frame.attrs['requests']} request(s) used.")
    return 0 if bool(frame["served"].fillna(True).all()) else 1


def _read(args: argparse.Namespace) -> pd.DataFrame:
    from bspandas._read.reader import read_query

    query = query_from_args(args)
    if args.dry_run:
        print(query.to_json())
        return pd.DataFrame()
    with session._client(args) as client:
        frame: pd.DataFrame = read_query(
            query,
            client=client,
            validate=args.validate,
            on_missing=args.on_missing,
            progress=False,
        )
    return frame


def print_query(args: argparse.Namespace) -> int:
    frame = _read(args)
    if args.dry_run:
        return 0
    shown = printable(frame.head(args.limit))
    with pd.option_context(
        "display.max_columns", None, "display.width", 200, "display.max_colwidth", 40
    ):
        print(shown.to_string(index=False) if len(shown) else "(no rows)")
    if len(frame) > len(shown):
        print(f"... {len(frame) - len(shown)} more rows ({len(frame)} in all)")
    return 0


def export_file(args: argparse.Namespace) -> int:
    output = Path(args.output)
    fmt = args.format
    if not args.dry_run:
        fmt = output_format(output, args.format, args.force)
    frame = _read(args)
    if args.dry_run or fmt is None:
        return 0
    write_file(frame, output, fmt, force=args.force, raw=args.raw)
    print(f"wrote {len(frame)} rows x {frame.shape[1]} columns to {visible(str(output))} ({fmt})")
    return 0


def _dataset_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """object, columns, where and filter of a dataset command (from its read options)."""
    query = query_from_args(args)
    return {
        "object": query.object,
        "columns": [c.api() for c in query.columns],
        "filter": None if query.filter is None else query.filter.to_api(),
    }


def export_command(args: argparse.Namespace) -> int:
    """``export``: one file with ``-o``, or a partitioned dataset with ``--dataset``."""
    if args.dataset:
        return _export_dataset(args)
    alone = [f for f, v in (("--split-by", args.split_by), ("--start", args.start),
                            ("--end", args.end)) if v is not None]  # fmt: skip
    if alone:
        raise CommandError(f"{' and '.join(alone)} only apply with --dataset PATH")
    if not args.output:
        raise CommandError("give -o FILE (one file) or --dataset PATH (a partitioned dataset)")
    return export_file(args)


def _export_dataset(args: argparse.Namespace) -> int:
    from bspandas.frame.dataset import export_dataset

    spec = _dataset_arguments(args)
    options: dict[str, Any] = {
        "split_by": args.split_by,
        "start": args.start,
        "end": args.end,
        "chunksize": args.chunksize,
        "validate": args.validate,
        "overwrite": args.overwrite,
    }
    if args.dry_run:
        plan = export_dataset(spec["object"], spec["columns"], args.dataset, filter=spec["filter"],
                              dry_run=True, **options)  # fmt: skip
        print(plan.describe())
        print(plan.to_frame().to_string(index=False))
        return 0
    with session._client(args) as client:
        plan = export_dataset(
            spec["object"], spec["columns"], args.dataset, filter=spec["filter"], client=client,
            progress=True, **options,
        )  # fmt: skip
    sent = sum(1 for r in plan.results if not r.skipped)
    rows = sum(r.rows for r in plan.results)
    print(f"{args.dataset}: {len(plan.results)} windows ({sent} exported now), {rows} rows")
    return 0


def snapshot_command(args: argparse.Namespace) -> int:
    from bspandas.frame.snapshot import snapshot

    spec = _dataset_arguments(args)
    if args.dry_run:
        print(json.dumps({"object": spec["object"], "columns": spec["columns"],
                          "filter": spec["filter"]}, indent=2))  # fmt: skip
        return 0
    with session._client(args) as client:
        day = snapshot(
            spec["object"], spec["columns"], args.dataset, filter=spec["filter"],
            as_of=args.as_of, client=client, validate=args.validate,
        )  # fmt: skip
    print(f"{args.dataset}: snapshot={day} written")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from bspandas.demo import run_demo

    return run_demo(output=Path(args.output), seed=args.seed, accounts=args.accounts)
