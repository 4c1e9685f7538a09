"""The sandbox's own evaluator of the export filter grammar (spec section 2).

Independent of ``bspandas.query`` (the client's side) on purpose: the two are checked
against each other through the wire.

Grammar: a node is a leaf ``{"attribute": {"slug", "variation_id"?}, "clause": {OP: V, ...}}``
or a logical node ``{"$and": [node, ...]}`` / ``{"$or": [node, ...]}``. Several operators in
one clause must all hold.

Semantics (MongoDB-like where the spec is silent):

* a missing value never satisfies ``$eq $gt $gte $lt $lte $in $regex $within``;
  ``$ne`` and ``$nin`` DO match missing values; ``$exists: false`` matches exactly the
  missing values; ``$eq: null`` is ``$exists: false`` and ``$ne: null`` is ``$exists: true``;
  the empty string is a value, not a missing one (``$eq: ""`` finds it).
* dates and timestamps compare as integer epoch milliseconds (dates at midnight UTC);
  ``$within: {"$ref": "time_ranges.<period>"}`` uses whole calendar units for calendar
  periods and the natural window for rolling and future ones; durations compare in seconds.
* people references (owner, user, team, account/opportunity of an activity) compare their
  ``(id)`` part with integers; ``$regex`` on them matches the ``(name)`` part. The amount
  compares its ``(amount)`` part.
* lists (``[a;b]``) match when any element matches (``$ne``/``$nin``: when none does).
* ``$regex`` is an unanchored RE2 search, case-sensitive.
* a leaf on an attribute the server does not know, or cannot filter on, is removed from
  the tree: alone it leaves the unfiltered set; in ``$or`` the other branches still count.
* shape errors answer 400 ``report.filter.invalid``; wrong value types answer 400 "use
  compatible datatypes such as: ..."; an attribute given as a bare string answers 500.

>>> import pyarrow as pa
>>> from bspandas.catalog import store
>>> name = store.find("ootb_account_name", "account")
>>> values = {"ootb_account_name": (pa.array(["Acme", "Globex", None]),)}
>>> def resolve(attribute):
...     slug = attribute["slug"]
...     return Target(name, None, values[slug]) if slug in values else None
>>> tree = compile_filter({"attribute": {"slug": "ootb_account_name"},
...                        "clause": {"$in": ["Acme", "Initech"]}}, resolve)
>>> evaluate(tree, 3).tolist()
[True, False, False]
>>> evaluate(compile_filter({"attribute": {"slug": "nope"}, "clause": {"$eq": 1}}, resolve), 3)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.catalog import vocabulary as vocab
from bspandas.catalog.model import Metric
from bspandas.sandbox.problems import ApiError, filter_invalid, filter_value, server_error

__all__ = ["OPERATORS", "Leaf", "Logical", "Target", "compile_filter", "evaluate"]

Mask = npt.NDArray[np.bool_]

OPERATORS: frozenset[str] = frozenset(
    {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$exists", "$within"}
)
_BY_KIND: dict[str, frozenset[str]] = {
    "string": frozenset({"$eq", "$ne", "$in", "$nin", "$regex", "$exists"}),
    "list": frozenset({"$eq", "$ne", "$in", "$nin", "$regex", "$exists"}),
    "number": frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}),
    "boolean": frozenset({"$eq", "$ne", "$exists"}),
    "time": frozenset(
        {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$within", "$exists"}
    ),
}
_BY_KIND["reference"] = _BY_KIND["number"] | {"$regex"}
_EXPECTED = {
    "string": "str",
    "list": "str",
    "number": "int, float",
    "reference": "int",
    "boolean": "bool",
    "time": "int",
}
_PART_KIND = {
    "text": "string",
    "id": "string",
    "enumeration": "string",
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
    "list": "list",
}


@dataclass(frozen=True, slots=True)
class Target:
    """A filterable attribute: its catalog entry, period and value arrays (one per part)."""

    metric: Metric
    period: str | None
    values: tuple[Any, ...]

    @property
    def kind(self) -> str:
        first = self.metric.parts[0]
        if self.metric.expanded and first.tag == "id":
            return "reference"
        return _PART_KIND[first.type]


@dataclass(frozen=True, slots=True)
class Leaf:
    slug: str
    variation_id: str | None
    target: Target | None  # None: the server ignores this leaf
    clause: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "$and" or "$or"
    children: tuple[Leaf | Logical, ...] = field(default_factory=tuple)


Node = Leaf | Logical
Resolver = Callable[[Mapping[str, Any]], Target | None]


# -- compiling (shape and type checks) ------------------------------------------------------


def compile_filter(
    node: Any,
    resolve: Resolver,
    *,
    as_of: datetime | None = None,
    two_leaves_500: bool = False,
) -> Node:
    """Check a filter's shape and value types, resolving each attribute with ``resolve``."""
    return _compile(node, resolve, as_of, two_leaves_500)


