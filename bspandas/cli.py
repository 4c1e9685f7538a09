"""The ``bspandas`` command line.

bspandas catalog search emails
bspandas catalog describe ootb_emails_sent
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from bspandas import __version__, catalog
from bspandas.errors import BackstoryError, describe_failure

__all__ = ["main"]


def _catalog_search(args: argparse.Namespace) -> int:
    hits = catalog.search(" ".join(args.text), args.object, limit=args.limit)
    if hits.empty:
        print(f"No catalog entry matches {' '.join(args.text)!r}.")
        return 1
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(hits[["object", "slug", "type", "label", "periods"]].to_string(index=False))
    return 0


def _catalog_describe(args: argparse.Namespace) -> int:
    print(catalog.describe(args.slug, args.object))
    return 0


def _demo(args: argparse.Namespace) -> int:
    print("bspandas demo: the end-to-end demo arrives with the sandbox and the client.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bspandas", description="Backstory Query API metrics as typed pandas DataFrames."
    )
    parser.add_argument("--version", action="version", version=f"bspandas {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the day-one analysis on the sandbox")
    demo.set_defaults(func=_demo)

    cat = commands.add_parser("catalog", help="search and describe the metric catalog")
    cat_commands = cat.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    search = cat_commands.add_parser("search", help="find metrics by words")
    search.add_argument("text", nargs="+")
    search.add_argument("--object", choices=catalog.OBJECTS)
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(func=_catalog_search)
    describe = cat_commands.add_parser("describe", help="everything known about a slug")
    describe.add_argument("slug")
    describe.add_argument("--object", choices=catalog.OBJECTS)
    describe.set_defaults(func=_catalog_describe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bspandas`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BackstoryError as exc:
        print(f"bspandas: {describe_failure(exc)}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
