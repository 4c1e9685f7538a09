"""The ``bspandas`` argument parser: every command, its options and its help.

>>> build_parser().parse_args(["catalog", "describe", "ootb_emails_sent"]).slug
'ootb_emails_sent'
>>> attached(["--sort", "-ootb_churn_risk_score"])
['--sort=-ootb_churn_risk_score']
"""

from __future__ import annotations

import argparse
from typing import Any

from bspandas import catalog
from bspandas._version import __version__
from bspandas.cli.commands import (
    catalog_describe,
    catalog_probe,
    catalog_search,
    demo_command,
    export_command,
    export_file,
    print_query,
    snapshot_command,
)

__all__ = ["attached", "build_parser"]


def _add_probe_command(cat_commands: Any) -> None:
    probe = cat_commands.add_parser(
        "probe", help="ask the tenant which slugs it serves (header lines only)"
    )
    probe.add_argument("object", choices=catalog.OBJECTS)
    probe.add_argument("columns", nargs="*", help="slugs or variation ids (default: all)")
    probe.add_argument("--budget", type=int, help="at most this many requests")
    probe.add_argument("--base-url", help="override BACKSTORY_BASE_URL")
    probe.add_argument("--sandbox", action="store_true", help="probe an embedded sandbox")
    probe.add_argument("--seed", type=int, default=7, help="sandbox tenant seed (with --sandbox)")
    probe.set_defaults(func=catalog_probe)


def _add_dataset_commands(commands: Any, export: argparse.ArgumentParser) -> None:
    """``export --dataset PATH --split-by SLUG:month`` and ``snapshot``."""
    export.add_argument("--dataset", help="write a partitioned Parquet dataset at PATH (or URL)")
    export.add_argument(
        "--split-by", help="SLUG:month|week|quarter|year, one export per window (with --dataset)"
    )
    export.add_argument("--start", help="first day of the windows (with --split-by)")
    export.add_argument("--end", help="end of the windows, excluded (with --split-by)")
    export.add_argument("--chunksize", type=int, default=250_000, help="rows per written chunk")
    export.add_argument("--overwrite", action="store_true", help="replace the dataset at PATH")
    export.set_defaults(func=export_command)

    snap = commands.add_parser("snapshot", help="save today's answer as a dated partition")
    _add_read_options(snap)
    snap.add_argument("--dataset", required=True, help="the snapshots' folder or URL")
    snap.add_argument("--as-of", help="the day to file it under (default: the server's date)")
    snap.set_defaults(func=snapshot_command)


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "object", nargs="?", choices=catalog.OBJECTS, help="account, opportunity..."
    )
    parser.add_argument(
        "columns", nargs="*", help="slugs or variation ids; slug:period[,period] for periods"
    )
    parser.add_argument(
        "--where", help='pandas-query style filter, e.g. "ootb_churn_risk_score >= 70"'
    )
    parser.add_argument("--sort", action="append", help="slug or -slug for descending (repeatable)")
    parser.add_argument(
        "--payload", help="a JSON file with the API payload (object, columns, filter, sort)"
    )
    parser.add_argument("--base-url", help="override BACKSTORY_BASE_URL")
    parser.add_argument("--sandbox", action="store_true", help="read from an embedded sandbox")
    parser.add_argument("--seed", type=int, default=7, help="sandbox tenant seed (with --sandbox)")
    parser.add_argument(
        "--on-missing",
        choices=("raise", "warn", "ignore"),
        default="raise",
        help="what to do when the server drops requested columns",
    )
    parser.add_argument(
        "--no-validate",
        dest="validate",
        action="store_const",
        const=False,
        default="warn",
        help="skip schema validation",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the JSON payload, send nothing"
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``bspandas`` command; each sets ``func`` to what runs it.

    Returns
    -------
    argparse.ArgumentParser
        ``demo``, ``sandbox``, ``catalog search|describe|probe``, ``query``, ``export``
        and ``snapshot``.

    Examples
    --------
    >>> args = build_parser().parse_args(["query", "account", "ootb_emails_sent:last_7_days"])
    >>> (args.object, args.columns, args.func.__name__)
    ('account', ['ootb_emails_sent:last_7_days'], 'print_query')
    """
    parser = argparse.ArgumentParser(
        prog="bspandas", description="Backstory Query API metrics as typed pandas DataFrames."
    )
    parser.add_argument("--version", action="version", version=f"bspandas {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the day-one analysis on the sandbox")
    demo.add_argument("--output", default="bspandas-demo", help="folder for the PNG charts")
    demo.add_argument("--seed", type=int, default=7, help="sandbox tenant seed")
    demo.add_argument("--accounts", type=int, default=400, help="sandbox tenant size")
    demo.set_defaults(func=demo_command)

    from bspandas.sandbox.command import add_parser as add_sandbox

    add_sandbox(commands)

    cat = commands.add_parser("catalog", help="search and describe the metric catalog")
    cat_commands = cat.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    search = cat_commands.add_parser("search", help="find metrics by words")
    search.add_argument("text", nargs="+")
    search.add_argument("--object", choices=catalog.OBJECTS)
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(func=catalog_search)
    describe = cat_commands.add_parser("describe", help="everything known about a slug")
    describe.add_argument("slug")
    describe.add_argument("--object", choices=catalog.OBJECTS)
    describe.set_defaults(func=catalog_describe)
    _add_probe_command(cat_commands)

    query = commands.add_parser("query", help="a quick query printed as a table")
    _add_read_options(query)
    query.add_argument("--limit", type=int, default=20, help="rows to print")
    query.set_defaults(func=print_query)

    export = commands.add_parser("export", help="export to CSV or Parquet (typed columns)")
    _add_read_options(export)
    export.add_argument("-o", "--output", help="file to write (.csv or .parquet)")
    export.add_argument("--format", choices=("csv", "parquet"), help="default: from the suffix")
    export.add_argument("--force", action="store_true", help="overwrite an existing file")
    export.add_argument(
        "--raw",
        action="store_true",
        help="CSV: keep cells starting with = + - @ as they are (by default they get a "
        "leading ' so a spreadsheet does not run them as formulas)",
    )
    export.set_defaults(func=export_file)
    _add_dataset_commands(commands, export)
    return parser


#: Options whose value may start with ``-`` (``--sort -slug``: descending).
_DASH_VALUES = frozenset({"--sort"})


def attached(argv: list[str]) -> list[str]:
    """``--sort -slug`` as ``--sort=-slug``: argparse would read ``-slug`` as an option."""
    out: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            out.append(token)
            out.extend(tokens)
            break
        if token in _DASH_VALUES:
            value = next(tokens, None)
            if value is None:
                out.append(token)
            elif value.startswith("-") and not value.startswith("--"):
                out.append(f"{token}={value}")
            else:
                out.extend([token, value])
            continue
        out.append(token)
    return out
