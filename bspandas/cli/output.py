r"""What the command line prints and writes, made safe.

Printed text has control characters spelled out (:func:`visible`, :func:`printable`); an
export checks its path before reading (:func:`output_format`), neutralises spreadsheet
formulas in CSV cells unless ``--raw``, writes dates as ISO days, and never leaves a
partial file (:func:`write_file`).

>>> visible("red\x1b[31m")
'red\\x1b[31m'
>>> visible("plain text")
'plain text'
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from bspandas.cli.session import CommandError

__all__ = ["output_format", "printable", "visible", "write_file"]


def visible(text: str) -> str:
    """Control and format characters (escape sequences, CR, bidi overrides) spelled out, so
    printed data cannot move the cursor, recolour or rewrite a terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def printable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a frame for printing: every text cell and label through :func:`visible`."""
    out = frame.rename(columns=lambda c: visible(c) if isinstance(c, str) else c)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_datetime64_any_dtype(
            column.dtype
        ):
            continue
        values = column.astype(object)
        hidden = values.map(lambda v: isinstance(v, str) and not v.isprintable()).astype(bool)
        if hidden.any():
            values[hidden] = [visible(v) for v in values[hidden]]
            out.isetitem(position, values.to_numpy())
    return out


_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
#: A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def output_format(output: Path, fmt: str | None, force: bool) -> str:
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


def write_file(frame: pd.DataFrame, output: Path, fmt: str, *, force: bool, raw: bool) -> None:
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
