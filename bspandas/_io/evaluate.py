"""A filter tree evaluated over a local frame with the API's semantics, at an explicit
instant ``as_of`` (the server's ``Date``) for relative periods; a *certain* check says
``<NA>`` where the client cannot know.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from bspandas.catalog import vocabulary
from bspandas.query.grammar import _FAMILY
from bspandas.query.tree import AllOf, Condition, Node

__all__ = ["evaluate"]


def _as_time(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.ArrowDtype) or not pd.api.types.is_datetime64_any_dtype(
        values.dtype
    ):
        values = pd.to_datetime(values.astype("object"), utc=True, errors="coerce")
    elif getattr(values.dtype, "tz", None) is None:
        values = values.dt.tz_localize("UTC")
    return values


# How far the server's window edges may be from the ones computed here: the tenant's time
# zone (up to a day), its first day of the week (up to two), a Date header rounded down.
_EDGE = pd.Timedelta(days=1)
_WEEK_EDGE = pd.Timedelta(days=2)
# Rounding a CSV may apply to numbers and to timestamps before a certain check trusts them.
_NUMBER_SLACK = 1e-9
_TIME_SLACK = pd.Timedelta(seconds=1)


def _within(
    values: pd.Series, missing: pd.Series, period: str, as_of: dt.datetime | None, certain: bool
) -> pd.Series:
    """``$within``: the server's window at ``as_of``; under ``certain``, ``<NA>`` near its
    edges and for fiscal periods (the client does not know the tenant's fiscal calendar)."""
    if certain and (as_of is None or period in vocabulary.FISCAL):
        return pd.Series(pd.NA, index=values.index, dtype="boolean").mask(missing, False)
    if as_of is None:
        raise ValueError(
            f"$within {period!r} is judged at an instant: pass as_of= (the server's Date, or "
            "the machine's clock when there is none)."
        )
    start, end = vocabulary.window(period, as_of, mode="full")
    edge = _WEEK_EDGE if "week" in period else _EDGE
    surely_in = pd.Series(True, index=values.index)
    surely_out = pd.Series(False, index=values.index)
    if start is not None:
        low = pd.Timestamp(start)
        surely_in &= (values >= (low + edge if certain else low)).fillna(False).astype(bool)
        surely_out |= (values < (low - edge if certain else low)).fillna(False).astype(bool)
    if end is not None:
        high = pd.Timestamp(end)
        surely_in &= (values < (high - edge if certain else high)).fillna(False).astype(bool)
        surely_out |= (values >= (high + edge if certain else high)).fillna(False).astype(bool)
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[surely_in.to_numpy()] = True
    result[(surely_out | missing).to_numpy()] = False
    if not certain:
        result = result.fillna(False)
    return result


def _slack(op: str, value: Any, type: str) -> tuple[Any, Any]:
    """The band around a comparison's value inside which a certain check cannot tell."""
    family = _FAMILY.get(type, "text")
    if family == "time" and isinstance(value, pd.Timestamp):
        return value - _TIME_SLACK, value + _TIME_SLACK
    if family == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        delta = _NUMBER_SLACK * max(1.0, abs(float(value)))
        if type == "duration":
            delta = max(delta, 1.0)
        return value - delta, value + delta
    return value, value


def _comparable(values: pd.Series, type: str) -> pd.Series:
    """The column as the API compares it: UTC timestamps, text, durations in seconds."""
    family = _FAMILY.get(type, "text")
    if family == "time":
        values = _as_time(values)
    elif family == "text":
        values = values.astype("string")
    elif type == "duration":
        values = values.dt.total_seconds() if hasattr(values, "dt") else values
    return values


def _compare(
    values: pd.Series, missing: pd.Series, op: str, value: Any, type: str, certain: bool
) -> pd.Series:
    """``$eq``...``$lte``; under ``certain``, ``<NA>`` inside the value's :func:`_slack`."""
    compare: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
        "$eq": lambda s, v: s == v,
        "$ne": lambda s, v: s != v,
        "$gt": lambda s, v: s > v,
        "$gte": lambda s, v: s >= v,
        "$lt": lambda s, v: s < v,
        "$lte": lambda s, v: s <= v,
    }
    outcome = compare[op](values, value).astype("boolean").fillna(False)
    if certain:
        low, high = _slack(op, value, type)
        if (low, high) != (value, value):
            near = ((values >= low) & (values <= high)).astype("boolean").fillna(False)
            outcome = outcome.mask(near & ~outcome, pd.NA)
    if op == "$ne":
        return pd.Series(outcome | missing, dtype="boolean")
    return pd.Series(outcome & ~missing, dtype="boolean")


