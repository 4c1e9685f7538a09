"""The ``bspandas`` command line.

    bspandas demo                                  # the day-one analysis on the sandbox
    bspandas sandbox --port 8080                   # a local Query API until Ctrl-C
    bspandas catalog search emails sent
    bspandas catalog describe ootb_emails_sent
    bspandas query account ootb_account_name --where "ootb_churn_risk_score > 80"
    bspandas export opportunity --payload payload.json -o deals.parquet
    bspandas export activity ootb_activity_uid ootb_activity_timestamp \\
        --dataset s3://bucket/activity --split-by ootb_activity_timestamp:month
    bspandas snapshot account ootb_account_crm_id ootb_churn_risk_score --dataset snaps/

``query`` and ``export`` use the credentials of ``BACKSTORY_*`` / the config file, or an
embedded sandbox with ``--sandbox``. Errors are one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from bspandas import catalog
from bspandas._exceptions import BackstoryError, MissingCredentialsError
from bspandas._messages import describe_failure
from bspandas._version import __version__

__all__ = ["build_parser", "main"]


#: ``('slug', 'period')`` in a message, written as the CLI takes it: ``slug:period``.
_CLI_PAIR = re.compile(r"\('([\w.-]+)', '([\w.-]+)'\)")


class CommandError(Exception):
    """A usage problem reported as one line with exit status 2."""


def _catalog_search(args: argparse.Namespace) -> int:
    hits = catalog.search(" ".join(args.text), args.object, limit=args.limit)
    if hits.empty:
        print(f"No catalog entry matches {' '.join(args.text)!r}.")
        return 1
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        shown = _printable(hits[["object", "slug", "type", "label", "periods"]])
        print(shown.to_string(index=False))
    return 0


def _catalog_describe(args: argparse.Namespace) -> int:
    text = str(catalog.describe(args.slug, args.object))
    print("\n".join(_visible(line) for line in text.splitlines()))
    return 0


def _catalog_probe(args: argparse.Namespace) -> int:
    """Which of the columns the tenant serves, and under which header labels."""
    with _client(args) as client:
        frame = catalog.probe(
            args.object,
            args.columns or None,
            client=client,
            budget=args.budget,
            cache=not args.sandbox,  # an embedded sandbox is gone when the command ends
        )
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(_printable(frame).to_string(index=False))
    print(f"{frame.attrs['requests']} request(s) used.")
    return 0 if bool(frame["served"].fillna(True).all()) else 1


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
    probe.set_defaults(func=_catalog_probe)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    """The client a command reads with: an embedded sandbox, or the configured tenant."""
    from bspandas._http.client import Client

    if getattr(args, "sandbox", False):
        from bspandas import sandbox

        with sandbox.serve(seed=args.seed) as sb, sb.client() as client:
            yield client
        return
    with Client(base_url=args.base_url) as client:
        yield client


_PAYLOAD_KEYS = ("object", "columns", "filter", "sort")
_SORT_SHAPE = '[{"attribute": {"slug": ..., "variation_id": ...}, "direction": "asc"|"desc"}]'


def _sort_from_payload(items: Any, source: str) -> list[tuple[Any, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise CommandError(f"{source}: 'sort' must be a list like {_SORT_SHAPE}")
    sort = []
    for item in items:
        attribute = item.get("attribute") if isinstance(item, dict) else None
        direction = item.get("direction", "asc") if isinstance(item, dict) else None
        if (
            not isinstance(attribute, dict)
            or not isinstance(attribute.get("slug"), str)
            or not isinstance(attribute.get("variation_id", ""), str | None)
            or set(attribute) - {"slug", "variation_id"}
            or set(item) - {"attribute", "direction"}
            or direction not in ("asc", "desc")
        ):
            raise CommandError(f"{source}: each 'sort' item must look like {_SORT_SHAPE}")
        spec: Any = attribute["slug"]
        if attribute.get("variation_id"):
            spec = {"slug": attribute["slug"], "variation_id": attribute["variation_id"]}
        sort.append((spec, direction))
    return sort


def _read_payload(source: str) -> dict[str, Any]:
    """The payload file as a dict of the keys the export takes, or a one-line error."""
    try:
        payload = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CommandError(f"cannot read the payload file {source}: {reason}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("object"), str):
        raise CommandError(f"{source} must be a JSON object with 'object' (a string) and 'columns'")
    unknown = sorted(set(payload) - set(_PAYLOAD_KEYS))
    if unknown:
        raise CommandError(
            f"{source} has keys bspandas does not send ({', '.join(unknown)}); "
            f"a payload holds {', '.join(_PAYLOAD_KEYS)}"
        )
    if not isinstance(payload.get("columns"), list) or not payload["columns"]:
        raise CommandError(f"{source}: 'columns' must be a non-empty list of column specs")
    if not isinstance(payload.get("filter", {}), dict):
        raise CommandError(f"{source}: 'filter' must be a JSON object (the API's filter)")
    return payload


def _query_from_args(args: argparse.Namespace) -> Any:
    from bspandas.query.builder import Query

    if args.payload:
        payload = _read_payload(args.payload)
        if args.object and args.object != payload["object"]:
            raise CommandError(f"the payload is for {payload['object']!r}, not {args.object!r}")
        sort = _sort_from_payload(payload.get("sort"), args.payload)
        return Query(
            payload["object"],
            payload.get("columns"),
            filter=payload.get("filter"),
            where=args.where,
            sort=[_plain_sort(s) for s in sort] or None,
            variables={},
        )
    if not args.object or not args.columns:
        raise CommandError("give OBJECT and COLUMNS, or --payload FILE")
    return Query(
        args.object,
        [_column_arg(c) for c in args.columns],
        where=args.where,
        sort=args.sort,
        variables={},
    )


def _plain_sort(item: tuple[Any, str]) -> tuple[Any, str]:
    spec, direction = item
    if isinstance(spec, dict) and "variation_id" in spec:
        return spec["variation_id"], direction
    return spec, direction


def _column_arg(text: str) -> Any:
    """``slug`` or ``slug:period[,period]`` from the command line."""
    if ":" in text:
        slug, periods = text.split(":", 1)
        return (slug, periods.split(","))
    return text


def _read(args: argparse.Namespace) -> pd.DataFrame:
    from bspandas._read.reader import read_query

    query = _query_from_args(args)
    if args.dry_run:
        print(query.to_json())
        return pd.DataFrame()
    with _client(args) as client:
        frame: pd.DataFrame = read_query(
            query,
            client=client,
            validate=args.validate,
            on_missing=args.on_missing,
            progress=False,
        )
    return frame


def _visible(text: str) -> str:
    """Control and format characters (escape sequences, CR, bidi overrides) spelled out, so
    printed data cannot move the cursor, recolour or rewrite a terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _printable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a frame for printing: every text cell and label through :func:`_visible`."""
    out = frame.rename(columns=lambda c: _visible(c) if isinstance(c, str) else c)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_datetime64_any_dtype(
            column.dtype
        ):
            continue
        values = column.astype(object)
        hidden = values.map(lambda v: isinstance(v, str) and not v.isprintable()).astype(bool)
        if hidden.any():
            values[hidden] = [_visible(v) for v in values[hidden]]
            out.isetitem(position, values.to_numpy())
    return out


def _query(args: argparse.Namespace) -> int:
    frame = _read(args)
    if args.dry_run:
        return 0
    shown = _printable(frame.head(args.limit))
    with pd.option_context(
        "display.max_columns", None, "display.width", 200, "display.max_colwidth", 40
    ):
        print(shown.to_string(index=False) if len(shown) else "(no rows)")
    if len(frame) > len(shown):
        print(f"... {len(frame) - len(shown)} more rows ({len(frame)} in all)")
    return 0


_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
#: A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _output_format(output: Path, fmt: str | None, force: bool) -> str:
    """The format to write, after checking the path: one line of error, nothing read yet."""
    suffix = output.suffix.lower()
    known = ", ".join(_SUFFIXES)
    if suffix in _SPREADSHEETS:
        raise CommandError(
            f"cannot write {output}: bspandas writes no spreadsheet files; use one of {known} "
            "(a spreadsheet opens the .csv)"
        )
    if fmt is None:
        if suffix not in _SUFFIXES:
            raise CommandError(
                f"cannot tell the format of {output} from its suffix: use one of {known}, "
                "or give --format csv|parquet"
            )
        fmt = _SUFFIXES[suffix]
    if output.is_dir():
        raise CommandError(f"cannot write {output}: it is a folder; name a file inside it")
    if not output.parent.is_dir():
        raise CommandError(f"cannot write {output}: the folder {output.parent} does not exist")
    if (output.exists() or output.is_symlink()) and not force:
        raise CommandError(f"{output} exists: pass --force to overwrite it")
    return fmt


def _neutralised(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells (and labels) a spreadsheet would run as formulas get a leading ``'``.

    Numbers, dates and booleans are left alone (``-5`` stays a number); only the cells
    that change are rewritten, so the rest of the file is what ``to_csv`` writes anyway.
    """
    out = frame.rename(columns=lambda c: _neutralised(c) if isinstance(c, str) else c)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        dtype = column.dtype
        if (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)
            or pd.api.types.is_timedelta64_dtype(dtype)
        ):
            continue
        values = column.astype(object)
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
        risky = risky.astype(bool)
        if risky.any():
            values[risky] = [_neutralised(v) for v in values[risky]]
            out.isetitem(position, values.to_numpy())
    return out