def _compile(node: Any, resolve: Resolver, as_of: datetime | None, quirk: bool) -> Node:
    if not isinstance(node, Mapping):
        raise filter_invalid(f"a filter node must be an object, got {type(node).__name__}")
    logical = [k for k in ("$and", "$or") if k in node]
    if logical:
        return _compile_logical(node, logical[0], resolve, as_of, quirk)
    return _compile_leaf(node, resolve, as_of)


def _compile_logical(
    node: Mapping[str, Any], operator: str, resolve: Resolver, as_of: datetime | None, quirk: bool
) -> Logical:
    if len(node) != 1:
        raise filter_invalid(f"{operator} must be the only key of its node")
    children = node[operator]
    if not isinstance(children, list) or not children:
        raise filter_invalid(f"{operator} needs a non-empty list of nodes")
    compiled = tuple(_compile(child, resolve, as_of, quirk) for child in children)
    if quirk and operator == "$and":
        seen = [(c.slug, c.variation_id) for c in compiled if isinstance(c, Leaf)]
        if len(seen) != len(set(seen)):
            raise server_error()
    return Logical(operator, compiled)


def _compile_leaf(node: Mapping[str, Any], resolve: Resolver, as_of: datetime | None) -> Leaf:
    unknown_keys = set(node) - {"attribute", "clause"}
    if unknown_keys:
        raise filter_invalid(f"unknown key(s) in a filter node: {', '.join(sorted(unknown_keys))}")
    if "attribute" not in node or "clause" not in node:
        raise filter_invalid("a leaf needs both 'attribute' and 'clause'")
    attribute = node["attribute"]
    slug, variation = _attribute(attribute)
    clause = node["clause"]
    if not isinstance(clause, Mapping) or not clause:
        raise filter_invalid("'clause' must be a non-empty object of operators")
    for op, value in clause.items():
        _check_shape(op, value, as_of)
    target = resolve(attribute)
    if target is not None:
        for op, value in clause.items():
            _check_type(target, slug, op, value)
    return Leaf(slug, variation, target, tuple(clause.items()))


def _attribute(attribute: Any) -> tuple[str, str | None]:
    """The slug and variation of a leaf's attribute (a bare string is the field's 500)."""
    if isinstance(attribute, str):
        raise server_error()
    if not isinstance(attribute, Mapping):
        raise filter_invalid("'attribute' must be an object with a 'slug'")
    slug = attribute.get("slug")
    variation = attribute.get("variation_id")
    if not isinstance(slug, str) or not slug:
        raise filter_invalid("'attribute.slug' must be a non-empty string")
    if variation is not None and not isinstance(variation, str):
        raise filter_invalid("'attribute.variation_id' must be a string")
    return slug, variation


def _check_shape(op: Any, value: Any, as_of: datetime | None) -> None:
    if op not in OPERATORS:
        raise filter_invalid(f"unknown operator {op!r}")
    if op in ("$in", "$nin") and not isinstance(value, list):
        raise filter_invalid(f"{op} needs a list")
    if op == "$exists" and not isinstance(value, bool):
        raise filter_invalid("$exists needs true or false")
    if op == "$regex":
        if not isinstance(value, str):
            raise filter_invalid("$regex needs a string")
        try:
            pc.match_substring_regex(pa.array([""]), value)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise filter_invalid(f"invalid regular expression {value!r}") from exc
    if op == "$within":
        _within_period(value)
    if op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte") and isinstance(value, dict | list):
        raise filter_invalid(f"{op} needs a single value")


def _within_period(value: Any) -> str:
    ref = value.get("$ref") if isinstance(value, Mapping) and len(value) == 1 else None
    if not isinstance(ref, str) or not ref.startswith("time_ranges."):
        raise filter_invalid('$within needs {"$ref": "time_ranges.<period>"}')
    period = ref.removeprefix("time_ranges.")
    try:
        vocab.get(period)
        vocab.window(period, datetime(2000, 1, 1))
    except (KeyError, ValueError) as exc:
        raise filter_invalid(f"unknown time range {ref!r}") from exc
    return period


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_type(target: Target, slug: str, op: str, value: Any) -> None:
    kind = target.kind
    if op not in _BY_KIND[kind]:
        raise filter_invalid(f"operator {op} is not supported for {slug}")
    if op in ("$exists", "$within"):
        return
    if op == "$regex":
        return
    items = value if op in ("$in", "$nin") else [value]
    for item in items:
        if item is None and op in ("$eq", "$ne"):
            continue
        if kind in ("string", "list"):
            ok = isinstance(item, str)
        elif kind == "boolean":
            ok = isinstance(item, bool)
        elif kind in ("time", "reference"):
            ok = isinstance(item, int) and not isinstance(item, bool)
        else:
            ok = _is_number(item)
        if not ok:
            raise filter_value(slug, op, _EXPECTED[kind])


