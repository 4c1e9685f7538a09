"""Partitioned Parquet datasets: exports too large for one read, kept where every engine reads.

:func:`export_dataset` turns one huge export into one filtered export per time window
(``split_by=("ootb_activity_timestamp", "month")``), streams each window to its own Parquet
file in chunks (memory is bounded by a chunk, not by the window), lands each file atomically
(written under a hidden name, then renamed) and records it in a manifest, so a killed run
started again skips the finished windows and a finished run started again sends nothing.

The layout is Hive-style and plain::

    activity/
      _bspandas_manifest.json          windows, row counts and queries (no credential)
      month=2026-01/part-0.parquet     one file per window, catalog types, provenance
      month=2026-02/part-0.parquet

so DuckDB (``read_parquet('activity/**/*.parquet', hive_partitioning=true)``), Dask,
Spark and :func:`read_dataset` read it as it is. Paths are local folders or fsspec URLs
(``memory://``, ``s3://``... with the matching fsspec filesystem installed).

>>> import bspandas as bs
>>> plan = bs.export_dataset("activity", ["ootb_activity_uid"], "memory://doc/activity",
...                          split_by=("ootb_activity_timestamp", "quarter"),
...                          start="2026-01-01", end="2026-07-01", dry_run=True)
>>> [w.key for w in plan.windows]
['2026-Q1', '2026-Q2']
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import math
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bspandas._exceptions import (
    DatasetError,
    QueryError,
    TransportError,
    TruncatedResponseError,
    UnverifiedAnswerWarning,
)
from bspandas._http.client import Client
from bspandas._http.default import default_client
from bspandas._io.dtypes import TABLE, TEXT_DTYPE, Backend, dtype_for
from bspandas._io.evaluate import evaluate
from bspandas._messages import robust_repr
from bspandas.catalog import store
from bspandas.catalog.resolve import Output
from bspandas.catalog.vocabulary import window as period_window
from bspandas.query import AllOf, AnyOf, Condition, parse_filter
from bspandas.query.builder import Query, caller_variables
from bspandas.query.tree import Node

__all__ = [
    "MANIFEST",
    "DatasetPlan",
    "Window",
    "WindowDone",
    "dictionary_columns",
    "export_dataset",
    "read_dataset",
    "storage_types",
    "windows_for",
]

log = logging.getLogger("bspandas")

#: The manifest's file name, beside the data (``_`` keeps Spark, Dask and pyarrow off it).
MANIFEST = "_bspandas_manifest.json"
#: The key under which each Parquet file's schema metadata carries bspandas' provenance.
META_KEY = b"bspandas"
FILE_NAME = "part-0.parquet"
FORMAT = 1
Unit = Literal["month", "week", "quarter", "year"]
UNITS: tuple[str, ...] = ("month", "week", "quarter", "year")
DEFAULT_CHUNKSIZE = 250_000


# -- windows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One half-open time range ``[start, end)`` of the split attribute and its partition."""

    key: str
    start: pd.Timestamp
    end: pd.Timestamp

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "start": self.start.isoformat(), "end": self.end.isoformat()}

    @staticmethod
    def from_json(data: Mapping[str, str]) -> Window:
        return Window(data["key"], pd.Timestamp(data["start"]), pd.Timestamp(data["end"]))