def _iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of the catalog's date type as ISO dates (``2026-07-01``), not timestamps at
    midnight UTC (``2026-07-01 00:00:00+00:00``): what the API sent and a spreadsheet wants."""
    from bspandas.catalog.resolve import parse_name

    obj = frame.attrs.get("backstory", {}).get("object")
    if not isinstance(obj, str):
        return frame
    out = frame
    for position, name in enumerate(frame.columns):
        found = parse_name(str(name), obj) if isinstance(name, str) else None
        column = frame.iloc[:, position]
        if found is None or found[2].type != "date":
            continue
        if not pd.api.types.is_datetime64_any_dtype(column.dtype):
            continue
        if out is frame:
            out = frame.copy()
        out.isetitem(position, column.dt.strftime("%Y-%m-%d").astype(object))
    return out


def _write(frame: pd.DataFrame, output: Path, fmt: str, *, force: bool, raw: bool) -> None:
    """Write the file; without ``force`` it is created exclusively (never overwritten)."""
    mode = "wb" if force else "xb"
    try:
        with open(output, mode) as handle:
            try:
                if fmt == "parquet":
                    frame.to_parquet(handle, index=False)
                else:
                    data = _iso_dates(frame)
                    data = data if raw else _csv_safe(data)
                    # CRLF rows (RFC 4180): a cell holding a lone CR is then quoted too
                    with io.TextIOWrapper(handle, encoding="utf-8", newline="") as text:
                        data.to_csv(text, index=False, lineterminator="\r\n")
            except BaseException:
                handle.close()
                output.unlink(missing_ok=True)  # the partial file is ours: do not leave it
                raise
    except FileExistsError:
        raise CommandError(f"{output} exists: pass --force to overwrite it") from None
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot write {output}: {exc}") from None


def _export(args: argparse.Namespace) -> int:
    output = Path(args.output)
    fmt = args.format
    if not args.dry_run:
        fmt = _output_format(output, args.format, args.force)
    frame = _read(args)
    if args.dry_run or fmt is None:
        return 0
    _write(frame, output, fmt, force=args.force, raw=args.raw)
    print(f"wrote {len(frame)} rows x {frame.shape[1]} columns to {_visible(str(output))} ({fmt})")
    return 0


def _dataset_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """object, columns, where and filter of a dataset command (from its read options)."""
    query = _query_from_args(args)
    return {
        "object": query.object,
        "columns": [c.api() for c in query.columns],
        "filter": None if query.filter is None else query.filter.to_api(),
    }


def _export_command(args: argparse.Namespace) -> int:
    """``export``: one file with ``-o``, or a partitioned dataset with ``--dataset``."""
    if args.dataset:
        return _export_dataset(args)
    alone = [f for f, v in (("--split-by", args.split_by), ("--start", args.start),
                            ("--end", args.end)) if v is not None]  # fmt: skip
    if alone:
        raise CommandError(f"{' and '.join(alone)} only apply with --dataset PATH")
    if not args.output:
        raise CommandError("give -o FILE (one file) or --dataset PATH (a partitioned dataset)")
    return _export(args)


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
    with _client(args) as client:
        plan = export_dataset(
            spec["object"], spec["columns"], args.dataset, filter=spec["filter"], client=client,
            progress=True, **options,
        )  # fmt: skip
    sent = sum(1 for r in plan.results if not r.skipped)
    rows = sum(r.rows for r in plan.results)
    print(f"{args.dataset}: {len(plan.results)} windows ({sent} exported now), {rows} rows")
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    from bspandas.frame.snapshot import snapshot

    spec = _dataset_arguments(args)
    if args.dry_run:
        print(json.dumps({"object": spec["object"], "columns": spec["columns"],
                          "filter": spec["filter"]}, indent=2))  # fmt: skip
        return 0
    with _client(args) as client:
        day = snapshot(
            spec["object"], spec["columns"], args.dataset, filter=spec["filter"],
            as_of=args.as_of, client=client, validate=args.validate,
        )  # fmt: skip
    print(f"{args.dataset}: snapshot={day} written")
    return 0


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
    export.set_defaults(func=_export_command)

    snap = commands.add_parser("snapshot", help="save today's answer as a dated partition")
    _add_read_options(snap)
    snap.add_argument("--dataset", required=True, help="the snapshots' folder or URL")
    snap.add_argument("--as-of", help="the day to file it under (default: the server's date)")
    snap.set_defaults(func=_snapshot)


def _demo(args: argparse.Namespace) -> int:
    from bspandas.demo import run_demo

    return run_demo(output=Path(args.output), seed=args.seed, accounts=args.accounts)


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
    parser = argparse.ArgumentParser(
        prog="bspandas", description="Backstory Query API metrics as typed pandas DataFrames."
    )
    parser.add_argument("--version", action="version", version=f"bspandas {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the day-one analysis on the sandbox")
    demo.add_argument("--output", default="bspandas-demo", help="folder for the PNG charts")
    demo.add_argument("--seed", type=int, default=7, help="sandbox tenant seed")
    demo.add_argument("--accounts", type=int, default=400, help="sandbox tenant size")
    demo.set_defaults(func=_demo)

    from bspandas.sandbox.command import add_parser as add_sandbox

    add_sandbox(commands)

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
    _add_probe_command(cat_commands)

    query = commands.add_parser("query", help="a quick query printed as a table")
    _add_read_options(query)
    query.add_argument("--limit", type=int, default=20, help="rows to print")
    query.set_defaults(func=_query)

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
    export.set_defaults(func=_export)
    _add_dataset_commands(commands, export)
    return parser


#: Options whose value may start with ``-`` (``--sort -slug``: descending).
_DASH_VALUES = frozenset({"--sort"})


def _attached(argv: list[str]) -> list[str]:
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


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one line on stderr (``bspandas: PacingWarning: ...``), no source line."""
    text = " ".join(str(message).split())
    print(f"bspandas: {category.__name__}: {_visible(text)}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bspandas`` command."""
    parser = build_parser()
    args = parser.parse_args(_attached(list(sys.argv[1:] if argv is None else argv)))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            code: int = args.func(args)
    except (BackstoryError, CommandError) as exc:
        text = str(exc) if isinstance(exc, CommandError) else describe_failure(exc)
        if isinstance(exc, MissingCredentialsError):
            text = text.replace(
                "For a local sandbox use bspandas.sandbox.serve().",
                "Or run the command on a local sandbox: add --sandbox.",
            )
        text = _CLI_PAIR.sub(r"\1:\2", text)  # the CLI's own syntax for (slug, period)
        print(f"bspandas: {_visible(' '.join(text.split()))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