def _evaluate_op(
    values: pd.Series,
    op: str,
    value: Any,
    type: str,
    *,
    as_of: dt.datetime | None,
    certain: bool = False,
) -> pd.Series:
    """API semantics: missing values never match a comparison, ``$in`` or ``$regex``; they
    do match ``$ne``, ``$nin`` and ``$exists: false``."""
    missing = values.isna()
    if op == "$exists":
        return pd.Series(~missing if value else missing, dtype="boolean")
    values = _comparable(values, type)
    if op == "$within":
        return _within(values, missing, value, as_of, certain)
    if op in ("$in", "$nin"):
        found = values.isin(value).fillna(False).astype(bool) & ~missing
        return pd.Series(found if op == "$in" else ~found, dtype="boolean")
    if op == "$regex":
        matched = values.str.contains(value, regex=True).fillna(False).astype(bool)
        return pd.Series(matched & ~missing, dtype="boolean")
    return _compare(values, missing, op, value, type, certain)


def _evaluate_condition(
    condition: Condition,
    frame: pd.DataFrame,
    *,
    as_of: dt.datetime | None,
    certain: bool,
    trusted: frozenset[int],
) -> pd.Series:
    if id(condition) in trusted:
        return pd.Series(True, index=frame.index, dtype="boolean")
    if condition.name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    values = frame[condition.name]
    result = pd.Series(True, index=frame.index, dtype="boolean")
    for op, value in condition.ops:
        result &= _evaluate_op(values, op, value, condition.part.type, as_of=as_of, certain=certain)
    return result


def evaluate(
    node: Node,
    frame: pd.DataFrame,
    *,
    as_of: dt.datetime | None,
    certain: bool = False,
    trusted: frozenset[int] = frozenset(),
) -> pd.Series:
    """The rows of ``frame`` that satisfy ``node``, as the Query API would select them.

    Missing values never match a comparison, ``$in`` or ``$regex``; they do match ``$ne``,
    ``$nin`` and ``$exists: false``.

    Parameters
    ----------
    node : Condition, AllOf or AnyOf
        The filter tree.
    frame : pandas.DataFrame
        The frame, with the columns the conditions name (a missing column gives ``<NA>``).
    as_of : datetime.datetime or None
        The server's instant relative periods (``$within``) are computed at. ``None``: it
        is unknown, which a certain check answers with ``<NA>``; an uncertain check of a
        ``$within`` then raises ``ValueError`` (pass the machine's clock instead).
    certain : bool, default False
        With ``True`` a row is ``False`` only when it surely fails the condition and
        ``<NA>`` where the client cannot know (fiscal periods, window edges within the
        tenant's time zone, rounding in the CSV).
    trusted : frozenset of int, default frozenset()
        ``id()`` of conditions the server applied: they hold on every row.

    Returns
    -------
    pandas.Series
        A nullable boolean mask on ``frame.index``.

    Raises
    ------
    ValueError
        When ``as_of`` is ``None`` and an uncertain check meets a ``$within``.

    Examples
    --------
    >>> from bspandas.query import parse_where
    >>> frame = pd.DataFrame({"industry": pd.array(["A", None, "B"], dtype="string")})
    >>> evaluate(parse_where("industry != 'A'", "account"), frame, as_of=None).tolist()
    [False, True, True]
    """
    if isinstance(node, Condition):
        return _evaluate_condition(node, frame, as_of=as_of, certain=certain, trusted=trusted)
    both = isinstance(node, AllOf)
    result = pd.Series(both, index=frame.index, dtype="boolean")
    for child in node.children:
        mask = evaluate(child, frame, as_of=as_of, certain=certain, trusted=trusted)
        result = result & mask if both else result | mask
    return result
