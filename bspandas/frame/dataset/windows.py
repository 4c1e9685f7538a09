"""Time windows of a dataset: ``split_by`` checked, calendar windows, a filter's range.

An export is cut into half-open UTC windows ``[start, end)`` of its split attribute, one
Hive partition each (``month=2026-01``), either by calendar unit or by explicit ranges.

>>> [w.key for w in windows_for("quarter", "2026-02-01", "2026-07-01")]
['2026-Q1', '2026-Q2']
>>> _split(("ootb_activity_timestamp", "month"), "activity").partition
'month'
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from bspandas._exceptions import DatasetError, QueryError
from bspandas.catalog import store
from bspandas.query.tree import AllOf, Condition, Node

__all__ = ["Split", "Window", "windows_for"]

Unit = Literal["month", "week", "quarter", "year"]
UNITS: tuple[str, ...] = ("month", "week", "quarter", "year")


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
    """``split_by`` checked against the catalog (None: no split)."""
    if split_by is None:
        return None
    slug, how = _split_pair(split_by)
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
    return Split(metric.slug, None, _ranges(how))


def _split_pair(split_by: Any) -> tuple[Any, Any]:
    """``split_by`` as (slug, unit or ranges), from ``"SLUG:unit"`` or a pair."""
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
    return slug, how


def _ranges(how: Any) -> tuple[Window, ...]:
    """Explicit ``split_by`` ranges as windows in time order (none empty, none overlapping)."""
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
    return tuple(ranges)


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
