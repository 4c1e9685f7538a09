"""The filter tree: :class:`Condition` (one attribute, its operators), :class:`AllOf`
(``$and``) and :class:`AnyOf` (``$or``); each prints as a ``where=`` string, negates as
``DataFrame.query`` reads ``not``, and becomes the API's dict with dates as epoch
milliseconds.

>>> from bspandas.query import parse_where
>>> tree = parse_where("ootb_churn_risk_score >= 70 and ootb_churn_risk_score < 90", "account")
>>> tree.to_api()
{'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gte': 70, '$lt': 90}}
>>> str(tree)
'ootb_churn_risk_score >= 70 and ootb_churn_risk_score < 90'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bspandas._exceptions import InvalidFilterError
from bspandas.catalog.model import Part
from bspandas.catalog.resolve import Column
from bspandas.query.grammar import (
    _FAMILY,
    _KLEENE,
    _NEGATE,
    _SYMBOL,
    _WITHIN_REFS,
    FIELD_ATTRIBUTE_VARIATION,
)

__all__ = ["AllOf", "AnyOf", "Condition", "Node", "conjuncts"]

_EPOCH = pd.Timestamp(0, tz="UTC")


def _not_equal(type: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """``!=`` where a missing value is unknown (``DataFrame.query`` on nullable columns):
    the other boolean, or ``$ne`` on present values only."""
    if _FAMILY.get(type) == "boolean" and isinstance(value, bool):
        return (("$eq", not value),)
    return (("$ne", value), ("$exists", True))


@dataclass(frozen=True)
class Condition:
    """One attribute with one or more operators (``{"$gte": 1, "$lt": 5}``).

    Build conditions with :func:`parse_where` or :func:`parse_filter`, which check the
    values against the catalog; a hand-built one is checked when it is read.

    Parameters
    ----------
    column : bspandas.catalog.Column
        The attribute (slug, and variation for a windowed metric).
    part : bspandas.catalog.model.Part
        The part of the column the condition reads (an expanded column filters on its first).
    ops : tuple of (str, object) pairs
        Operators and checked Python values: ``pd.Timestamp`` (UTC) for dates,
        ``int``/``float`` for numbers, ``str`` for text, ``bool``, lists for
        ``$in``/``$nin``, a period id for ``$within``, a ``bool`` for ``$exists``.

    Examples
    --------
    >>> from bspandas.query import parse_where
    >>> condition = parse_where("ootb_churn_risk_score.between(70, 90)", "account")
    >>> condition.ops
    (('$gte', 70), ('$lte', 90))
    >>> str(condition)
    'ootb_churn_risk_score >= 70 and ootb_churn_risk_score <= 90'
    """

    column: Column
    part: Part
    ops: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        """The frame column the condition reads.

        Returns
        -------
        str
            The column's name and the part's suffix.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> parse_where("ootb_emails_sent_last_30_days > 3", "account").name
        'ootb_emails_sent_last_30_days'
        """
        return self.column.name + self.part.suffix

    def attributes(self) -> list[Condition]:
        """The conditions of the tree, left to right: here the condition itself.

        Returns
        -------
        list of Condition
            ``[self]``.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> [str(c) for c in parse_where("industry == 'A'", "account").attributes()]
        ["industry == 'A'"]
        """
        return [self]

    def to_api(self) -> dict[str, Any]:
        """The API's filter leaf, dates as epoch milliseconds, periods as ``$ref``.

        Returns
        -------
        dict
            ``{"attribute": {"slug": ..., "variation_id": ...}, "clause": {...}}``.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> parse_where("ootb_last_activity_date >= '2026-01-01'", "account").to_api()
        {'attribute': {'slug': 'ootb_last_activity_date'}, 'clause': {'$gte': 1767225600000}}
        """
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
        missing value), while ``$in``/``$nin`` and text treat it as one more value.

        Returns
        -------
        Condition or AnyOf
            The negated condition (an ``$or`` when it had several operators).

        Raises
        ------
        bspandas.InvalidFilterError
            An operator the Query API cannot negate (``$regex``, ``$within``).

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> str(parse_where("industry == 'A'", "account").negate())
        "industry != 'A'"
        >>> str(parse_where("ootb_churn_risk_score == 1", "account").negate())
        'ootb_churn_risk_score != 1 and ootb_churn_risk_score.notna()'
        """
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


