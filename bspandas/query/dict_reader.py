"""Reading a filter given as a dict: the API's own ``{"$and": [{"attribute": ...,
"clause": ...}]}``, the simple ``{"column": {"$gte": 70}, "other": ["A", "B"]}``, or a
tree built by hand (checked); :func:`parse_filter` also takes a ``where=`` string.

>>> parse_filter({"industry": ["Retail", "Media"]}, "account").to_api()["clause"]
{'$in': ['Retail', 'Media']}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bspandas._exceptions import InvalidFilterError
from bspandas.catalog.model import Part
from bspandas.catalog.resolve import Column
from bspandas.query.attributes import _make_condition
from bspandas.query.grammar import MAX_DEPTH, OPERATORS, _too_deep
from bspandas.query.simplification import simplify
from bspandas.query.tree import AllOf, AnyOf, Condition, Node
from bspandas.query.typos import _warn_typos
from bspandas.query.values import _show
from bspandas.query.where import parse_where

__all__ = ["parse_filter"]


def _from_mapping(spec: Mapping[str, Any], obj: str, depth: int = 0) -> Node:
    if not spec:
        raise InvalidFilterError("An empty filter dict: pass None for no filter.")
    if "attribute" in spec or "clause" in spec:
        return _from_leaf(spec, obj)
    nodes = [_from_entry(key, value, obj, depth) for key, value in spec.items()]
    return nodes[0] if len(nodes) == 1 else AllOf(tuple(nodes))


def _from_leaf(spec: Mapping[str, Any], obj: str) -> Condition:
    """The API's leaf, ``{"attribute": {"slug": ...}, "clause": {operator: value}}``."""
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


def _from_entry(key: Any, value: Any, obj: str, depth: int) -> Node:
    """One key of a dict: ``$and``/``$or`` and their list, or a column and its value."""
    if key in ("$and", "$or"):
        if isinstance(value, Mapping) or not isinstance(value, Sequence) or not value:
            raise InvalidFilterError(
                f"{key} takes a non-empty list of filters, got {_show(value)}."
            )
        items = [_from_any(v, obj, depth + 1) for v in value]
        return AllOf(tuple(items)) if key == "$and" else AnyOf(tuple(items))
    if not isinstance(key, str):
        raise InvalidFilterError(f"Filter keys are column names or $and/$or, got {_show(key)}.")
    if key.startswith("$"):
        raise InvalidFilterError(f"Unknown logical operator {_show(key)}; use $and or $or.")
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and k.startswith("$") for k in value)
    ):
        return _make_condition(key, value, obj)
    if isinstance(value, list | tuple | set | frozenset):
        return _make_condition(key, {"$in": list(value)}, obj)
    if value is None:
        return _make_condition(key, {"$exists": False}, obj)
    return _make_condition(key, {"$eq": value}, obj)


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

    Parameters
    ----------
    spec : dict, str, Condition, AllOf or AnyOf
        The API's dict (``{"$and": [{"attribute": {"slug": ...}, "clause": {...}}]}``), a
        simple dict (``{column: value}``, ``{column: [values]}`` for ``$in``,
        ``{column: None}`` for missing, ``{column: {operator: value}}``), a ``where=``
        string (see :func:`parse_where`) or a tree (checked).
    obj : str
        The object whose columns the filter names (``"account"``...).
    variables : mapping, optional
        The values ``@name`` reads in a ``where=`` string.

    Returns
    -------
    Condition, AllOf or AnyOf
        The checked, simplified filter tree.

    Raises
    ------
    bspandas.InvalidFilterError
        A dict of the wrong shape, an unknown operator, an operator that does not apply to
        the column's type, a value of the wrong type, or nesting deeper than the limit.
    bspandas.UnknownMetricError
        A column the catalog does not know.

    Warns
    -----
    bspandas.PossibleTypoWarning
        An enumeration compared with a likely typo of one of its values.

    Examples
    --------
    >>> str(parse_filter({"ootb_churn_risk_score": {"$gte": 70}, "industry": None}, "account"))
    'ootb_churn_risk_score >= 70 and industry.isna()'
    >>> parse_filter({"industry": ["A", "B"]}, "account").to_api()["clause"]
    {'$in': ['A', 'B']}
    >>> str(parse_filter("industry == 'Retail'", "account"))
    "industry == 'Retail'"
    """
    if isinstance(spec, str):
        return parse_where(spec, obj, variables=variables)
    node = simplify(_from_any(spec, obj))
    for condition in node.attributes():
        _warn_typos(condition)
    return node
