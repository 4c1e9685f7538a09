"""Simplification: nested ``$and``/``$or`` flattened, and the conditions on one attribute
inside an ``$and`` merged into one clause (two leaves on one attribute have crashed the
real server).

>>> from bspandas.query import parse_where
>>> simplify(parse_where("industry != 'A' and industry != 'B'", "account")).to_api()["clause"]
{'$nin': ['A', 'B']}
"""

from __future__ import annotations

from typing import Any

from bspandas.query.grammar import _BY_TYPE, _FAMILY
from bspandas.query.tree import AllOf, Condition, Node

__all__ = ["simplify"]


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
