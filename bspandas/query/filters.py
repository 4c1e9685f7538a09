"""The one filter grammar: read it from three spellings, check it, send it, evaluate it.

Three inputs become the same tree of :class:`Condition`, :class:`AllOf` and :class:`AnyOf`:

* the API's own dict: ``{"$and": [{"attribute": {"slug": ...}, "clause": {"$gte": 70}}]}``
* a simple dict: ``{"ootb_churn_risk_score": {"$gte": 70}, "industry": ["Retail", "Media"]}``
* a ``where=`` string in pandas-query style, parsed with :mod:`ast` (never evaluated):
  ``"ootb_churn_risk_score >= 70 and industry in ['Retail', 'Media']"``

Values are checked against the catalog types; dates and datetimes become epoch milliseconds
on the wire; several conditions on one attribute inside an ``$and`` become one clause (two
leaves on one attribute have crashed the real server).

>>> tree = parse_filter("ootb_churn_risk_score >= 70 and ootb_churn_risk_score < 90", "account")
>>> tree.to_api()
{'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gte': 70, '$lt': 90}}
>>> str(tree)
'ootb_churn_risk_score >= 70 and ootb_churn_risk_score < 90'
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import math
import re
import reprlib
import tokenize
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bspandas._exceptions import (
    InvalidFilterError,
    PossibleTypoWarning,
    QueryError,
    VariationAdjustedWarning,
)
from bspandas._messages import quote_input
from bspandas._utils import find_stacklevel
from bspandas.catalog import store, vocabulary
from bspandas.catalog.model import Metric, Part
from bspandas.catalog.resolve import Column, parse_name, resolve_one

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "Node",
    "conjuncts",
    "parse_filter",
    "parse_where",
]

#: The variation the field's filters give attribute-shaped slugs (``ootb_opportunity_close_date_0``
#: with ``$within``): the attribute itself, not a window.
FIELD_ATTRIBUTE_VARIATION = "_0"

OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$regex",
    "$exists",
    "$within",
)
_BY_TYPE: dict[str, frozenset[str]] = {
    "text": frozenset({"$eq", "$ne", "$in", "$nin", "$regex", "$exists"}),
    "number": frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}),
    "boolean": frozenset({"$eq", "$ne", "$exists"}),
    "time": frozenset(
        {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$within", "$exists"}
    ),
}
_FAMILY = {
    "text": "text",
    "id": "text",
    "enumeration": "text",
    "internal_id": "number",
    "count": "number",
    "number": "number",
    "score": "number",
    "percentage": "number",
    "money": "number",
    "duration": "number",
    "boolean": "boolean",
    "date": "time",
    "timestamp": "time",
}
_SYMBOL = {"$eq": "==", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NEGATE = {
    "$eq": "$ne",
    "$ne": "$eq",
    "$gt": "$lte",
    "$lte": "$gt",
    "$lt": "$gte",
    "$gte": "$lt",
    "$in": "$nin",
    "$nin": "$in",
}
_EPOCH = pd.Timestamp(0, tz="UTC")
# Families whose missing values compare as unknown in DataFrame.query (nullable NA): their
# where-string ``!=`` and negations keep no missing value. Text compares like a value.
_KLEENE = frozenset({"number", "boolean", "time"})
#: How many levels of ``$and``/``$or``/``not`` a filter may nest (dicts and ``where=``).
MAX_DEPTH = 64
#: The most values one ``$in``/``$nin`` takes (far above what the API accepts in one request).
MAX_VALUES = 10_000_000
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


# -- the tree -----------------------------------------------------------------------------


def _not_equal(type: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """``!=`` where a missing value is unknown (``DataFrame.query`` on nullable columns):
    the other boolean, or ``$ne`` on present values only."""
    if _FAMILY.get(type) == "boolean" and isinstance(value, bool):
        return (("$eq", not value),)
    return (("$ne", value), ("$exists", True))


@dataclass(frozen=True)
class Condition:
    """One attribute with one or more operators (``{"$gte": 1, "$lt": 5}``).

    ``ops`` holds checked Python values: ``pd.Timestamp`` (UTC) for dates, ``int``/``float``
    for numbers, ``str`` for text, ``bool``, lists for ``$in``/``$nin``, a period id for
    ``$within``, a ``bool`` for ``$exists``.
    """

    column: Column
    part: Part
    ops: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        """The frame column the condition reads."""
        return self.column.name + self.part.suffix

    def attributes(self) -> list[Condition]:
        return [self]

    def to_api(self) -> dict[str, Any]:
        attribute: dict[str, str] = {"slug": self.column.slug}
        if self.column.variation_id is not None:
            attribute["variation_id"] = self.column.variation_id
        elif any(op == "$within" for op, _ in self.ops):
            # what the field's own bodies send with $within on a date attribute (Appendix)
            attribute["variation_id"] = self.column.slug + FIELD_ATTRIBUTE_VARIATION
        return {"attribute": attribute, "clause": {op: _wire(v) for op, v in self.ops}}

    def __str__(self) -> str:
        return " and ".join(_describe(self.name, op, value) for op, value in self.ops)

    def negate(self) -> Node:
        """``not`` as ``DataFrame.query`` reads it: on numbers, booleans and dates a missing
        value compares as unknown and stays unknown when negated (``not x == 1`` keeps no
        missing value), while ``$in``/``$nin`` and text treat it as one more value."""
        kleene = _FAMILY.get(self.part.type) in _KLEENE
        ops = self.ops
        if kleene and len(ops) > 1 and ("$exists", True) in ops:
            ops = tuple(item for item in ops if item != ("$exists", True))  # the guard
        parts: list[Node] = []
        for op, value in ops:
            if op in _NEGATE:
                negated: tuple[tuple[str, Any], ...] = ((_NEGATE[op], value),)
                if kleene and _NEGATE[op] == "$ne":
                    negated = _not_equal(self.part.type, value)
                parts.append(Condition(self.column, self.part, negated))
            elif op == "$exists":
                parts.append(Condition(self.column, self.part, (("$exists", not value),)))
            else:
                raise InvalidFilterError(
                    f"'not' cannot be applied to {_describe(self.name, op, value)}: the Query "
                    f"API has no negated form of {op}."
                )
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def evaluate(
        self,
        frame: pd.DataFrame,
        *,
        now: dt.datetime | None = None,
        certain: bool = False,
        trusted: frozenset[int] = frozenset(),
    ) -> pd.Series:
        """Row mask (nullable boolean; ``<NA>`` when the column is absent).

        ``now`` is the server's instant relative periods are computed at (this machine's
        clock when ``None``). With ``certain=True`` a row is ``False`` only when it surely
        fails the condition and ``<NA>`` where the client cannot know (fiscal periods,
        window edges within the tenant's time zone, rounding in the CSV). Conditions whose
        ``id()`` is in ``trusted`` were applied by the server and hold on every row.
        """
        if id(self) in trusted:
            return pd.Series(True, index=frame.index, dtype="boolean")
        if self.name not in frame.columns:
            return pd.Series(pd.NA, index=frame.index, dtype="boolean")
        values = frame[self.name]
        result = pd.Series(True, index=frame.index, dtype="boolean")
        for op, value in self.ops:
            result &= _evaluate_op(values, op, value, self.part.type, now=now, certain=certain)
        return result


@dataclass(frozen=True)
class AllOf:
    """``$and`` of several nodes."""

    children: tuple[Node, ...]

    def attributes(self) -> list[Condition]:
        return [c for child in self.children for c in child.attributes()]

    def to_api(self) -> dict[str, Any]:
        return {"$and": [child.to_api() for child in self.children]}

    def __str__(self) -> str:
        return " and ".join(_wrap(child, AllOf) for child in self.children)

    def negate(self) -> Node:
        return AnyOf(tuple(child.negate() for child in self.children))

    def evaluate(
        self,
        frame: pd.DataFrame,
        *,
        now: dt.datetime | None = None,
        certain: bool = False,
        trusted: frozenset[int] = frozenset(),
    ) -> pd.Series:
        result = pd.Series(True, index=frame.index, dtype="boolean")
        for child in self.children:
            result &= child.evaluate(frame, now=now, certain=certain, trusted=trusted)
        return result


@dataclass(frozen=True)
class AnyOf:
    """``$or`` of several nodes."""

    children: tuple[Node, ...]

    def attributes(self) -> list[Condition]:
        return [c for child in self.children for c in child.attributes()]

    def to_api(self) -> dict[str, Any]:
        return {"$or": [child.to_api() for child in self.children]}

    def __str__(self) -> str:
        return " or ".join(_wrap(child, AnyOf) for child in self.children)

    def negate(self) -> Node:
        return AllOf(tuple(child.negate() for child in self.children))

    def evaluate(
        self,
        frame: pd.DataFrame,
        *,
        now: dt.datetime | None = None,
        certain: bool = False,
        trusted: frozenset[int] = frozenset(),
    ) -> pd.Series:
        result = pd.Series(False, index=frame.index, dtype="boolean")
        for child in self.children:
            result |= child.evaluate(frame, now=now, certain=certain, trusted=trusted)
        return result


Node = Condition | AllOf | AnyOf


def conjuncts(node: Node | None) -> list[Condition]:
    """The conditions every row satisfying ``node`` satisfies: ``node`` itself, or the
    conditions of its top-level ``$and`` chain (never those inside an ``$or``).

    >>> where = "industry == 'Retail' and (ootb_churn_risk_score > 70 or industry == 'Media')"
    >>> [str(c) for c in conjuncts(parse_where(where, "account"))]
    ["industry == 'Retail'"]
    """
    found: list[Condition] = []
    stack: list[Node] = [] if node is None else [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Condition):
            found.append(current)
        elif isinstance(current, AllOf):
            stack.extend(reversed(current.children))
    return found


def _wrap(node: Node, parent: type) -> str:
    """Parenthesize a child when printing it bare would change the meaning."""
    text = str(node)
    needs = isinstance(node, AnyOf) if parent is AllOf else not isinstance(node, AnyOf)
    if parent is AnyOf and isinstance(node, Condition) and len(node.ops) == 1:
        needs = False
    return f"({text})" if needs else text


def _describe(name: str, op: str, value: Any) -> str:
    if op in _SYMBOL:
        return f"{name} {_SYMBOL[op]} {_literal(value)}"
    if op == "$in":
        return f"{name} in {_literal(value)}"
    if op == "$nin":
        return f"{name} not in {_literal(value)}"
    if op == "$regex":
        return f"{name}.str.contains({value!r})"
    if op == "$exists":
        return f"{name}.notna()" if value else f"{name}.isna()"
    return f"{name}.within({value!r})"


def _literal(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        text = value.isoformat().replace("+00:00", "Z")
        return repr(text.removesuffix("T00:00:00Z"))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _wire(value: Any) -> Any:
    """Turn a checked value into what the API wants (epoch milliseconds for dates)."""
    if isinstance(value, pd.Timestamp):
        return int((value - _EPOCH) // pd.Timedelta(milliseconds=1))
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, str) and value in _WITHIN_REFS:
        return {"$ref": f"time_ranges.{value}"}
    return value


_WITHIN_REFS = frozenset(p.id for p in vocabulary.PERIODS if p.group not in ("point", "status"))


# -- local evaluation ------------------------------------------------------------------------


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
    values: pd.Series, missing: pd.Series, period: str, now: dt.datetime | None, certain: bool
) -> pd.Series:
    """``$within``: the server's window at ``now``; under ``certain``, ``<NA>`` near its
    edges and for fiscal periods (the client does not know the tenant's fiscal calendar)."""
    if certain and (now is None or period in vocabulary.FISCAL):
        return pd.Series(pd.NA, index=values.index, dtype="boolean").mask(missing, False)
    instant = pd.Timestamp.now(tz="UTC").to_pydatetime() if now is None else now
    start, end = vocabulary.window(period, instant, mode="full")
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


def _evaluate_op(
    values: pd.Series,
    op: str,
    value: Any,
    type: str,
    *,
    now: dt.datetime | None = None,
    certain: bool = False,
) -> pd.Series:
    """API semantics: missing values never match a comparison, ``$in`` or ``$regex``; they
    do match ``$ne``, ``$nin`` and ``$exists: false``."""
    family = _FAMILY.get(type, "text")
    missing = values.isna()
    if op == "$exists":
        return pd.Series(~missing if value else missing, dtype="boolean")
    if family == "time":
        values = _as_time(values)
    elif family == "text":
        values = values.astype("string")
    elif type == "duration":
        values = values.dt.total_seconds() if hasattr(values, "dt") else values
    if op == "$within":
        return _within(values, missing, value, now, certain)
    if op in ("$in", "$nin"):
        found = values.isin(value).fillna(False).astype(bool) & ~missing
        return pd.Series(found if op == "$in" else ~found, dtype="boolean")
    if op == "$regex":
        matched = values.str.contains(value, regex=True).fillna(False).astype(bool)
        return pd.Series(matched & ~missing, dtype="boolean")
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


# -- checking values against the catalog ---------------------------------------------------


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[-_./]+", " ", text.casefold()).split())


def close_values(value: str, known: Sequence[str]) -> list[str]:
    """Known values ``value`` is probably a typo of: the same up to case, spaces and
    punctuation, or one edit away (two for long values); none for short values that merely
    share a letter or values far from every known one (a tenant's own picklist values).

    >>> close_values("Closed-Won", ["Closed Won", "Closed Lost"])
    ['Closed Won']
    >>> close_values("Closed Won - Renewal", ["Closed Won", "Closed Lost"])
    []
    """
    if value in known:
        return []
    folded = _fold(value)
    allowed = 0 if len(folded) < 4 else 1 if len(folded) < 10 else 2
    scored = sorted((_edits(folded, _fold(k)), k) for k in known)
    return [k for d, k in scored if d <= allowed and d == scored[0][0]]


def _warn_typos(condition: Condition, where: str | None = None) -> None:
    """Warn when a filter (a where-string, or a dict when ``where`` is None) compares an
    enumeration with a likely typo of a value."""
    if condition.part.type != "enumeration":
        return
    known = list(condition.part.values or condition.column.metric.values)
    if not known:
        return
    for op, value in condition.ops:
        if op not in ("$eq", "$ne", "$in", "$nin"):
            continue
        for item in value if isinstance(value, list) else [value]:
            close = close_values(item, known) if isinstance(item, str) else []
            if close:
                choices = " or ".join(repr(c) for c in close)
                warnings.warn(
                    f"{condition.name} has no value {item!r}; did you mean {choices}? "
                    f"As written, {'the filter' if where is None else f'where={where!r}'} "
                    "matches no row on that value. Known values: "
                    f"{', '.join(known)} (a tenant may add its own).",
                    PossibleTypoWarning,
                    stacklevel=find_stacklevel(),
                )


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
    if isinstance(value, str):
        return value
    raise InvalidFilterError(f"{name} is text: compare it with a string, got {_show(value)}.")


def _make_condition(target: Any, ops: Mapping[str, Any], obj: str) -> Condition:
    """A checked :class:`Condition` for a column spec and raw operators."""
    column, part = _attribute(target, obj)
    name = column.name + part.suffix
    if column.metric.expanded and part.suffix != column.metric.parts[0].suffix:
        first = column.name + column.metric.parts[0].suffix
        raise InvalidFilterError(
            f"{name} cannot be filtered: the Query API filters {column.slug} by its first "
            f"column ({first})."
        )
    family = _FAMILY.get(part.type)
    if family is None:
        raise InvalidFilterError(
            f"{name} is a {part.type} column: the Query API documents no filter on it. "
            "Filter the frame after reading instead."
        )
    if not ops:
        raise InvalidFilterError(f"The condition on {name} has no operator.")
    checked: list[tuple[str, Any]] = []
    for op, raw in ops.items():
        if op not in OPERATORS:
            raise InvalidFilterError(
                f"Unknown operator {op!r} on {name}. Known: {', '.join(OPERATORS)}."
            )
        if op not in _BY_TYPE[family]:
            allowed = ", ".join(o for o in OPERATORS if o in _BY_TYPE[family])
            raise InvalidFilterError(
                f"{op} does not apply to {name} ({part.type}). Use: {allowed}."
            )
        _check_shape(raw, op, name)
        checked.append((op, _check_operand(op, raw, part, column.metric, name)))
    return Condition(column, part, tuple(checked))


def _check_operand(op: str, raw: Any, part: Part, metric: Metric, name: str) -> Any:
    if op == "$exists":
        if not isinstance(raw, bool):
            raise InvalidFilterError(f"$exists on {name} takes True or False, got {_show(raw)}.")
        return raw
    if op in ("$in", "$nin"):
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
    if op == "$regex":
        if not isinstance(raw, str):
            raise InvalidFilterError(f"$regex on {name} takes a pattern string, got {_show(raw)}.")
        try:
            re.compile(raw)
        except re.error as exc:
            raise InvalidFilterError(
                f"$regex on {name}: {_show(raw)} is not a regular expression ({exc})."
            ) from exc
        return raw
    if op == "$within":
        period = raw
        if isinstance(raw, Mapping) and isinstance(raw.get("$ref"), str):
            period = raw["$ref"].removeprefix("time_ranges.")
        pid = vocabulary.normalize(period) if isinstance(period, str) else None
        if pid not in _WITHIN_REFS:
            known = ", ".join(vocabulary.canonical_order(list(_WITHIN_REFS)))
            raise InvalidFilterError(
                f"$within on {name} takes a period ({known}), got {_show(raw)}."
            )
        return pid
    return _check_value(raw, part, metric, name)


def _attribute(target: Any, obj: str) -> tuple[Column, Part]:
    """The column and part a filter reads: a frame name, a slug, a variation id,
    ``(slug, period)`` or the API's ``{"slug", "variation_id"}`` (the field's
    ``{"slug": S, "variation_id": S + "_0"}`` names the attribute ``S`` itself)."""
    if (
        isinstance(target, Mapping)
        and isinstance(target.get("slug"), str)
        and target.get("variation_id") == target["slug"] + FIELD_ATTRIBUTE_VARIATION
    ):
        target = {k: v for k, v in target.items() if k != "variation_id"}
    slug = target.get("slug") if isinstance(target, Mapping) and len(target) == 1 else None
    if isinstance(slug, str) and (metric := store.find(slug, obj)) is not None:
        column = bare_column(metric, obj)
        parts = column.metric.parts
        return column, next((p for p in parts if p.suffix == "_id"), parts[0])
    if isinstance(target, str):
        found = parse_name(target, obj)
        if found is not None:
            metric, period, part = found
            column = (
                resolve_one((metric.slug, period), obj)[0] if period else bare_column(metric, obj)
            )
            return column, part
    try:
        (column,) = resolve_one(target, obj)
    except ValueError as exc:
        if isinstance(exc, QueryError):
            raise
        raise InvalidFilterError(f"Cannot read the filter attribute {_show(target)}.") from exc
    parts = column.metric.parts
    part = next((p for p in parts if p.suffix == "_id"), parts[0])
    return column, part


def bare_column(metric: Metric, obj: str, where: str = "a filter") -> Column:
    """The column of a slug named without a period; a windowed slug keeps the window the
    field gives it when sent bare (7 days back, the next 7 for upcoming metrics), said in
    a warning, instead of being refused."""
    if not metric.bare:
        period = "next_7_days" if metric.future else "last_7_days"
        if period in metric.periods:
            warnings.warn(
                f"{metric.slug} is windowed and {where} names it without a period: the "
                f"Query API gives a bare windowed slug its default window ({period}), so "
                f"bspandas uses ({metric.slug!r}, {period!r}). Give a period, e.g. "
                f"({metric.slug!r}, {metric.periods[-1]!r}), to choose another.",
                VariationAdjustedWarning,
                stacklevel=find_stacklevel(),
            )
            return resolve_one((metric.slug, period), obj)[0]
    (column,) = resolve_one(metric.slug, obj)
    return column


# -- simplification: one clause per attribute ------------------------------------------------


def _members(values: list[Any]) -> set[Any] | list[Any]:
    """A container for fast membership tests (a set; the list itself when unhashable)."""
    try:
        return set(values)
    except TypeError:
        return values


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    """``first`` then the values of ``second`` it lacks, in linear time."""
    seen = _members(first)
    extra: list[Any] = []
    for value in second:
        if value not in seen:
            extra.append(value)
            if isinstance(seen, set):
                seen.add(value)
    return first + extra


def _intersection(first: list[Any], second: list[Any]) -> list[Any]:
    """The values of ``first`` also in ``second`` (in ``first``'s order), in linear time."""
    other = _members(second)
    return [v for v in first if v in other]


def _merge_ops(a: Condition, b: Condition) -> Condition | None:
    """Merge two conditions on one attribute inside an ``$and`` into one clause, or
    ``None`` when they cannot share one (two different ``$eq``, ``$regex``...): then both
    leaves are kept. An unsatisfiable pair is not an error: like pandas, it selects no row.
    """
    ops = dict(a.ops)
    for op, value in b.ops:
        if op not in ops or ops[op] == value:
            ops[op] = value
        elif op in ("$gt", "$gte"):
            ops[op] = max(ops[op], value)
        elif op in ("$lt", "$lte"):
            ops[op] = min(ops[op], value)
        elif op == "$in" and (common := _intersection(ops[op], value)):
            ops[op] = common
        elif op == "$ne" and "$nin" in _BY_TYPE[_FAMILY[a.part.type]]:
            ops["$nin"] = _union(ops.get("$nin", []), [ops.pop("$ne"), value])
        elif op == "$nin":
            ops[op] = _union(ops[op], value)
        else:
            return None
    if "$ne" in ops and "$nin" in ops:  # ($nin exists only where the family allows it)
        ops["$nin"] = _union(ops["$nin"], [ops.pop("$ne")])
    return Condition(a.column, a.part, tuple(ops.items()))


def simplify(node: Node) -> Node:
    """Flatten nested ``$and``/``$or`` and merge conditions on one attribute in an ``$and``."""
    if isinstance(node, Condition):
        return node
    kind = type(node)
    children: list[Node] = []
    for child in (simplify(c) for c in node.children):
        children.extend(child.children if isinstance(child, kind) else [child])
    if kind is AllOf:
        merged: list[Node] = []
        by_name: dict[str, int] = {}
        for child in children:
            if isinstance(child, Condition) and child.name in by_name:
                index = by_name[child.name]
                previous = merged[index]
                assert isinstance(previous, Condition)
                combined = _merge_ops(previous, child)
                if combined is None:
                    merged.append(child)
                else:
                    merged[index] = combined
            else:
                if isinstance(child, Condition):
                    by_name[child.name] = len(merged)
                merged.append(child)
        children = merged
    if len(children) == 1:
        return children[0]
    return kind(tuple(children))


# -- reading the API dict and the simple dict ---------------------------------------------------


def _from_mapping(spec: Mapping[str, Any], obj: str, depth: int = 0) -> Node:
    if not spec:
        raise InvalidFilterError("An empty filter dict: pass None for no filter.")
    if "attribute" in spec or "clause" in spec:
        if set(spec) != {"attribute", "clause"}:
            raise InvalidFilterError(
                "A filter leaf needs exactly 'attribute' and 'clause', got keys "
                f"{sorted(map(str, spec))}."
            )
        attribute, clause = spec["attribute"], spec["clause"]
        if isinstance(attribute, str):
            attribute = {"slug": attribute}  # the API answers 500 to a bare string
        if (
            not isinstance(attribute, Mapping)
            or not isinstance(clause, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in attribute.items())
        ):
            raise InvalidFilterError(
                "'attribute' must be {'slug': ...} and 'clause' a dict of operators, "
                f"got {_show(dict(spec))}."
            )
        return _make_condition(dict(attribute), clause, obj)
    nodes: list[Node] = []
    for key, value in spec.items():
        if key in ("$and", "$or"):
            if isinstance(value, Mapping) or not isinstance(value, Sequence) or not value:
                raise InvalidFilterError(
                    f"{key} takes a non-empty list of filters, got {_show(value)}."
                )
            items = [_from_any(v, obj, depth + 1) for v in value]
            nodes.append(AllOf(tuple(items)) if key == "$and" else AnyOf(tuple(items)))
        elif not isinstance(key, str):
            raise InvalidFilterError(f"Filter keys are column names or $and/$or, got {_show(key)}.")
        elif key.startswith("$"):
            raise InvalidFilterError(f"Unknown logical operator {_show(key)}; use $and or $or.")
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(k, str) and k.startswith("$") for k in value)
        ):
            nodes.append(_make_condition(key, value, obj))
        elif isinstance(value, list | tuple | set | frozenset):
            nodes.append(_make_condition(key, {"$in": list(value)}, obj))
        elif value is None:
            nodes.append(_make_condition(key, {"$exists": False}, obj))
        else:
            nodes.append(_make_condition(key, {"$eq": value}, obj))
    return nodes[0] if len(nodes) == 1 else AllOf(tuple(nodes))