def _utc(value: Any, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise QueryError(
            f"{name}={value!r} is not a date or time. Pass a date such as '2026-01-01', a "
            "datetime or a pandas Timestamp."
        ) from None
    if pd.isna(stamp):
        raise QueryError(f"{name} must be a date or time, not a missing value.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _floor(stamp: pd.Timestamp, unit: str) -> pd.Timestamp:
    day = pd.Timestamp(stamp.year, stamp.month, stamp.day, tz="UTC")
    if unit == "week":
        return day - pd.Timedelta(days=stamp.weekday())
    if unit == "month":
        return pd.Timestamp(stamp.year, stamp.month, 1, tz="UTC")
    if unit == "quarter":
        return pd.Timestamp(stamp.year, 3 * ((stamp.month - 1) // 3) + 1, 1, tz="UTC")
    return pd.Timestamp(stamp.year, 1, 1, tz="UTC")


def _next(start: pd.Timestamp, unit: str) -> pd.Timestamp:
    if unit == "week":
        return start + pd.Timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = start.year * 12 + start.month - 1 + months
    return pd.Timestamp(index // 12, index % 12 + 1, 1, tz="UTC")


def _key(start: pd.Timestamp, unit: str) -> str:
    if unit == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return f"{start.year}-{start.month:02d}"
    if unit == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _range_key(start: pd.Timestamp, end: pd.Timestamp) -> str:
    def text(stamp: pd.Timestamp) -> str:
        if stamp == stamp.normalize():
            return stamp.strftime("%Y-%m-%d")
        return stamp.strftime("%Y%m%dT%H%M%S")

    return f"{text(start)}_{text(end)}"


def windows_for(unit: str, start: Any, end: Any) -> list[Window]:
    """Calendar windows (UTC) of ``unit`` covering ``[start, end)``.

    >>> [w.key for w in windows_for("month", "2026-01-15", "2026-03-01")]
    ['2026-01', '2026-02']
    >>> windows_for("week", "2026-01-01", "2026-01-02")[0].start.isoformat()
    '2025-12-29T00:00:00+00:00'
    """
    if unit not in UNITS:
        raise QueryError(f"split_by unit must be one of {', '.join(UNITS)}, got {unit!r}.")
    lo, hi = _utc(start, "start"), _utc(end, "end")
    windows: list[Window] = []
    cursor = _floor(lo, unit)
    while cursor < hi:
        following = _next(cursor, unit)
        windows.append(Window(_key(cursor, unit), cursor, following))
        cursor = following
    return windows


@dataclass(frozen=True)
class Split:
    """``split_by`` checked: the attribute, and a calendar unit or explicit ranges."""

    slug: str
    unit: str | None
    ranges: tuple[Window, ...] = ()

    @property
    def partition(self) -> str:
        """The Hive partition name: the unit (``month=2026-01``) or ``window``."""
        return self.unit or "window"

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "unit": self.unit,
            "ranges": [w.to_json() for w in self.ranges],
        }


def _split(split_by: Any, obj: str) -> Split | None:
    if split_by is None:
        return None
    if isinstance(split_by, str):
        slug, sep, unit = split_by.partition(":")
        if not sep:
            raise QueryError(
                f"split_by={split_by!r} has no unit: write 'SLUG:month' (or week, quarter, "
                "year), or pass (slug, 'month') or (slug, [(start, end), ...])."
            )
        split_by = (slug, unit)
    if not isinstance(split_by, tuple | list) or len(split_by) != 2:
        raise QueryError(
            f"split_by must be (slug, 'month'|'week'|'quarter'|'year') or (slug, [(start, "
            f"end), ...]), got {split_by!r}."
        )
    slug, how = split_by
    metric = store.lookup(slug, obj)
    if metric.type not in ("timestamp", "date"):
        raise QueryError(
            f"split_by needs a date or timestamp attribute of {obj}; {slug} is a "
            f"{metric.type}. For activities use 'ootb_activity_timestamp'."
        )
    if isinstance(how, str):
        if how not in UNITS:
            raise QueryError(f"split_by unit must be one of {', '.join(UNITS)}, got {how!r}.")
        return Split(metric.slug, how)
    ranges: list[Window] = []
    for item in how:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise QueryError(f"each explicit split_by range is (start, end), got {item!r}.")
        lo, hi = _utc(item[0], "range start"), _utc(item[1], "range end")
        if hi <= lo:
            raise DatasetError(
                f"The split_by range {item!r} does not end after it starts: give (start, end) "
                "with start first (end is excluded); nothing was written."
            )
        ranges.append(Window(_range_key(lo, hi), lo, hi))
    ranges.sort(key=lambda w: w.start)
    for before, after in itertools.pairwise(ranges):
        if after.start < before.end:
            raise QueryError(
                f"the split_by ranges {before.key} and {after.key} overlap; rows in both would "
                "be exported twice. Give ranges that do not overlap."
            )
    if not ranges:
        raise QueryError("split_by was given an empty list of ranges.")
    return Split(metric.slug, None, tuple(ranges))


def _bounds(node: Node | None, slug: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The range a filter puts on ``slug`` at its top level (``and`` only), if any."""
    if node is None:
        return None, None
    conditions = node.children if isinstance(node, AllOf) else (node,)
    lo: pd.Timestamp | None = None
    hi: pd.Timestamp | None = None
    for item in conditions:
        if not isinstance(item, Condition) or item.column.slug != slug:
            continue
        if item.column.variation_id is not None:
            continue
        for op, value in item.ops:
            if op in ("$gt", "$gte", "$eq"):
                stamp = _utc(value, slug)
                lo = stamp if lo is None else max(lo, stamp)
            if op in ("$lt", "$lte", "$eq"):
                stamp = _utc(value, slug) + pd.Timedelta(milliseconds=0 if op == "$lt" else 1)
                hi = stamp if hi is None else min(hi, stamp)
    return lo, hi


# -- filesystem ----------------------------------------------------------------------------


def _fs(path: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(str(path), **dict(storage_options or {}))
    return fs, str(root).rstrip("/")


def _public(path: str) -> str:
    """The path without any user:password in it (what goes into attrs and metadata)."""
    text = str(path)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _write_json(fs: Any, target: str, data: Mapping[str, Any]) -> None:
    """Write JSON so that a reader sees the old or the new file, never half of one."""
    staging = f"{target}.{uuid.uuid4().hex}.tmp"
    with fs.open(staging, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    _replace(fs, staging, target)


def _replace(fs: Any, source: str, target: str) -> None:
    """Rename ``source`` onto ``target`` (atomic on local disks; a copy on object stores,
    where a single object appears whole)."""
    if fs.exists(target) and "memory" in _protocols(fs):
        fs.rm(target)
    fs.mv(source, target)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _read_manifest(fs: Any, root: str) -> dict[str, Any] | None:
    target = f"{root}/{MANIFEST}"
    if not fs.exists(target):
        return None
    try:
        with fs.open(target, "r", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"The manifest {target} cannot be read ({type(exc).__name__}). Move it away and "
            "export again with overwrite=True."
        ) from None
    return data


def _clean_staging(fs: Any, root: str) -> None:
    """Remove files a killed run left half-written."""
    if not fs.exists(root):
        return
    for found in fs.find(root):
        name = str(found).rsplit("/", 1)[-1]
        if name.startswith(".") and name.endswith(".inprogress"):
            fs.rm(found)


# -- export --------------------------------------------------------------------------------


@dataclass
class WindowDone:
    """One finished window, handed to ``on_window`` (for progress or to stop a run)."""

    window: Window
    rows: int
    path: str
    skipped: bool


@dataclass
class DatasetPlan:
    """What an export will do: its windows, which are already done, the requests to send."""

    path: str
    object: str
    windows: list[Window]
    done: list[str]
    requests: int
    pacing_seconds: float
    budget: int
    scanned: bool = False
    results: list[WindowDone] = field(default_factory=list)

    @property
    def todo(self) -> list[Window]:
        return [w for w in self.windows if w.key not in set(self.done)]

    def describe(self) -> str:
        """One sentence: windows, requests and how long pacing makes it take at least."""
        todo = len(self.todo)
        if not todo:
            return (
                f"{self.path}: all {len(self.windows)} windows are already exported; nothing "
                "to send."
            )
        wait = (
            f"about {math.ceil(self.pacing_seconds / 60)} min of waiting to stay under "
            f"{self.budget} requests per hour, plus the transfer time"
            if self.pacing_seconds > 0
            else f"within the hourly budget of {self.budget}; the time is the transfer time"
        )
        return (
            f"{self.path}: {todo} of {len(self.windows)} windows to export "
            f"({len(self.done)} already done) = {self.requests} export request(s), {wait}."
        )

    def to_frame(self) -> pd.DataFrame:
        """The windows as a table (key, start, end, done)."""
        done = set(self.done)
        return pd.DataFrame(
            {
                "key": [w.key for w in self.windows],
                "start": [w.start for w in self.windows],
                "end": [w.end for w in self.windows],
                "done": [w.key in done for w in self.windows],
            }
        )

    @robust_repr
    def __repr__(self) -> str:
        return f"DatasetPlan({self.describe()})"


def _signature(query: Query, split: Split | None, start: Any, end: Any) -> dict[str, Any]:
    return {
        "object": query.object,
        "payload": query.payload(),
        "where": None if query.filter is None else str(query.filter),
        "split_by": None if split is None else split.to_json(),
        "start": None if start is None else _utc(start, "start").isoformat(),
        "end": None if end is None else _utc(end, "end").isoformat(),
    }


def _combine(base: Node | None, window: Window, slug: str, obj: str) -> dict[str, Any]:
    clause = {"attribute": {"slug": slug}, "clause": {"$gte": window.start, "$lt": window.end}}
    window_node = parse_filter(clause, obj)
    if base is None:
        return window_node.to_api()
    return {"$and": [base.to_api(), window_node.to_api()]}


def _scan(
    query: Query, slug: str, client: Client, chunksize: int
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int]:
    """One request for the split attribute alone: its first and last value, and the rows
    without one (those fall in no window)."""
    from bspandas._read.reader import read_query

    probe = Query(
        query.object, [slug], filter=None if query.filter is None else query.filter.to_api()
    )
    lo: pd.Timestamp | None = None
    hi: pd.Timestamp | None = None
    missing = 0
    name = probe.outputs()[0].name
    for chunk in read_query(
        probe, client=client, chunksize=chunksize, progress=False, validate=False
    ):
        values = chunk[name]
        missing += int(values.isna().sum())
        if values.notna().any():
            first, last = _utc(values.min(), slug), _utc(values.max(), slug)
            lo = first if lo is None else min(lo, first)
            hi = last if hi is None else max(hi, last)
    return lo, hi, missing


def _provenance(chunk: pd.DataFrame) -> dict[str, Any]:
    meta = copy.deepcopy(dict(chunk.attrs.get("backstory", {})))
    meta.pop("rows", None)
    meta.pop("dtype_backend", None)
    meta["format"] = FORMAT
    return meta


def _arrow_schema(schema: pa.Schema, meta: Mapping[str, Any]) -> pa.Schema:
    # no pandas metadata: bspandas restores the catalog dtypes itself, other engines ignore it
    fields = [pa.field(f.name, f.type) for f in schema]
    return pa.schema(fields, metadata={META_KEY: json.dumps(meta, sort_keys=True, default=str)})


def storage_types(outputs: Sequence[Output]) -> dict[str, pa.DataType]:
    """The Arrow type each column is stored as: the catalog's (``dtypes.TABLE``), whatever
    dtype backend the chunks travelled in, so every engine sees dates as dates, enumerations
    as strings and durations as durations."""
    return {o.name: TABLE[o.part.type][1] for o in outputs}


#: Catalog types worth dictionary-encoding in Parquet (few distinct values); ids, times and
#: numbers are not (encoding a million distinct ids first doubles the write time).
DICTIONARY_TYPES = frozenset({"text", "enumeration", "list", "date", "boolean"})


def dictionary_columns(outputs: Sequence[Output]) -> list[str]:
    """The columns the Parquet writer dictionary-encodes."""
    return [o.name for o in outputs if o.part.type in DICTIONARY_TYPES]


def _to_storage(frame: pd.DataFrame, types: Mapping[str, pa.DataType]) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    arrays = []
    for name in table.column_names:
        column = table.column(name)
        target = types.get(name)
        if target is not None and column.type != target:
            if pa.types.is_timestamp(column.type) and pa.types.is_date(target):
                column = pc.cast(pc.cast(column, pa.timestamp("ms")), target)
            else:
                column = pc.cast(column, target)
        arrays.append(column)
    return pa.table(arrays, names=table.column_names)


def write_frames(
    fs: Any,
    staging: str,
    frames: Iterator[pd.DataFrame],
    extra: Mapping[str, Any],
    types: Mapping[str, pa.DataType],
    dictionary: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """Stream frames into one Parquet file at ``staging`` (one row group per chunk) in the
    catalog's storage ``types``, with the first frame's provenance plus ``extra`` in the
    schema metadata. Returns rows and metadata; removes the file when anything fails."""
    rows = 0
    meta: dict[str, Any] = {}
    try:
        with fs.open(staging, "wb") as handle:
            writer: pq.ParquetWriter | None = None
            schema: pa.Schema | None = None
            try:
                for frame in frames:
                    table = _to_storage(frame, types)
                    if writer is None:
                        meta = {**_provenance(frame), **extra}
                        schema = _arrow_schema(table.schema, meta)
                        encoded = [n for n in dictionary if n in table.column_names]
                        writer = pq.ParquetWriter(
                            handle, schema, compression="zstd", use_dictionary=encoded or False
                        )
                    writer.write_table(table.cast(schema))
                    rows += len(frame)
            finally:
                if writer is not None:
                    writer.close()
        if writer is None:
            raise DatasetError("The export yielded no frame at all (not even an empty one).")
    except BaseException:
        if fs.exists(staging):
            fs.rm(staging)
        raise
    return rows, meta


def staging_name(directory: str) -> str:
    """A hidden file name that no reader globbing ``*.parquet`` picks up."""
    return f"{directory}/.{FILE_NAME}.{uuid.uuid4().hex}.inprogress"


def land(fs: Any, staging: str, directory: str) -> str:
    """Move a finished staging file to ``directory/part-0.parquet`` (replacing it)."""
    fs.makedirs(directory, exist_ok=True)
    target = f"{directory}/{FILE_NAME}"
    try:
        _replace(fs, staging, target)
    except BaseException:
        if fs.exists(staging):
            fs.rm(staging)
        raise
    return target


def export_dataset(
    object: str,
    columns: Any,
    path: str,
    *,
    where: str | None = None,
    filter: Mapping[str, Any] | None = None,
    split_by: Any = None,
    start: Any = None,
    end: Any = None,
    client: Client | None = None,
    dtype_backend: Backend = "numpy_nullable",
    chunksize: int = DEFAULT_CHUNKSIZE,
    validate: bool | Literal["warn", "raise"] = "warn",
    progress: bool | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    on_window: Callable[[WindowDone], None] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> DatasetPlan:
    """Export ``object``'s ``columns`` to a Hive-partitioned Parquet dataset at ``path``.

    ``split_by=(slug, "month")`` (or ``"week"``, ``"quarter"``, ``"year"``, ``"SLUG:month"``,
    or ``(slug, [(start, end), ...])``) makes one filtered export per window; the windows
    come from the ``where``/``filter`` range on that attribute, else from ``start=``/``end=``,
    else from one first request for that attribute alone. Each window is streamed to
    ``<partition>=<key>/part-0.parquet`` in chunks of ``chunksize`` rows and lands
    atomically; the manifest records it, so a run started again skips finished windows
    (``overwrite=True`` starts afresh). ``dry_run=True`` returns the plan without sending
    an export. ``on_window`` is called after each window. Returns the plan with its results.

    The files hold the catalog's Arrow types (``dtype_backend`` only changes how chunks
    travel through pandas, ``"numpy_nullable"`` being the faster; ``read_dataset`` gives
    either backend) and the provenance in their schema metadata under ``bspandas`` (never
    a credential). Requests go through the client's pacer, so a long export waits inside
    the hourly budget; the plan printed first says how long those waits add up to.
    """
    variables = caller_variables() if where is not None else None
    query = Query(object, columns, where=where, filter=filter, variables=variables)
    split = _split(split_by, query.object)
    if start is not None and end is not None and _utc(start, "start") >= _utc(end, "end"):
        raise DatasetError(
            f"start={str(start)!r} is not before end={str(end)!r}: no window fits. Give a "
            "start before the end (end is excluded); nothing was written."
        )
    fs, root = _fs(path, storage_options)
    shown = _public(path)
    signature = _signature(query, split, start, end)
    manifest = None if overwrite else _read_manifest(fs, root)
    if manifest is not None and manifest.get("signature") != signature:
        raise DatasetError(
            f"The dataset at {shown} was exported by a different query (its manifest records "
            f"{json.dumps(manifest.get('signature'), default=str)[:300]}). Pass "
            "overwrite=True (--overwrite on the command line) to replace it, or choose "
            "another path."
        )
    chosen = client
    scanned = False
    planned: list[Window]
    if manifest is not None and manifest.get("windows_planned") is not None:
        planned = [Window.from_json(w) for w in manifest["windows_planned"]]
    elif split is None:
        planned = []
    elif split.ranges:
        planned = list(split.ranges)
    else:
        assert split.unit is not None
        lo, hi = _bounds(query.filter, split.slug)
        lo = lo if start is None else _utc(start, "start")
        hi = hi if end is None else _utc(end, "end")
        if lo is None or hi is None:
            if dry_run:
                raise QueryError(
                    "dry_run=True cannot find the windows without a request: give start= and "
                    "end=, or a range on the split attribute in where=."
                )
            chosen = chosen or default_client()
            first, last, missing = _scan(query, split.slug, chosen, chunksize)
            scanned = True
            if missing:
                log.warning(
                    "%d rows have no %s and fall in no window; they are not exported",
                    missing,
                    split.slug,
                )
            lo = lo if lo is not None else first
            hi = hi if hi is not None else (None if last is None else last + pd.Timedelta(1, "ms"))
        if lo is not None and hi is not None and lo >= hi:
            raise DatasetError(
                f"The range on {split.slug} (from where=/filter=, start=, end=) is empty: it "
                f"starts at {lo.isoformat()} and ends at {hi.isoformat()}, excluded. Give a "
                "start before the end; nothing was written."
            )
        planned = [] if lo is None or hi is None else windows_for(split.unit, lo, hi)
    finished: dict[str, Any] = dict(manifest.get("windows", {})) if manifest else {}
    partition = "" if split is None else split.partition

    def directory(window: Window | None) -> str:
        return root if window is None else f"{root}/{partition}={window.key}"

    targets: list[Window | None] = list(planned) if split is not None else [None]
    done = [
        key
        for key, record in finished.items()
        if fs.exists(f"{root}/{record['file']}")
        and (split is None or key in {w.key for w in planned})
    ]
    pacer_client = chosen or client
    budget = pacer_client.pacer.budget if pacer_client is not None else 100
    remaining = pacer_client.pacer.remaining() if pacer_client is not None else budget
    todo_count = sum(1 for t in targets if (t.key if t else "all") not in set(done))
    requests = todo_count
    over = max(0, requests - remaining)
    plan = DatasetPlan(
        path=shown,
        object=query.object,
        windows=[
            t
            if t is not None
            else Window(
                "all", pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
            )
            for t in targets
        ],
        done=done,
        requests=requests,
        pacing_seconds=over * 3600.0 / budget,
        budget=budget,
        scanned=scanned,
    )
    if dry_run:
        return plan
    _announce(plan, progress)
    if overwrite and fs.exists(root):
        fs.rm(root, recursive=True)
    fs.makedirs(root, exist_ok=True)
    _clean_staging(fs, root)
    chosen = chosen or default_client()
    state: dict[str, Any] = {
        "format": FORMAT,
        "object": query.object,
        "path": shown,
        "signature": signature,
        "partition": partition or None,
        "catalog_version": store.version(),
        "outputs": [o.name for o in query.outputs()],
        "windows_planned": [w.to_json() for w in planned] if split is not None else None,
        "windows": {k: v for k, v in finished.items() if k in set(done)},
    }
    _write_json(fs, f"{root}/{MANIFEST}", state)
    for target in targets:
        key = "all" if target is None else target.key
        if key in set(done):
            result = WindowDone(
                target or plan.windows[0],
                int(state["windows"][key]["rows"]),
                directory(target),
                True,
            )
            plan.results.append(result)
            if on_window is not None:
                on_window(result)
            continue
        window_filter = (
            None
            if target is None or split is None
            else _combine(query.filter, target, split.slug, query.object)
        )
        window_query = (
            query if window_filter is None else Query(query.object, columns, filter=window_filter)
        )
        rows, meta = _export_window(
            fs, directory(target), window_query, chosen, target, split,
            dtype_backend=dtype_backend, chunksize=chunksize, validate=validate,
        )  # fmt: skip
        relative = FILE_NAME if target is None else f"{partition}={target.key}/{FILE_NAME}"
        state["windows"][key] = {
            "rows": rows,
            "file": relative,
            "query": window_query.payload(),
            "fetched_at": meta.get("fetched_at"),
            "server_date": meta.get("server_date"),
            "start": None if target is None else target.start.isoformat(),
            "end": None if target is None else target.end.isoformat(),
        }
        _write_json(fs, f"{root}/{MANIFEST}", state)
        result = WindowDone(target or plan.windows[0], rows, directory(target), False)
        plan.results.append(result)
        log.info("exported %s %s: %d rows", shown, key, rows)
        if _shows(progress):
            print(f"  {partition or 'all'}={key}: {rows:,} rows", file=sys.stderr)
        if on_window is not None:
            on_window(result)
    plan.done = list(state["windows"])
    return plan


def _export_window(
    fs: Any,
    directory: str,
    query: Query,
    client: Client,
    window: Window | None,
    split: Split | None,
    *,
    dtype_backend: Backend,
    chunksize: int,
    validate: bool | Literal["warn", "raise"],
) -> tuple[int, dict[str, Any]]:
    """One window, streamed to a hidden file and renamed into place once it is known whole.

    A cut answer (or a broken connection) costs this window only: it is read again from
    the start. An answer without its terminating chunk is accepted only when a second one
    agrees on the row count (as ``read_query`` does for whole reads).
    """
    from bspandas._read.reader import read_query

    extra: dict[str, Any] = {}
    if window is not None and split is not None:
        extra["window"] = {**window.to_json(), "slug": split.slug, "partition": split.partition}
    fs.makedirs(directory, exist_ok=True)
    attempts = max(2, client.retry.attempts)
    unverified: list[int] = []
    for attempt in range(1, attempts + 1):
        staging = staging_name(directory)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frames = read_query(
                query,
                client=client,
                chunksize=chunksize,
                dtype_backend=dtype_backend,
                validate=validate,
                progress=False,
            )
            try:
                outputs = query.outputs()
                rows, meta = write_frames(
                    fs, staging, frames, extra, storage_types(outputs), dictionary_columns(outputs)
                )
            except (TruncatedResponseError, TransportError) as exc:
                _reissue(caught)
                if attempt == attempts:
                    raise
                log.info("window %s was cut (%s); reading it again", directory, type(exc).__name__)
                continue
        _reissue(caught)
        if not any(issubclass(w.category, UnverifiedAnswerWarning) for w in caught):
            land(fs, staging, directory)
            return rows, meta
        if rows in unverified:
            land(fs, staging, directory)
            return rows, meta
        unverified.append(rows)
        fs.rm(staging)
        log.info("window %s ended without its terminating chunk; reading it again", directory)
    raise TruncatedResponseError(
        f"The window {directory} ended without its terminating chunk {len(unverified)} times "
        f"with different row counts ({', '.join(map(str, unverified))}). Nothing was written "
        "for it; run the export again later to resume from this window."
    )


def _reissue(caught: Sequence[warnings.WarningMessage]) -> None:
    """Pass on the warnings of a window read, except the unverified-answer ones it handles."""
    for item in caught:
        if issubclass(item.category, UnverifiedAnswerWarning):
            continue
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _announce(plan: DatasetPlan, progress: bool | None) -> None:
    text = plan.describe()
    log.info("%s", text)
    if _shows(progress):
        print(text, file=sys.stderr)


def _shows(progress: bool | None) -> bool:
    return bool(progress) or (progress is None and sys.stderr.isatty())


# -- reading back ----------------------------------------------------------------------------


def _files(
    fs: Any, root: str, manifest: Mapping[str, Any] | None
) -> list[tuple[str, dict[str, Any]]]:
    """Each finished window's file, in window order, with its manifest record."""
    if manifest is not None:
        records = sorted(
            manifest.get("windows", {}).items(), key=lambda kv: (kv[1].get("start") or "", kv[0])
        )
        return [(f"{root}/{r['file']}", {"key": k, **r}) for k, r in records]
    found = sorted(
        p
        for p in fs.glob(f"{root}/**/*.parquet")
        if not str(p).rsplit("/", 1)[-1].startswith((".", "_"))
    )
    return [(str(p), {"key": str(p)}) for p in found]


def file_meta(fs: Any, file: str) -> dict[str, Any]:
    """The bspandas provenance stored in one Parquet file's schema metadata."""
    with fs.open(file, "rb") as handle:
        schema = pq.read_schema(handle)
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise DatasetError(
            f"{file} has no bspandas metadata: it was not written by export_dataset or "
            "snapshot. Read it with pyarrow or DuckDB instead."
        )
    data: dict[str, Any] = json.loads(raw)
    return data


def outputs_for(meta: Mapping[str, Any]) -> list[Output]:
    """The catalog outputs of the query a file was written from."""
    payload = meta["payload"]
    query = Query(payload["object"], payload["columns"])
    return query.outputs()


def _numpy_type(arrow_type: pa.DataType) -> Any:
    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): TEXT_DTYPE,
        pa.large_string(): TEXT_DTYPE,
    }
    return mapping.get(arrow_type)


def table_to_frame(
    table: pa.Table, outputs: Sequence[Output], dtype_backend: Backend
) -> pd.DataFrame:
    """A stored table (catalog Arrow types) as the frame ``read_query`` gives."""
    by_name = {o.name: o for o in outputs}
    if dtype_backend == "pyarrow":
        arrow_frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return arrow_frame
    arrays = []
    for name in table.column_names:
        column = table.column(name)
        output = by_name.get(name)
        kind = None if output is None else output.part.type
        if kind == "date" or (kind == "timestamp" and column.type != pa.timestamp("ms", tz="UTC")):
            column = pc.cast(pc.cast(column, pa.timestamp("ms")), pa.timestamp("ms", tz="UTC"))
        elif kind == "duration":
            column = pc.cast(column, pa.duration("ns"))
        arrays.append(column)
    table = pa.table(arrays, names=table.column_names)
    frame: pd.DataFrame = table.to_pandas(types_mapper=_numpy_type)
    for name in frame.columns:
        output = by_name.get(name)
        if output is None:
            continue
        if output.part.type == "enumeration":
            values = list(output.part.values or output.column.metric.values)
            present = set(frame[name].dropna().unique().tolist())
            extra = sorted(str(v) for v in present if v not in set(values))
            frame[name] = frame[name].astype(
                dtype_for(
                    "enumeration", values=values + extra, ordered=output.column.metric.ordered
                )
            )
        elif output.part.type == "list":
            frame[name] = frame[name].astype(dtype_for("list"))
    return frame


def _expression(node: Node, now: datetime | None = None) -> pc.Expression | None:
    """The part of a filter pyarrow can apply while reading (None: none of it).

    ``$within`` is pushed down only with ``now``, the instant the exact check uses too.
    """
    if isinstance(node, AllOf):
        parts = [e for e in (_expression(c, now) for c in node.children) if e is not None]
        if not parts:
            return None
        result = parts[0]
        for part in parts[1:]:
            result = result & part
        return result
    if isinstance(node, AnyOf):
        parts = [_expression(c, now) for c in node.children]
        if any(p is None for p in parts):
            return None
        result = parts[0]
        assert result is not None
        for part in parts[1:]:
            assert part is not None
            result = result | part
        return result
    assert isinstance(node, Condition)
    kind = node.part.type
    if kind not in ("text", "id", "enumeration", "internal_id", "count", "number", "score",
                    "percentage", "money", "boolean", "timestamp"):  # fmt: skip
        return None
    target = pc.field(node.name)
    missing = target.is_null()
    terms: list[pc.Expression] = []
    for op, value in node.ops:
        if op == "$within":
            if kind != "timestamp" or now is None:
                return None
            low, high = period_window(value, now, mode="full")
            stamp = pa.timestamp("ms", tz="UTC")
            if low is not None:
                terms.append(target >= pa.scalar(low, stamp))
            if high is not None:
                terms.append(target < pa.scalar(high, stamp))
            continue
        if op in ("$in", "$nin"):
            if kind == "timestamp":
                return None
            values = [v for v in value if v is not None]
            term = target.isin(values)
            # the API's semantics: a missing value matches $ne and $nin, nothing else
            terms.append(term if op == "$in" else ~term | missing)
            continue
        symbol = {"$eq": "__eq__", "$ne": "__ne__", "$gt": "__gt__", "$gte": "__ge__",
                  "$lt": "__lt__", "$lte": "__le__"}.get(op)  # fmt: skip
        if symbol is None:
            return None
        scalar: Any = value
        if kind == "timestamp":
            scalar = pa.scalar(_utc(value, node.name).to_pydatetime(), pa.timestamp("ms", tz="UTC"))
        term = getattr(target, symbol)(scalar)
        terms.append(term | missing if op == "$ne" else term)
    if not terms:
        return None
    result = terms[0]
    for term in terms[1:]:
        result = result & term
    return result


def _window_matches(
    record: Mapping[str, Any], lo: pd.Timestamp | None, hi: pd.Timestamp | None
) -> bool:
    start, end = record.get("start"), record.get("end")
    if start is None or end is None:
        return True
    if lo is not None and pd.Timestamp(end) <= lo:
        return False
    return not (hi is not None and pd.Timestamp(start) >= hi)


def _relative(node: Node) -> list[Condition]:
    """The conditions of a filter whose meaning depends on "now" (relative periods)."""
    return [c for c in node.attributes() if any(op == "$within" for op, _ in c.ops)]


def _server_date(
    fs: Any, files: Sequence[tuple[str, Mapping[str, Any]]], shown: str, relative: list[Condition]
) -> datetime:
    """The server's instant of the export (the newest window's), for relative periods."""
    stamps = []
    for file, record in files:
        stamp = record.get("server_date") or file_meta(fs, file).get("server_date")
        if stamp:
            stamps.append(datetime.fromisoformat(str(stamp)))
    if not stamps:
        names = ", ".join(sorted({str(c) for c in relative}))
        raise DatasetError(
            f"where= uses a relative period ({names}), but the dataset at {shown} records no "
            "server date to judge it at (it was exported before bspandas recorded one). This "
            "machine's clock would give another answer than the API: use explicit dates "
            "(e.g. ootb_activity_timestamp >= '2026-01-01'), or export the dataset again."
        )
    return max(stamps)


def dataset_files(
    path: str, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str, str, dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
    """The filesystem, root, printable path, manifest and finished files of a dataset;
    a :class:`bspandas.DatasetError` that says why when there is nothing to read."""
    fs, root = _fs(path, storage_options)
    shown = _public(path)
    manifest = _read_manifest(fs, root)
    files = _files(fs, root, manifest)
    if not files and manifest is not None:
        raise DatasetError(
            f"The dataset at {shown} has a manifest but no finished window yet: its export "
            "was interrupted before the first window landed. Run the same export_dataset(...) "
            "again to resume it, or pass overwrite=True (--overwrite) to start afresh."
        )
    if not files:
        raise DatasetError(
            f"No dataset at {shown}: no manifest and no Parquet file. Write one with "
            "bspandas.export_dataset(...)."
        )
    return fs, root, shown, manifest, files


def read_dataset(
    path: str,
    columns: Sequence[str] | None = None,
    *,
    where: str | None = None,
    dtype_backend: Backend = "numpy_nullable",
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read a dataset written by :func:`export_dataset` into the frame ``read_query`` gives.

    ``columns`` are frame column names (default: all); ``where=`` is a ``read_query``-style
    string, pushed down to the Parquet reader where it can be (and whole windows outside
    its range on the split attribute are not opened) and applied exactly afterwards.
    ``df.attrs["backstory"]`` holds the provenance; ``df.backstory`` works as usual.
    """
    if dtype_backend not in ("numpy_nullable", "pyarrow"):
        raise QueryError(
            f"dtype_backend must be 'numpy_nullable' or 'pyarrow', got {dtype_backend!r}."
        )
    fs, _, shown, manifest, files = dataset_files(path, storage_options)
    meta = file_meta(fs, files[0][0])
    outputs = outputs_for(meta)
    obj = str(meta["payload"]["object"])
    names = [o.name for o in outputs]
    wanted = list(names if columns is None else columns)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise QueryError(
            f"read_dataset: {', '.join(unknown)} not in the dataset at {shown}. "
            f"It holds: {', '.join(names)}."
        )
    node = None
    if where is not None:
        node = parse_filter(where, obj, variables=caller_variables())
        missing = [c.name for c in node.attributes() if c.name not in names]
        if missing:
            raise QueryError(
                f"where= reads {', '.join(missing)}, which the dataset at {shown} does not "
                f"hold. It holds: {', '.join(names)}."
            )
    read_columns = list(
        dict.fromkeys([*wanted, *(c.name for c in node.attributes())] if node else wanted)
    )
    relative = [] if node is None else _relative(node)
    now = _server_date(fs, files, shown, relative) if relative else None
    expression = None if node is None else _expression(node, now)
    split_slug = (meta.get("window") or {}).get("slug")
    lo, hi = _bounds(node, split_slug) if split_slug else (None, None)
    tables = []
    fetched: list[str] = []
    for file, record in files:
        if not _window_matches(record, lo, hi):
            continue
        with fs.open(file, "rb") as handle:
            table = pq.read_table(handle, columns=read_columns, filters=expression)
        tables.append(table)
        if record.get("fetched_at"):
            fetched.append(str(record["fetched_at"]))
    if tables:
        table = pa.concat_tables(tables)
    else:
        with fs.open(files[0][0], "rb") as handle:
            table = pq.read_schema(handle).empty_table().select(read_columns)
    frame = table_to_frame(table, outputs, dtype_backend)
    if node is not None:
        as_of = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
        mask = evaluate(node, frame, as_of=as_of).fillna(False).astype(bool)
        frame = frame.loc[mask.to_numpy(), wanted].reset_index(drop=True)
    frame = frame[wanted]
    base = (manifest or {}).get("signature", {}).get("payload") or meta.get("payload")
    frame.attrs["backstory"] = {
        "object": obj,
        "payload": base,
        "host": meta.get("host"),
        "fetched_at": min(fetched) if fetched else meta.get("fetched_at"),
        "server_date": meta.get("server_date") if now is None else now.isoformat(),
        "rows": len(frame),
        "catalog_version": meta.get("catalog_version"),
        "dtype_backend": dtype_backend,
        "where": None if node is None else str(node),
        "dataset": shown,
    }
    return frame
