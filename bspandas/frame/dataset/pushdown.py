"""What of a ``where=`` filter a dataset read can apply before pandas sees the rows.

The pushed-down part is a pyarrow expression the Parquet reader filters with; windows
wholly outside the filter's range are not opened; relative periods (``$within``) are judged
at the export's server instant, never this machine's clock. The exact filter runs after.

>>> from bspandas.query.dict_reader import parse_filter
>>> str(_expression(parse_filter("ootb_account_name == 'Acme'", "account")))
'(ootb_account_name == "Acme")'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas._exceptions import DatasetError
from bspandas.catalog.vocabulary import window as period_window
from bspandas.frame.dataset.storage import file_meta
from bspandas.frame.dataset.windows import _utc
from bspandas.query.tree import AllOf, AnyOf, Condition, Node

__all__: list[str] = []


#: Catalog types whose conditions pyarrow can evaluate on the stored column.
PUSHABLE = ("text", "id", "enumeration", "internal_id", "count", "number", "score",
            "percentage", "money", "boolean", "timestamp")  # fmt: skip
#: Comparison operators and the pyarrow expression method each one is.
COMPARISONS = {"$eq": "__eq__", "$ne": "__ne__", "$gt": "__gt__", "$gte": "__ge__",
               "$lt": "__lt__", "$lte": "__le__"}  # fmt: skip


def _expression(node: Node, now: datetime | None = None) -> pc.Expression | None:
    """The part of a filter pyarrow can apply while reading (None: none of it).

    ``$within`` is pushed down only with ``now``, the instant the exact check uses too.
    """
    if isinstance(node, AllOf):
        parts = [e for e in (_expression(c, now) for c in node.children) if e is not None]
        return _all(parts)
    if isinstance(node, AnyOf):
        return _any([_expression(c, now) for c in node.children])
    assert isinstance(node, Condition)
    return _condition(node, now)


def _all(parts: Sequence[pc.Expression]) -> pc.Expression | None:
    """The parts joined by ``and`` (None when there is none)."""
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = result & part
    return result


def _any(parts: Sequence[pc.Expression | None]) -> pc.Expression | None:
    """The parts joined by ``or``; None when any one cannot be pushed down."""
    if any(p is None for p in parts):
        return None
    result = parts[0]
    assert result is not None
    for part in parts[1:]:
        assert part is not None
        result = result | part
    return result


def _condition(node: Condition, now: datetime | None) -> pc.Expression | None:
    """One condition as an expression: all its operators, or None if one cannot be."""
    kind = node.part.type
    if kind not in PUSHABLE:
        return None
    terms: list[pc.Expression] = []
    for op, value in node.ops:
        found = _terms(node, kind, op, value, now)
        if found is None:
            return None
        terms.extend(found)
    return _all(terms)


def _terms(
    node: Condition, kind: str, op: str, value: Any, now: datetime | None
) -> list[pc.Expression] | None:
    """One operator of a condition as expressions to ``and`` (None: it cannot be)."""
    target = pc.field(node.name)
    missing = target.is_null()
    if op == "$within":
        if kind != "timestamp" or now is None:
            return None
        low, high = period_window(value, now, mode="full")
        stamp = pa.timestamp("ms", tz="UTC")
        terms: list[pc.Expression] = []
        if low is not None:
            terms.append(target >= pa.scalar(low, stamp))
        if high is not None:
            terms.append(target < pa.scalar(high, stamp))
        return terms
    if op in ("$in", "$nin"):
        if kind == "timestamp":
            return None
        values = [v for v in value if v is not None]
        term = target.isin(values)
        # the API's semantics: a missing value matches $ne and $nin, nothing else
        return [term if op == "$in" else ~term | missing]
    symbol = COMPARISONS.get(op)
    if symbol is None:
        return None
    scalar: Any = value
    if kind == "timestamp":
        scalar = pa.scalar(_utc(value, node.name).to_pydatetime(), pa.timestamp("ms", tz="UTC"))
    term = getattr(target, symbol)(scalar)
    return [term | missing if op == "$ne" else term]


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