@dataclass(frozen=True)
class AllOf:
    """``$and`` of several nodes.

    Parameters
    ----------
    children : tuple of Condition, AllOf or AnyOf
        The nodes; a row is selected when each of them holds.

    Examples
    --------
    >>> from bspandas.query import parse_where
    >>> tree = parse_where("industry == 'A' and ootb_churn_risk_score > 3", "account")
    >>> type(tree).__name__, len(tree.children)
    ('AllOf', 2)
    """

    children: tuple[Node, ...]

    def attributes(self) -> list[Condition]:
        """The conditions of the tree, left to right (inside nested nodes too).

        Returns
        -------
        list of Condition
            Every leaf.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> tree = parse_where("industry == 'A' and ootb_churn_risk_score > 3", "account")
        >>> [c.name for c in tree.attributes()]
        ['industry', 'ootb_churn_risk_score']
        """
        return [c for child in self.children for c in child.attributes()]

    def to_api(self) -> dict[str, Any]:
        """The API's ``{"$and": [...]}`` of the children's filters.

        Returns
        -------
        dict
            ``{"$and": [child.to_api(), ...]}``.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> list(parse_where("industry == 'A' and ootb_churn_risk_score > 3", "account").to_api())
        ['$and']
        """
        return {"$and": [child.to_api() for child in self.children]}

    def __str__(self) -> str:
        return " and ".join(_wrap(child, AllOf) for child in self.children)

    def negate(self) -> Node:
        """The negation (De Morgan): AnyOf of the negated children.

        Returns
        -------
        AnyOf
            ``not`` of this node.

        Raises
        ------
        bspandas.InvalidFilterError
            A child the Query API cannot negate (``$regex``, ``$within``).

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> str(parse_where("industry == 'A' and industry == 'B'", "account").negate())
        "industry != 'A' or industry != 'B'"
        """
        return AnyOf(tuple(child.negate() for child in self.children))


@dataclass(frozen=True)
class AnyOf:
    """``$or`` of several nodes.

    Parameters
    ----------
    children : tuple of Condition, AllOf or AnyOf
        The nodes; a row is selected when one of them holds.

    Examples
    --------
    >>> from bspandas.query import parse_where
    >>> tree = parse_where("industry == 'A' or ootb_churn_risk_score > 3", "account")
    >>> type(tree).__name__, len(tree.children)
    ('AnyOf', 2)
    """

    children: tuple[Node, ...]

    def attributes(self) -> list[Condition]:
        """The conditions of the tree, left to right (inside nested nodes too).

        Returns
        -------
        list of Condition
            Every leaf.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> tree = parse_where("industry == 'A' or ootb_churn_risk_score > 3", "account")
        >>> [c.name for c in tree.attributes()]
        ['industry', 'ootb_churn_risk_score']
        """
        return [c for child in self.children for c in child.attributes()]

    def to_api(self) -> dict[str, Any]:
        """The API's ``{"$or": [...]}`` of the children's filters.

        Returns
        -------
        dict
            ``{"$or": [child.to_api(), ...]}``.

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> list(parse_where("industry == 'A' or industry == 'B'", "account").to_api())
        ['$or']
        """
        return {"$or": [child.to_api() for child in self.children]}

    def __str__(self) -> str:
        return " or ".join(_wrap(child, AnyOf) for child in self.children)

    def negate(self) -> Node:
        """The negation (De Morgan): AllOf of the negated children.

        Returns
        -------
        AllOf
            ``not`` of this node.

        Raises
        ------
        bspandas.InvalidFilterError
            A child the Query API cannot negate (``$regex``, ``$within``).

        Examples
        --------
        >>> from bspandas.query import parse_where
        >>> str(parse_where("industry == 'A' or industry == 'B'", "account").negate())
        "industry != 'A' and industry != 'B'"
        """
        return AllOf(tuple(child.negate() for child in self.children))


Node = Condition | AllOf | AnyOf


def conjuncts(node: Node | None) -> list[Condition]:
    """The conditions every row satisfying ``node`` satisfies: ``node`` itself, or the
    conditions of its top-level ``$and`` chain (never those inside an ``$or``).

    >>> from bspandas.query import parse_where
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
