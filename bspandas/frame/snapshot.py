"""Snapshots: the history the Query API does not keep.

The API answers "emails in the last 30 days" as of now and refuses ``trend_by``; last
month's answer is gone unless someone saved it. :func:`snapshot` saves today's answer as one
partition ``snapshot=YYYY-MM-DD`` of a Parquet dataset (run it daily from cron);
:func:`read_snapshots` returns the history in long form and ``df.backstory.trend(metric)``
pivots it to one column per snapshot.

The day is ``as_of`` when given, else the date of the server's ``Date`` header on the export
answer, else (no such header) today's UTC date on this machine. Taking the same day twice
replaces that day's file atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

from bspandas._exceptions import DatasetError, InvalidColumnsError, QueryError
from bspandas._http.client import Client
from bspandas._http.default import default_client
from bspandas._io.dtypes import Backend, dtype_for
from bspandas.frame.dataset.convert import table_to_frame
from bspandas.frame.dataset.filesystem import _fs, _public
from bspandas.frame.dataset.storage import (
    DEFAULT_CHUNKSIZE,
    FILE_NAME,
    dictionary_columns,
    file_meta,
    land,
    outputs_for,
    staging_name,
    storage_types,
    write_frames,
)
from bspandas.query.builder import Query, caller_variables

__all__ = ["read_snapshots", "snapshot", "trend"]

log = logging.getLogger("bspandas")

PARTITION = "snapshot"


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise QueryError(
            f"as_of={value!r} is not a date. Pass '2026-10-15', a date or a datetime."
        ) from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return date(stamp.year, stamp.month, stamp.day)


def _recording_server_dates(
    frames: Iterable[pd.DataFrame], seen: list[str]
) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, noting the server's ``Date`` each one records in its attrs."""
    for frame in frames:
        stamp = frame.attrs.get("backstory", {}).get("server_date")
        if isinstance(stamp, str) and not seen:
            seen.append(stamp)
        yield frame


def _header_day(values: Sequence[str]) -> date | None:
    for value in values:
        try:
            return datetime.fromisoformat(value).astimezone(UTC).date()
        except (TypeError, ValueError):
            continue
    return None


