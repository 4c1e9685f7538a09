"""Checking filter values against the catalog types: numbers, booleans, text, dates and
timestamps (ISO strings, epoch milliseconds, ``datetime``), ``$in`` lists, ``$regex``
patterns and ``$within`` periods; ``@name`` values from the caller; the size and depth of
an operand; the short repr error messages quote.

>>> _to_timestamp("2026-01-31", "ootb_opportunity_close_date")
Timestamp('2026-01-31 00:00:00+0000', tz='UTC')
>>> _as_values({"b", "a"})
['a', 'b']
"""

from __future__ import annotations

import datetime as dt
import math
import re
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bspandas._exceptions import InvalidFilterError
from bspandas.catalog import vocabulary
from bspandas.catalog.model import Metric, Part
from bspandas.query.grammar import _FAMILY, _WITHIN_REFS, MAX_VALUES

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 80, 80


def _show(value: Any) -> str:
    """A short one-line repr for error messages (bounded depth and length, never a
    RecursionError); arrays are described by their type and length."""
    arrays = (pd.DataFrame, pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)
    if isinstance(value, arrays):
        return f"a {type(value).__name__} of {len(value)}"
    try:
        text = " ".join(_SHORT.repr(value).split())
    except Exception:  # a hostile __repr__
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _check_shape(raw: Any, op: str, name: str) -> None:
    """Refuse an operand nested deeper than any valid one (a value, a list of values, a
    ``{"$ref": ...}``) or longer than :data:`MAX_VALUES`, before anything walks it."""
    size = len(raw) if isinstance(raw, Sequence | np.ndarray | pd.Series | pd.Index) else 0
    if not isinstance(raw, str | bytes) and size > MAX_VALUES:
        raise InvalidFilterError(
            f"{op} on {name} got {size:,} values; at most {MAX_VALUES:,} are taken. Split "
            "the read into several queries."
        )
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, str | bytes) or not isinstance(
            current, Mapping | list | tuple | set | frozenset
        ):
            continue
        if level >= 2:
            raise InvalidFilterError(
                f"{op} on {name} takes a value or a list of values, got a nested "
                f"{type(current).__name__}: {_show(raw)}."
            )
        if len(current) > MAX_VALUES:
            raise InvalidFilterError(
                f"{op} on {name} got {len(current):,} values; at most {MAX_VALUES:,} are "
                "taken. Split the read into several queries."
            )
        items = current.values() if isinstance(current, Mapping) else current
        stack.extend((item, level + 1) for item in items)


def _is_missing(value: Any) -> bool:
    """``None``, ``pd.NA``, ``NaN``, ``NaT`` (a scalar; lists and text are values)."""
    if value is None:
        return True
    if isinstance(value, str | bytes) or not pd.api.types.is_scalar(value):
        return False
    return bool(pd.isna(value))


def _as_values(found: Any) -> Any:
    """An ``@name`` value as the parser takes it: array-likes (lists, tuples, sets, numpy
    arrays, ``Index``, ``Series``, pandas arrays such as ``Series.unique()`` results) become
    a list of scalars, scalars stay as they are."""
    if isinstance(found, pd.DataFrame | Mapping):
        raise InvalidFilterError(
            f"expected a value or a list of values, got {_show(found)}; pass a column "
            "(frame['name']) or a list"
        )
    if isinstance(found, set | frozenset):
        try:
            return sorted(found)  # a stable payload (and cache key)
        except TypeError:
            return sorted(found, key=repr)
    if isinstance(found, np.ndarray):
        if found.ndim != 1:
            raise InvalidFilterError(
                f"expected a one-dimensional array, got an array of shape {found.shape}"
            )
        return list(found) if found.dtype.kind in "mM" else found.tolist()
    if isinstance(found, list | tuple | pd.Index | pd.Series | pd.api.extensions.ExtensionArray):
        return list(found)
    return found


_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?\Z"
)


