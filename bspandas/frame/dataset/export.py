"""Writing a dataset: :func:`export_dataset`, one filtered export per window, resumable.

Each window is read in chunks, streamed to a hidden Parquet file, landed atomically and
recorded in the manifest; a run started again skips the finished windows.

>>> plan = export_dataset("activity", ["ootb_activity_uid"], "memory://doc-export/a",
...                       split_by="ootb_activity_timestamp:month",
...                       start="2026-01-01", end="2026-03-01", dry_run=True)
>>> plan.to_frame()["key"].tolist()
['2026-01', '2026-02']
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bspandas._exceptions import (
    DatasetError,
)
from bspandas._http.client import Client
from bspandas._http.default import default_client
from bspandas._io.dtypes import Backend
from bspandas.catalog import store
from bspandas.frame.dataset.fetch import _export_window
from bspandas.frame.dataset.filesystem import _clean_staging, _fs, _public, _write_json
from bspandas.frame.dataset.manifest import MANIFEST, _read_manifest
from bspandas.frame.dataset.plan import DatasetPlan, WindowDone, _new_plan, _planned, _signature
from bspandas.frame.dataset.storage import (
    DEFAULT_CHUNKSIZE,
    FILE_NAME,
    FORMAT,
)
from bspandas.frame.dataset.windows import Split, Window, _split, _utc
from bspandas.query.builder import Query, caller_variables
from bspandas.query.dict_reader import parse_filter
from bspandas.query.tree import Node

__all__ = ["export_dataset"]

log = logging.getLogger("bspandas")


def _combine(base: Node | None, window: Window, slug: str, obj: str) -> dict[str, Any]:
    clause = {"attribute": {"slug": slug}, "clause": {"$gte": window.start, "$lt": window.end}}
    window_node = parse_filter(clause, obj)
    if base is None:
        return window_node.to_api()
    return {"$and": [base.to_api(), window_node.to_api()]}


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

    ``split_by`` makes one filtered export per time window; the windows come from the
    ``where``/``filter`` range on that attribute, else from ``start=``/``end=``, else from one
    first request for that attribute alone. Each window is streamed to
    ``<partition>=<key>/part-0.parquet`` in chunks of ``chunksize`` rows and lands
    atomically; the manifest records it, so a run started again skips finished windows.

    The files hold the catalog's Arrow types and the provenance in their schema metadata
    under ``bspandas`` (never a credential). Requests go through the client's pacer, so a
    long export waits inside the hourly budget; the plan printed first says how long those
    waits add up to.

    Parameters
    ----------
    object : str
        The catalog object to export (``"activity"``, ``"account"``...).
    columns : str or sequence of str
        The metric slugs to export, as ``read_query`` takes them.
    path : str
        The dataset's folder: a local path or an fsspec URL (``memory://``, ``s3://``...).
    where : str, optional
        A ``read_query``-style filter string; names of the caller's variables may appear in
        it as ``@name``.
    filter : mapping, optional
        The filter as the API's JSON tree (instead of ``where``).
    split_by : str or tuple, optional
        ``(slug, "month")`` (or ``"week"``, ``"quarter"``, ``"year"``), ``"SLUG:month"``, or
        ``(slug, [(start, end), ...])`` for explicit half-open ranges; ``slug`` is a date or
        timestamp attribute of ``object``. Without it the export is one file.
    start, end : date-like, optional
        The range of the split attribute to cover, ``end`` excluded (UTC when naive).
    client : Client, optional
        The client to send with (default: the default client).
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        How chunks travel through pandas (the stored types do not change; numpy_nullable
        is the faster).
    chunksize : int, default 250000
        Rows per chunk and per Parquet row group (memory is bounded by one chunk).
    validate : bool or {"warn", "raise"}, default "warn"
        The catalog schema check of each chunk, as in ``read_query``.
    progress : bool, optional
        Print the plan and each finished window on stderr (default: when it is a terminal).
    overwrite : bool, default False
        Remove what is at ``path`` and start afresh instead of resuming.
    dry_run : bool, default False
        Return the plan without sending an export (needs a known range when splitting).
    on_window : callable, optional
        Called with a :class:`WindowDone` after each window (raise in it to stop the run;
        the next run resumes).
    storage_options : mapping, optional
        Passed to the fsspec filesystem (credentials, endpoint...).

    Returns
    -------
    DatasetPlan
        The windows, the ones already done, the requests and the pacing wait, and in
        ``results`` one :class:`WindowDone` per window of this run.

    Raises
    ------
    QueryError
        An unknown object or column, a bad ``split_by`` or date, or ``dry_run=True`` with no
        range to split.
    DatasetError
        An empty range (``start`` not before ``end``), a dataset at ``path`` exported by a
        different query (pass ``overwrite=True``), or an unreadable manifest.
    TruncatedResponseError
        A window's answer ended without its terminating chunk twice with different row
        counts (nothing is written for it; run again to resume).

    Examples
    --------
    >>> from bspandas.sandbox import Sandbox
    >>> with Sandbox(accounts=5, users=2) as sb, sb.client() as client:
    ...     plan = export_dataset("account", ["ootb_account_name"], "memory://doc-export/b",
    ...                           client=client, progress=False)
    >>> [(r.window.key, r.rows, r.skipped) for r in plan.results]
    [('all', 5, False)]
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
    layout = _Layout(fs, root, "" if split is None else split.partition, _public(path))
    signature = _signature(query, split, start, end)
    manifest = None if overwrite else _read_manifest(fs, root)
    _check_signature(manifest, signature, layout.shown)
    planned, chosen, scanned = _planned(
        manifest, split, query, start, end, client, chunksize=chunksize, dry_run=dry_run
    )
    finished: dict[str, Any] = dict(manifest.get("windows", {})) if manifest else {}
    targets: list[Window | None] = list(planned) if split is not None else [None]
    done = [
        key
        for key, record in finished.items()
        if fs.exists(f"{root}/{record['file']}")
        and (split is None or key in {w.key for w in planned})
    ]
    plan = _new_plan(layout.shown, query.object, targets, done, chosen, scanned)
    if dry_run:
        return plan
    _announce(plan, progress)
    _prepare(fs, root, overwrite)
    chosen = chosen or default_client()
    state: dict[str, Any] = {
        "format": FORMAT,
        "object": query.object,
        "path": layout.shown,
        "signature": signature,
        "partition": layout.partition or None,
        "catalog_version": store.version(),
        "outputs": [o.name for o in query.outputs()],
        "windows_planned": [w.to_json() for w in planned] if split is not None else None,
        "windows": {k: v for k, v in finished.items() if k in set(done)},
    }
    _write_json(fs, f"{root}/{MANIFEST}", state)
    options: dict[str, Any] = {
        "dtype_backend": dtype_backend,
        "chunksize": chunksize,
        "validate": validate,
    }
    for target in targets:
        key = "all" if target is None else target.key
        if key in set(done):
            rows = int(state["windows"][key]["rows"])
            result = WindowDone(target or plan.windows[0], rows, layout.directory(target), True)
        else:
            window_query = _window_query(query, columns, target, split)
            rows = _export_target(layout, state, window_query, chosen, target, split, options)
            result = WindowDone(target or plan.windows[0], rows, layout.directory(target), False)
        plan.results.append(result)
        if not result.skipped:
            log.info("exported %s %s: %d rows", layout.shown, key, rows)
            if _shows(progress):
                print(f"  {layout.partition or 'all'}={key}: {rows:,} rows", file=sys.stderr)
        if on_window is not None:
            on_window(result)
    plan.done = list(state["windows"])
    return plan


@dataclass(frozen=True)
class _Layout:
    """Where an export writes: the filesystem, its root, the partition name, the path shown."""

    fs: Any
    root: str
    partition: str
    shown: str

    def directory(self, window: Window | None) -> str:
        """The folder of a window (the root itself without ``split_by``)."""
        return self.root if window is None else f"{self.root}/{self.partition}={window.key}"

    def relative(self, window: Window | None) -> str:
        """A window's file, relative to the root (as the manifest records it)."""
        return FILE_NAME if window is None else f"{self.partition}={window.key}/{FILE_NAME}"