def snapshot(
    object: str,
    columns: Any,
    path: str,
    *,
    as_of: Any = None,
    where: str | None = None,
    filter: Mapping[str, Any] | None = None,
    client: Client | None = None,
    dtype_backend: Backend = "numpy_nullable",
    chunksize: int = DEFAULT_CHUNKSIZE,
    validate: bool | Literal["warn", "raise"] = "warn",
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Save today's answer as the partition ``snapshot=YYYY-MM-DD`` of the dataset at ``path``.

    Parameters
    ----------
    object : str
        The Backstory object to read (``"account"``, ``"opportunity"``...).
    columns : str, sequence or mapping
        The columns, in any form :func:`bspandas.read_query` accepts.
    path : str
        The dataset folder (local, or any fsspec URL such as ``s3://bucket/history``).
    as_of : date, datetime or str, optional
        The day to file the answer under; by default the server's date (its ``Date``
        header), else today's UTC date.
    where : str, optional
        A filter expression, as in :func:`bspandas.read_query` (``@name`` reads the
        caller's variables).
    filter : mapping, optional
        A filter as a dict, as in :func:`bspandas.read_query`.
    client : bspandas.Client, optional
        The client to read with; by default the default client.
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        The dtypes of the frames read (the file stores Arrow types either way).
    chunksize : int, optional
        Rows per chunk while streaming the answer to the file.
    validate : bool or {"warn", "raise"}, default "warn"
        Validation of each chunk, as in :func:`bspandas.read_query`.
    storage_options : mapping, optional
        Passed to fsspec for remote paths.

    Returns
    -------
    str
        The day written, ``YYYY-MM-DD``. The same day taken twice is replaced atomically
        (the new file is written under a hidden name, then renamed over the old one).

    Raises
    ------
    bspandas.BackstoryError
        Whatever :func:`bspandas.read_query` raises (unknown columns, API, transport or
        validation errors); nothing is left in the dataset then.

    Examples
    --------
    >>> import tempfile
    >>> from bspandas.sandbox import serve
    >>> folder = tempfile.mkdtemp()
    >>> with serve(accounts=3, users=2, seed=5) as sb:
    ...     snapshot("account", ["ootb_account_crm_id", "ootb_churn_risk_score"], folder,
    ...              as_of="2026-10-14", client=sb.client())
    '2026-10-14'
    >>> import shutil
    >>> shutil.rmtree(folder)
    """
    from bspandas._read.reader import read_query

    variables = caller_variables() if where is not None else None
    query = Query(object, columns, where=where, filter=filter, variables=variables)
    fs, root = _fs(path, storage_options)
    fs.makedirs(root, exist_ok=True)
    chosen = client or default_client()
    staging = staging_name(root)
    dates: list[str] = []
    frames = read_query(
        query,
        client=chosen,
        chunksize=chunksize,
        dtype_backend=dtype_backend,
        validate=validate,
        progress=False,
    )
    outputs = query.outputs()
    rows, _ = write_frames(
        fs, staging, _recording_server_dates(frames, dates), {"snapshot": None},
        storage_types(outputs), dictionary_columns(outputs),
    )  # fmt: skip
    if as_of is not None:
        day, source = _day(as_of), "as_of"
    else:
        found = _header_day(dates)
        day, source = (
            (found, "server Date header") if found else (datetime.now(UTC).date(), "local UTC date")
        )
    directory = f"{root}/{PARTITION}={day.isoformat()}"
    land(fs, staging, directory)
    log.info("snapshot %s of %s: %d rows (day from %s)", day, _public(path), rows, source)
    return day.isoformat()


def _snapshot_files(fs: Any, root: str) -> list[tuple[date, str]]:
    found: list[tuple[date, str]] = []
    if not fs.exists(root):
        return found
    for entry in fs.ls(root, detail=False):
        name = str(entry).rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith(f"{PARTITION}="):
            continue
        try:
            day = date.fromisoformat(name.split("=", 1)[1])
        except ValueError:
            continue
        file = f"{root}/{name}/{FILE_NAME}"
        if fs.exists(file):
            found.append((day, file))
    return sorted(found)


def _days(days: list[date], backend: Backend, index: pd.Index) -> pd.Series:
    """The snapshot column: catalog ``date`` values (midnight UTC, or Arrow dates)."""
    if backend == "pyarrow":
        arrow: pd.Series = pd.Series(days, index=index, dtype=dtype_for("date", backend=backend))
        return arrow
    stamps = [pd.Timestamp(d.isoformat(), tz="UTC") for d in days]
    series: pd.Series = pd.Series(stamps, index=index, dtype=dtype_for("date"))
    return series


def read_snapshots(
    path: str,
    columns: Sequence[str] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    dtype_backend: Backend = "numpy_nullable",
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Every snapshot from ``start`` to ``end`` in long form.

    Parameters
    ----------
    path : str
        The dataset folder :func:`snapshot` writes to (local or an fsspec URL).
    columns : sequence of str, optional
        The columns to read; by default all of them.
    start, end : date, datetime or str, optional
        The first and last day to read (both included); by default every day.
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        The dtypes of the result.
    storage_options : mapping, optional
        Passed to fsspec for remote paths.

    Returns
    -------
    pandas.DataFrame
        A ``snapshot`` column (the day, midnight UTC) then the columns, with the catalog
        dtypes; ``attrs["backstory"]`` records the object, request, host and the days
        read.

    Raises
    ------
    bspandas.DatasetError
        If there is no snapshot at ``path``.
    bspandas.QueryError
        If a column is not in a snapshot (the message lists what it holds).

    Examples
    --------
    >>> import tempfile
    >>> from bspandas.sandbox import serve
    >>> folder = tempfile.mkdtemp()
    >>> with serve(accounts=3, users=2, seed=5) as sb:
    ...     for day in ("2026-10-14", "2026-10-15"):
    ...         _ = snapshot("account", ["ootb_account_crm_id", "ootb_churn_risk_score"],
    ...                      folder, as_of=day, client=sb.client())
    >>> history = read_snapshots(folder, start="2026-10-15")
    >>> history.columns.tolist(), len(history)
    (['snapshot', 'ootb_account_crm_id', 'ootb_churn_risk_score'], 3)
    >>> import shutil
    >>> shutil.rmtree(folder)
    """
    fs, root = _fs(path, storage_options)
    shown = _public(path)
    lo = None if start is None else _day(start)
    hi = None if end is None else _day(end)
    files = [
        (day, file)
        for day, file in _snapshot_files(fs, root)
        if (lo is None or day >= lo) and (hi is None or day <= hi)
    ]
    if not _snapshot_files(fs, root):
        raise DatasetError(
            f"No snapshot at {shown}: no snapshot=YYYY-MM-DD folder holds a {FILE_NAME}. "
            "Take one with bspandas.snapshot(...)."
        )
    frames: list[pd.DataFrame] = []
    meta: dict[str, Any] = {}
    for day, file in files:
        meta = file_meta(fs, file)
        outputs = outputs_for(meta)
        names = [o.name for o in outputs]
        wanted = names if columns is None else list(columns)
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise QueryError(
                f"read_snapshots: {', '.join(unknown)} not in the snapshot of {day} at {shown}. "
                f"It holds: {', '.join(names)}."
            )
        with fs.open(file, "rb") as handle:
            table = pq.read_table(handle, columns=wanted)
        frame = table_to_frame(table, outputs, dtype_backend)
        frame.insert(0, PARTITION, _days([day] * len(frame), dtype_backend, frame.index))
        frames.append(frame)
    if frames:
        result = pd.concat(frames, ignore_index=True)
    else:
        first = _snapshot_files(fs, root)[0][1]
        meta = file_meta(fs, first)
        outputs = outputs_for(meta)
        with fs.open(first, "rb") as handle:
            empty = pq.read_schema(handle).empty_table()
        names = [o.name for o in outputs] if columns is None else list(columns)
        result = table_to_frame(empty.select(names), outputs, dtype_backend)
        result.insert(0, PARTITION, _days([], dtype_backend, result.index))
    result.attrs["backstory"] = {
        "object": meta.get("payload", {}).get("object"),
        "payload": meta.get("payload"),
        "host": meta.get("host"),
        "catalog_version": meta.get("catalog_version"),
        "dtype_backend": dtype_backend,
        "rows": len(result),
        "snapshots": [day.isoformat() for day, _ in files],
        "dataset": shown,
    }
    return result


def trend(
    frame: pd.DataFrame, metric: str, object: str | None = None, index: str | None = None
) -> pd.DataFrame:
    """One row per key, one column per snapshot: ``metric`` over the days.

    Parameters
    ----------
    frame : pandas.DataFrame
        The long form :func:`read_snapshots` returns (a ``snapshot`` column).
    metric : str
        The column to follow; a prefix naming exactly one column is enough.
    object : str, optional
        The Backstory object of the rows (to find the key column); by default from the
        attrs or the columns.
    index : str, optional
        The key column; by default the object's row id column.

    Returns
    -------
    pandas.DataFrame
        Indexed by key, one column per snapshot day (columns named ``snapshot``).

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame has no ``snapshot`` column, ``metric`` names no single column, or
        there is no key column and no ``index``.

    Examples
    --------
    >>> long = pd.DataFrame({
    ...     "snapshot": pd.to_datetime(["2026-10-14", "2026-10-15"] * 2, utc=True),
    ...     "ootb_account_crm_id": ["001A", "001A", "001B", "001B"],
    ...     "ootb_churn_risk_score": [10.0, 12.0, 50.0, 40.0]})
    >>> trend(long, "ootb_churn").to_numpy().tolist()
    [[10.0, 12.0], [50.0, 40.0]]
    """
    from bspandas.frame.columns import infer_object, primary_key_column

    if PARTITION not in frame.columns:
        raise InvalidColumnsError(
            "trend() needs the long form of read_snapshots (a 'snapshot' column); this frame "
            f"has {', '.join(map(str, frame.columns[:8]))}. Read it with bspandas.read_snapshots."
        )
    if metric not in frame.columns:
        candidates = [str(c) for c in frame.columns if str(c).startswith(metric)]
        if len(candidates) != 1:
            raise InvalidColumnsError(
                f"trend({metric!r}): no such column. Pick one of: "
                f"{', '.join(str(c) for c in frame.columns if c != PARTITION)}."
            )
        metric = candidates[0]
    rest = frame.drop(columns=[PARTITION])
    key = index or primary_key_column(rest, infer_object(rest, object))
    if key is None:
        raise InvalidColumnsError(
            "trend() needs a row id column (a CRM id or uid) to line snapshots up; pass "
            "index='column'."
        )
    wide = frame.pivot(index=key, columns=PARTITION, values=metric)
    wide.columns.name = PARTITION
    return wide