def _to_timestamp(value: Any, name: str) -> pd.Timestamp:
    if isinstance(value, bool):
        raise InvalidFilterError(f"{name} is a date; got the boolean {_show(value)}.")
    try:
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            stamp = pd.Timestamp(int(value), unit="ms", tz="UTC")
        elif isinstance(value, str):
            if not _ISO.match(value.strip()):
                raise InvalidFilterError(
                    f"{name}: {_show(value)} is not an ISO 8601 date or time. Write "
                    "'2026-01-02' or '2026-01-02T14:00:00Z' (a form like '01/02/2026' is "
                    "ambiguous: the 1st of February or the 2nd of January?)."
                )
            stamp = pd.Timestamp(value.strip())
        elif isinstance(value, dt.date | dt.datetime | pd.Timestamp | np.datetime64):
            stamp = pd.Timestamp(value)
        else:
            raise TypeError
    except InvalidFilterError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidFilterError(
            f"{name} is a date: use a date, a datetime, an ISO string like '2026-01-31' or epoch "
            f"milliseconds, got {_show(value)}."
        ) from exc
    if pd.isna(stamp):
        raise InvalidFilterError(f"{name}: {_show(value)} is not a date.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_number(value: Any, part: Part, name: str) -> Any:
    """A finite number (a duration may be a ``timedelta``: seconds; an id an integer)."""
    if part.type == "duration" and isinstance(value, dt.timedelta | pd.Timedelta):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        raise InvalidFilterError(
            f"{name} is a {part.type}: compare it with a number, got {_show(value)}."
        )
    number = value.item() if isinstance(value, np.generic) else value
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidFilterError(f"{name}: {_show(value)} is not a finite number.")
    if part.type == "internal_id":
        if isinstance(number, float) and not number.is_integer():
            raise InvalidFilterError(f"{name} is an integer id, got {_show(value)}.")
        return int(number)
    return number


def _check_value(value: Any, part: Part, metric: Metric, name: str) -> Any:
    family = _FAMILY.get(part.type)
    if family == "time":
        return _to_timestamp(value, name)
    if family == "boolean":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise InvalidFilterError(
            f"{name} is a boolean: compare it with True or False, got {_show(value)}."
        )
    if family == "number":
        return _check_number(value, part, name)
    if isinstance(value, str):
        return value
    raise InvalidFilterError(f"{name} is text: compare it with a string, got {_show(value)}.")


def _check_operand(op: str, raw: Any, part: Part, metric: Metric, name: str) -> Any:
    if op == "$exists":
        if not isinstance(raw, bool):
            raise InvalidFilterError(f"$exists on {name} takes True or False, got {_show(raw)}.")
        return raw
    if op in ("$in", "$nin"):
        return _check_list(op, raw, part, metric, name)
    if op == "$regex":
        return _check_pattern(raw, name)
    if op == "$within":
        return _check_period(raw, name)
    return _check_value(raw, part, metric, name)


def _check_list(op: str, raw: Any, part: Part, metric: Metric, name: str) -> list[Any]:
    """The non-empty list of checked values ``$in``/``$nin`` takes."""
    if isinstance(raw, str | bytes) or not isinstance(
        raw,
        Sequence
        | set
        | frozenset
        | np.ndarray
        | pd.Series
        | pd.Index
        | pd.api.extensions.ExtensionArray,
    ):
        raise InvalidFilterError(f"{op} on {name} takes a list of values, got {_show(raw)}.")
    values = list(raw)
    if not values:
        raise InvalidFilterError(f"{op} on {name} got an empty list; it would match nothing.")
    return [_check_value(v, part, metric, name) for v in values]


def _check_pattern(raw: Any, name: str) -> str:
    """The regular expression ``$regex`` takes."""
    if not isinstance(raw, str):
        raise InvalidFilterError(f"$regex on {name} takes a pattern string, got {_show(raw)}.")
    try:
        re.compile(raw)
    except re.error as exc:
        raise InvalidFilterError(
            f"$regex on {name}: {_show(raw)} is not a regular expression ({exc})."
        ) from exc
    return raw


def _check_period(raw: Any, name: str) -> str:
    """The period id ``$within`` takes (a name, an alias or the API's ``{"$ref": ...}``)."""
    period = raw
    if isinstance(raw, Mapping) and isinstance(raw.get("$ref"), str):
        period = raw["$ref"].removeprefix("time_ranges.")
    pid = vocabulary.normalize(period) if isinstance(period, str) else None
    if pid not in _WITHIN_REFS:
        known = ", ".join(vocabulary.canonical_order(list(_WITHIN_REFS)))
        raise InvalidFilterError(f"$within on {name} takes a period ({known}), got {_show(raw)}.")
    return pid