# -- evaluating -----------------------------------------------------------------------------


def evaluate(
    node: Node, n_rows: int, *, as_of: datetime | None = None, fiscal_year_start: int = 1
) -> Mask | None:
    """The rows a compiled filter keeps (``None``: every row, the filter was ignored)."""
    if isinstance(node, Leaf):
        if node.target is None:
            return None
        mask = np.ones(n_rows, dtype=bool)
        for op, value in node.clause:
            mask &= _apply(node.target, op, value, as_of, fiscal_year_start)
        return mask
    masks = [
        m
        for m in (
            evaluate(c, n_rows, as_of=as_of, fiscal_year_start=fiscal_year_start)
            for c in node.children
        )
        if m is not None
    ]
    if not masks:
        return None
    combine = np.logical_and if node.op == "$and" else np.logical_or
    return np.asarray(combine.reduce(masks), dtype=bool)


def _numbers(values: Any) -> tuple[npt.NDArray[Any], Mask]:
    """Numeric view of an array (time as epoch ms) and its validity mask."""
    typ = values.type
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_timestamp(typ):
        data = values.cast(pa.timestamp("s")).cast(pa.int64()).fill_null(0).to_numpy() * 1000
    elif pa.types.is_date32(typ):
        data = values.cast(pa.int32()).cast(pa.int64()).fill_null(0).to_numpy() * 86_400_000
    elif pa.types.is_floating(typ):
        data = values.fill_null(0.0).to_numpy()
    else:
        data = values.fill_null(0).to_numpy(zero_copy_only=False)
    return np.asarray(data), valid


def _compare(op: str, data: npt.NDArray[Any], value: Any) -> Mask:
    ops = {
        "$eq": np.equal,
        "$ne": np.equal,
        "$gt": np.greater,
        "$gte": np.greater_equal,
        "$lt": np.less,
        "$lte": np.less_equal,
    }
    return np.asarray(ops[op](data, value), dtype=bool)


def _bool(values: Any) -> Mask:
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _apply(
    target: Target, op: str, value: Any, as_of: datetime | None, fiscal_year_start: int = 1
) -> Mask:
    kind = target.kind
    values = target.values[0]
    if kind == "reference" and op == "$regex":
        values = target.values[1]
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if op == "$exists":
        return valid if value else ~valid
    if op in ("$eq", "$ne") and value is None:
        return ~valid if op == "$eq" else valid
    negate = op in ("$ne", "$nin")
    if kind == "list":
        hit = _list_match(values, op, value)
    elif kind == "string" or op == "$regex":
        hit = _string_match(values, op, value)
    elif kind == "boolean":
        data = _bool(values)
        hit = valid & (data == bool(value))
    else:
        data, valid = _numbers(values)
        if op == "$within":
            hit = valid & _within(data, _within_period(value), as_of, fiscal_year_start)
        elif op in ("$in", "$nin"):
            hit = valid & np.isin(data, np.asarray(value))
        else:
            hit = valid & _compare(op, data, value)
    return ~hit if negate else hit


def _string_match(values: Any, op: str, value: Any) -> Mask:
    if op in ("$eq", "$ne"):
        result = pc.equal(values, pa.scalar(value, pa.string()))
    elif op in ("$in", "$nin"):
        result = pc.is_in(values, value_set=pa.array(value, pa.string()))
    else:
        result = pc.match_substring_regex(values, value)
    return _bool(result)


def _list_match(values: Any, op: str, value: Any) -> Mask:
    flat = pc.list_flatten(values)
    parents = np.asarray(pc.list_parent_indices(values).to_numpy(), dtype=np.int64)
    hits = _string_match(flat, op, value)
    return np.bincount(parents[hits], minlength=len(values)) > 0


def _within(
    data_ms: npt.NDArray[Any], period: str, as_of: datetime | None, fiscal_year_start: int = 1
) -> Mask:
    if as_of is None:
        raise ApiError(500, {"message": "sorry something went wrong"})
    start, end = vocab.window(period, as_of, mode="full", fiscal_year_start=fiscal_year_start)
    inside = np.ones(len(data_ms), dtype=bool)
    if start is not None:
        inside &= data_ms >= int(start.timestamp() * 1000)
    if end is not None:
        inside &= data_ms < int(end.timestamp() * 1000)
    return inside