def _too_deep(spelling: str) -> InvalidFilterError:
    return InvalidFilterError(
        f"The {spelling} nests $and/$or/not more than {MAX_DEPTH} levels deep, the limit "
        "bspandas sets (deeper trees exhaust the stack). Flatten it: one $and/$or takes "
        "any number of conditions, and 'column in [...]' replaces a chain of == ... or."
    )


def _check_tree(node: Node, depth: int) -> None:
    """Refuse a hand-built tree that is too deep or holds something other than nodes
    (checked without recursion, so a cyclic or very deep input cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(node, depth)]
    while stack:
        current, level = stack.pop()
        if level > MAX_DEPTH:
            raise _too_deep("filter")
        if isinstance(current, Condition):
            if (
                not isinstance(current.column, Column)
                or not isinstance(current.part, Part)
                or not isinstance(current.ops, tuple)
                or not current.ops
                or not all(
                    isinstance(pair, tuple) and len(pair) == 2 and pair[0] in OPERATORS
                    for pair in current.ops
                )
            ):
                raise InvalidFilterError(
                    f"A hand-built Condition must hold a Column, a Part and (operator, value) "
                    f"pairs, got {_show(current)}. Build filters from dicts or where= strings."
                )
        elif isinstance(current, AllOf | AnyOf):
            children = current.children
            if not isinstance(children, tuple | list) or not children:
                raise InvalidFilterError(
                    f"{type(current).__name__} takes a non-empty tuple of filter nodes, "
                    f"got {_show(children)}."
                )
            stack.extend((child, level + 1) for child in children)
        else:
            raise InvalidFilterError(
                f"A filter node must be a Condition, AllOf or AnyOf, got {_show(current)}."
            )


def _from_any(spec: Any, obj: str, depth: int = 0) -> Node:
    if depth > MAX_DEPTH:
        raise _too_deep("filter dict")
    if isinstance(spec, Condition | AllOf | AnyOf):
        _check_tree(spec, depth)
        return spec
    if isinstance(spec, Mapping):
        return _from_mapping(spec, obj, depth)
    raise InvalidFilterError(f"A filter must be a dict, got {_show(spec)}.")


def parse_filter(spec: Any, obj: str, *, variables: Mapping[str, Any] | None = None) -> Node:
    """Read a filter given as an API dict, a simple dict or a ``where=`` string.

    ``$and``/``$or``/``not`` may nest at most :data:`MAX_DEPTH` levels deep.
    """
    if isinstance(spec, str):
        return parse_where(spec, obj, variables=variables)
    node = simplify(_from_any(spec, obj))
    for condition in node.attributes():
        _warn_typos(condition)
    return node


# -- the where= string ------------------------------------------------------------------------

_LOCAL = "__bs_local_"
_COMPARE = {
    ast.Eq: "$eq",
    ast.NotEq: "$ne",
    ast.Gt: "$gt",
    ast.GtE: "$gte",
    ast.Lt: "$lt",
    ast.LtE: "$lte",
    ast.In: "$in",
    ast.NotIn: "$nin",
}
_FLIP = {"$gt": "$lt", "$gte": "$lte", "$lt": "$gt", "$lte": "$gte", "$eq": "$eq", "$ne": "$ne"}
_REQUIRED = object()
#: pandas' parameters of the supported string methods, in order, with their defaults.
_STR_METHODS: dict[str, tuple[tuple[str, Any], ...]] = {
    "contains": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None), ("regex", True)),
    "match": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None)),
    "fullmatch": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None)),
    "startswith": (("pat", _REQUIRED), ("na", None)),
    "endswith": (("pat", _REQUIRED), ("na", None)),
}
#: ``Series.between(left, right, inclusive=...)`` as two operators.
_BETWEEN = {
    "both": ("$gte", "$lte"),
    "neither": ("$gt", "$lt"),
    "left": ("$gte", "$lt"),
    "right": ("$gt", "$lte"),
}


def _chain(expr: ast.BinOp, kind: type) -> list[ast.expr]:
    """The operands of ``a & b & c`` (one operator throughout), left to right, without
    recursion (the parser nests the chain one level per operator)."""
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [expr]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and type(current.op) is kind:
            stack.extend((current.right, current.left))
        else:
            operands.append(current)
    return operands


def _replace_locals(text: str) -> str:
    """Turn pandas' ``@name`` into a plain identifier (string literals untouched)."""
    out: list[tuple[int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    skip = False
    for index, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.type == tokenize.OP and token.string == "@" and nxt and nxt.type == tokenize.NAME:
            out.append((tokenize.NAME, _LOCAL + nxt.string))
            skip = True
        else:
            out.append((token.type, token.string))
    return tokenize.untokenize(out)


@dataclass
class _WhereParser:
    text: str
    obj: str
    variables: Mapping[str, Any]
    used: set[str] = field(default_factory=set)

    def fail(self, node: ast.AST, message: str) -> InvalidFilterError:
        segment = (ast.get_source_segment(self.source, node) or "").replace(_LOCAL, "@")
        where = f" (at {quote_input(segment)})" if segment and segment != self.text.strip() else ""
        return InvalidFilterError(f"{message} in where={quote_input(self.text)}{where}.")

    @property
    def source(self) -> str:
        return _replace_locals(self.text).strip() if "@" in self.text else self.text.strip()

    def parse(self) -> Node:
        try:
            with warnings.catch_warnings():  # '\.' in a pattern literal: kept, not a warning
                warnings.simplefilter("ignore", SyntaxWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                tree = ast.parse(self.source, mode="eval")
        except (SyntaxError, tokenize.TokenError, ValueError) as exc:
            reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            raise InvalidFilterError(
                f"where={quote_input(self.text)} is not a valid expression: {reason}."
            ) from None
        except (MemoryError, RecursionError):  # Python's parser gives up on deep nesting
            raise _too_deep("where= string") from None
        return simplify(self.node(tree.body, 0))

    def node(self, expr: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _too_deep("where= string")
        if isinstance(expr, ast.BoolOp):
            children = tuple(self.node(v, depth + 1) for v in expr.values)
            return AllOf(children) if isinstance(expr.op, ast.And) else AnyOf(children)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not | ast.Invert):
            return self.node(expr.operand, depth + 1).negate()
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitAnd | ast.BitOr):
            kind = type(expr.op)
            operands = _chain(expr, kind)  # a & b & c is one level, not len - 1
            children = tuple(self.node(operand, depth + 1) for operand in operands)
            return AllOf(children) if kind is ast.BitAnd else AnyOf(children)
        if isinstance(expr, ast.Compare):
            return self.compare(expr)
        if isinstance(expr, ast.Call):
            return self.call(expr)
        if isinstance(expr, ast.Name) and not expr.id.startswith(_LOCAL):
            return self.condition(expr, expr.id, {"$eq": True})
        raise self.fail(expr, "Unsupported expression")

    def condition(self, at: ast.AST, name: str, ops: dict[str, Any]) -> Condition:
        try:
            return _make_condition(name, ops, self.obj)
        except InvalidFilterError as exc:
            raise self.fail(at, str(exc).rstrip(".")) from None

    def column_name(self, expr: ast.expr) -> str | None:
        if (
            isinstance(expr, ast.Name)
            and not expr.id.startswith(_LOCAL)
            and expr.id not in ("True", "False", "None")
        ):
            return expr.id
        return None

    def compare(self, expr: ast.Compare) -> Node:
        operands = [expr.left, *expr.comparators]
        pieces: list[Node] = []
        for left, op, right in zip(operands, expr.ops, operands[1:], strict=False):
            api = _COMPARE.get(type(op))
            if api is None:
                raise self.fail(expr, f"Unsupported comparison {type(op).__name__}")
            name, other, flipped = self.column_name(left), right, False
            if name is None:
                name, other, flipped = self.column_name(right), left, True
            if name is None:
                raise self.fail(expr, "A comparison needs a column name on one side")
            value = self.value(other)
            if flipped:
                if api in ("$in", "$nin"):
                    raise self.fail(expr, "Write 'column in [values]', not 'value in column'")
                api = _FLIP[api]
            if api in ("$eq", "$ne") and isinstance(value, list):
                api = "$in" if api == "$eq" else "$nin"
            if value is None and api in ("$eq", "$ne"):
                pieces.append(self.condition(expr, name, {"$exists": api == "$ne"}))
                continue
            pieces.append(self.comparison(expr, name, api, value))
        return pieces[0] if len(pieces) == 1 else AllOf(tuple(pieces))

    def comparison(self, at: ast.AST, name: str, api: str, value: Any) -> Node:
        """One comparison as ``DataFrame.query`` reads it: ``!=`` on numbers, booleans and
        dates keeps no missing value; a missing value in an ``in`` list matches missing rows.
        """
        if api in ("$in", "$nin") and isinstance(value, list) and any(map(_is_missing, value)):
            present = [v for v in value if not _is_missing(v)]
            empty = self.condition(at, name, {"$exists": api == "$nin"})
            if not present:
                return empty
            rest = self.condition(at, name, {api: present})
            _warn_typos(rest, self.text)
            return AnyOf((rest, empty)) if api == "$in" else AllOf((rest, empty))
        condition = self.condition(at, name, {api: value})
        _warn_typos(condition, self.text)
        if api == "$ne" and _FAMILY.get(condition.part.type) in _KLEENE:
            (checked,) = (v for _, v in condition.ops)
            ops = _not_equal(condition.part.type, checked)
            return Condition(condition.column, condition.part, ops)
        return condition

    def call(self, expr: ast.Call) -> Node:
        func = expr.func
        if not isinstance(func, ast.Attribute):
            raise self.fail(expr, "Only column methods can be called")
        method = func.attr
        target = func.value
        if any(k.arg is None for k in expr.keywords):
            raise self.fail(expr, "**keywords cannot be read: pass each argument by name")
        args = [self.value(a) for a in expr.args]
        kwargs = {str(k.arg): self.value(k.value) for k in expr.keywords}
        if len(kwargs) < len(expr.keywords):
            raise self.fail(expr, "An argument is given twice by name")
        if isinstance(target, ast.Attribute) and target.attr == "str":
            name = self.column_name(target.value)
            if name is None or method not in _STR_METHODS:
                if name is not None:
                    raise self.fail(expr, f"Unsupported string method .str.{method}")
                raise self.fail(expr, f"Use column.str.{method}('text')")
            bound = self.bind(expr, f".str.{method}", _STR_METHODS[method], args, kwargs)
            return self.string_match(expr, name, method, bound)
        name = self.column_name(target)
        if name is None:
            raise self.fail(expr, "Only column methods can be called")
        if method in ("isna", "isnull", "notna", "notnull"):
            self.bind(expr, f".{method}", (), args, kwargs)
            return self.condition(expr, name, {"$exists": method.startswith("not")})
        if method == "isin":
            bound = self.bind(expr, ".isin", (("values", _REQUIRED),), args, kwargs)
            return self.comparison(expr, name, "$in", bound["values"])
        if method == "between":
            params = (("left", _REQUIRED), ("right", _REQUIRED), ("inclusive", "both"))
            bound = self.bind(expr, ".between", params, args, kwargs)
            ops = _BETWEEN.get(bound["inclusive"]) if isinstance(bound["inclusive"], str) else None
            if ops is None:
                raise self.fail(
                    expr,
                    f"inclusive={bound['inclusive']!r}: use 'both', 'neither', 'left' or 'right'",
                )
            return self.condition(expr, name, {ops[0]: bound["left"], ops[1]: bound["right"]})
        if method == "within":
            bound = self.bind(expr, ".within", (("period", _REQUIRED),), args, kwargs)
            return self.condition(expr, name, {"$within": bound["period"]})
        raise self.fail(expr, f"Unsupported method .{method}()")

    def bind(
        self,
        expr: ast.Call,
        method: str,
        params: tuple[tuple[str, Any], ...],
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """Arguments bound to pandas' parameters (positional or by name), as pandas binds
        them; an argument bspandas cannot honour is an error, never dropped."""
        names = [p for p, _ in params]
        signature = f"{method}({', '.join(names)})"
        if len(args) > len(params):
            raise self.fail(expr, f"{method}() takes at most {len(params)} arguments: {signature}")
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise self.fail(
                    expr, f"{method}() has no argument {key}= that bspandas can send: {signature}"
                )
            if key in bound:
                raise self.fail(expr, f"{method}() got {key} twice")
            bound[key] = value
        for key, default in params:
            if key not in bound:
                if default is _REQUIRED:
                    raise self.fail(expr, f"{method}() needs {key}: {signature}")
                bound[key] = default
        return bound

    def string_match(self, expr: ast.Call, name: str, method: str, bound: dict[str, Any]) -> Node:
        """``column.str.<method>(...)`` as one ``$regex`` (RE2 syntax, unanchored search),
        with every pandas argument honoured: ``case``/``flags`` (only ``re.IGNORECASE``),
        ``regex``, and ``na`` (``True``: missing values match too)."""
        pat = bound["pat"]
        if method in ("startswith", "endswith") and isinstance(pat, list):
            if not pat or not all(isinstance(p, str) for p in pat):
                raise self.fail(expr, f"Use column.str.{method}('text') or a tuple of texts")
            text = "|".join(re.escape(p) for p in pat)
            pattern = f"^(?:{text})" if method == "startswith" else f"(?:{text})$"
        elif not isinstance(pat, str):
            raise self.fail(expr, f"Use column.str.{method}('text')")
        elif method == "startswith":
            pattern = f"^{re.escape(pat)}"
        elif method == "endswith":
            pattern = f"{re.escape(pat)}$"
        else:
            regex = bound.get("regex", True)
            if not isinstance(regex, bool):
                raise self.fail(expr, f"regex= takes True or False, got {regex!r}")
            text = pat if regex else re.escape(pat)
            pattern = {
                "contains": text,
                "match": f"^(?:{text})",
                "fullmatch": f"^(?:{text})$",
            }[method]
        case, flags = bound.get("case", True), bound.get("flags", 0)
        if not isinstance(case, bool):
            raise self.fail(expr, f"case= takes True or False, got {case!r}")
        if isinstance(flags, bool) or not isinstance(flags, int) or flags not in (0, re.I):
            raise self.fail(
                expr,
                f"flags={flags!r} cannot be sent to the Query API: only 0 and re.IGNORECASE "
                f"({int(re.I)}) can; or write the flag into the pattern",
            )
        if case is False or flags == re.I:
            pattern = f"(?i){pattern}"
        na = bound.get("na")
        if na is not None and not isinstance(na, bool):
            raise self.fail(expr, f"na= takes True, False or None, got {na!r}")
        matched = self.condition(expr, name, {"$regex": pattern})
        if na is True:  # pandas fills missing values with na: here they match
            return AnyOf((matched, self.condition(expr, name, {"$exists": False})))
        return matched

    def value(self, expr: ast.expr, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _too_deep("where= string")
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.List | ast.Tuple | ast.Set):
            return [self.value(e, depth + 1) for e in expr.elts]
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
            inner = self.value(expr.operand, depth + 1)
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                return -inner if isinstance(expr.op, ast.USub) else inner
        if isinstance(expr, ast.Name):
            if expr.id.startswith(_LOCAL):
                key = expr.id[len(_LOCAL) :]
                if key not in self.variables:
                    raise self.fail(expr, f"The variable @{key} is not defined")
                self.used.add(key)
                try:
                    return _as_values(self.variables[key])
                except InvalidFilterError as exc:
                    raise self.fail(expr, f"@{key}: {exc}".rstrip(".")) from None
            if expr.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[expr.id]
        raise self.fail(expr, "Expected a literal (number, string, list) or an @variable")


def parse_where(text: str, obj: str, *, variables: Mapping[str, Any] | None = None) -> Node:
    """Parse a pandas-query style expression into a filter tree (nothing is evaluated).

    >>> str(parse_where("industry == 'Retail' and ootb_churn_risk_score != 5", "account"))
    "industry == 'Retail' and ootb_churn_risk_score != 5 and ootb_churn_risk_score.notna()"
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidFilterError("where= must be a non-empty string.")
    return _WhereParser(text, obj, variables or {}).parse()