def _check_signature(
    manifest: Mapping[str, Any] | None, signature: Mapping[str, Any], shown: str
) -> None:
    """Refuse to resume a dataset that a different query wrote."""
    if manifest is not None and manifest.get("signature") != signature:
        raise DatasetError(
            f"The dataset at {shown} was exported by a different query (its manifest records "
            f"{json.dumps(manifest.get('signature'), default=str)[:300]}). Pass "
            "overwrite=True (--overwrite on the command line) to replace it, or choose "
            "another path."
        )


def _prepare(fs: Any, root: str, overwrite: bool) -> None:
    """The root folder, emptied with ``overwrite``, without a killed run's staging files."""
    if overwrite and fs.exists(root):
        fs.rm(root, recursive=True)
    fs.makedirs(root, exist_ok=True)
    _clean_staging(fs, root)


def _window_query(query: Query, columns: Any, target: Window | None, split: Split | None) -> Query:
    """The query of one window: the export's filter and the window's range on the split."""
    window_filter = (
        None
        if target is None or split is None
        else _combine(query.filter, target, split.slug, query.object)
    )
    return query if window_filter is None else Query(query.object, columns, filter=window_filter)


def _export_target(
    layout: _Layout,
    state: dict[str, Any],
    window_query: Query,
    client: Client,
    target: Window | None,
    split: Split | None,
    options: Mapping[str, Any],
) -> int:
    """Export one window, then record it in the manifest. Returns its rows."""
    rows, meta = _export_window(
        layout.fs, layout.directory(target), window_query, client, target, split, **options
    )
    key = "all" if target is None else target.key
    state["windows"][key] = {
        "rows": rows,
        "file": layout.relative(target),
        "query": window_query.payload(),
        "fetched_at": meta.get("fetched_at"),
        "server_date": meta.get("server_date"),
        "start": None if target is None else target.start.isoformat(),
        "end": None if target is None else target.end.isoformat(),
    }
    _write_json(layout.fs, f"{layout.root}/{MANIFEST}", state)
    return rows


def _announce(plan: DatasetPlan, progress: bool | None) -> None:
    text = plan.describe()
    log.info("%s", text)
    if _shows(progress):
        print(text, file=sys.stderr)


def _shows(progress: bool | None) -> bool:
    return bool(progress) or (progress is None and sys.stderr.isatty())
