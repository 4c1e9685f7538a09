"""What an export will do before it sends anything: its windows, the requests, the waits.

>>> plan = DatasetPlan("memory://doc-plan", "activity", [], [], 0, 0.0, 100)
>>> plan.describe()
'memory://doc-plan: all 0 windows are already exported; nothing to send.'
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bspandas._exceptions import DatasetError, QueryError
from bspandas._http.client import Client
from bspandas._http.default import default_client
from bspandas._messages import robust_repr
from bspandas.frame.dataset.windows import Split, Window, _bounds, _utc, windows_for
from bspandas.query.builder import Query

__all__ = ["DatasetPlan", "WindowDone"]

log = logging.getLogger("bspandas")


@dataclass
class WindowDone:
    """One finished window, handed to ``on_window`` (for progress or to stop a run).

    Attributes
    ----------
    window : Window
        The window (key ``all`` without ``split_by``).
    rows : int
        The rows its file holds.
    path : str
        Its folder (``<root>/<partition>=<key>``).
    skipped : bool
        True when an earlier run had already exported it.
    """

    window: Window
    rows: int
    path: str
    skipped: bool


@dataclass
class DatasetPlan:
    """What an export will do: its windows, which are already done, the requests to send.

    :func:`export_dataset` returns it (with ``dry_run=True`` before sending anything).

    Attributes
    ----------
    path : str
        The dataset's path, without any credential in it.
    object : str
        The exported catalog object.
    windows : list of Window
        Every planned window, in time order.
    done : list of str
        Keys of the windows already exported (after a run: all the finished ones).
    requests : int
        Export requests still to send.
    pacing_seconds : float
        The least waiting the client's hourly budget adds.
    budget : int
        The client's requests per hour.
    scanned : bool
        Whether a first request found the range of the split attribute.
    results : list of WindowDone
        One per window handled by the run, in order.

    Examples
    --------
    >>> plan = DatasetPlan("memory://doc-plan", "activity", [], [], 0, 0.0, 100)
    >>> plan.to_frame().columns.tolist()
    ['key', 'start', 'end', 'done']
    """

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
        """The windows not exported yet."""
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


def _planned(
    manifest: Mapping[str, Any] | None,
    split: Split | None,
    query: Query,
    start: Any,
    end: Any,
    client: Client | None,
    *,
    chunksize: int,
    dry_run: bool,
) -> tuple[list[Window], Client | None, bool]:
    """The windows to export: the manifest's (a resumed run), the explicit ranges, or the
    calendar windows of the range. Returns them, the client (chosen if a scan needed one)
    and whether a scan request was sent."""
    if manifest is not None and manifest.get("windows_planned") is not None:
        return [Window.from_json(w) for w in manifest["windows_planned"]], client, False
    if split is None:
        return [], client, False
    if split.ranges:
        return list(split.ranges), client, False
    return _calendar(query, split, start, end, client, chunksize=chunksize, dry_run=dry_run)


def _calendar(
    query: Query,
    split: Split,
    start: Any,
    end: Any,
    client: Client | None,
    *,
    chunksize: int,
    dry_run: bool,
) -> tuple[list[Window], Client | None, bool]:
    """Calendar windows of the range from ``where=``/``filter=``, ``start=``/``end=``, else
    from a first request for the split attribute alone."""
    assert split.unit is not None
    scanned = False
    lo, hi = _bounds(query.filter, split.slug)
    lo = lo if start is None else _utc(start, "start")
    hi = hi if end is None else _utc(end, "end")
    if lo is None or hi is None:
        if dry_run:
            raise QueryError(
                "dry_run=True cannot find the windows without a request: give start= and "
                "end=, or a range on the split attribute in where=."
            )
        client = client or default_client()
        lo, hi = _scanned_range(query, split.slug, client, chunksize, lo, hi)
        scanned = True
    if lo is not None and hi is not None and lo >= hi:
        raise DatasetError(
            f"The range on {split.slug} (from where=/filter=, start=, end=) is empty: it "
            f"starts at {lo.isoformat()} and ends at {hi.isoformat()}, excluded. Give a "
            "start before the end; nothing was written."
        )
    planned = [] if lo is None or hi is None else windows_for(split.unit, lo, hi)
    return planned, client, scanned


def _scanned_range(
    query: Query,
    slug: str,
    client: Client,
    chunksize: int,
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The range's missing ends from a scan of the split attribute (last value + 1 ms)."""
    first, last, missing = _scan(query, slug, client, chunksize)
    if missing:
        log.warning(
            "%d rows have no %s and fall in no window; they are not exported",
            missing,
            slug,
        )
    lo = lo if lo is not None else first
    hi = hi if hi is not None else (None if last is None else last + pd.Timedelta(1, "ms"))
    return lo, hi


def _whole() -> Window:
    """The one window of an export without ``split_by`` (key ``all``)."""
    return Window("all", pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))


def _new_plan(
    shown: str,
    obj: str,
    targets: Sequence[Window | None],
    done: list[str],
    client: Client | None,
    scanned: bool,
) -> DatasetPlan:
    """The plan: the windows, the requests still to send and the pacing they will cost."""
    budget = client.pacer.budget if client is not None else 100
    remaining = client.pacer.remaining() if client is not None else budget
    todo_count = sum(1 for t in targets if (t.key if t else "all") not in set(done))
    requests = todo_count
    over = max(0, requests - remaining)
    return DatasetPlan(
        path=shown,
        object=obj,
        windows=[t if t is not None else _whole() for t in targets],
        done=done,
        requests=requests,
        pacing_seconds=over * 3600.0 / budget,
        budget=budget,
        scanned=scanned,
    )
