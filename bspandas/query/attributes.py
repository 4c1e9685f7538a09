"""One checked leaf: the attribute a filter names (a frame name, a slug, a variation id,
``(slug, period)`` or the API's ``{"slug", "variation_id"}``) and its operators checked
into a :class:`~bspandas.query.Condition`.

>>> str(_make_condition("ootb_churn_risk_score", {"$gte": 70}, "account"))
'ootb_churn_risk_score >= 70'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from bspandas._exceptions import InvalidFilterError, QueryError, VariationAdjustedWarning
from bspandas._utils import find_stacklevel
from bspandas.catalog import store
from bspandas.catalog.model import Metric, Part
from bspandas.catalog.resolve import Column, parse_name, resolve_one
from bspandas.query.grammar import _BY_TYPE, _FAMILY, FIELD_ATTRIBUTE_VARIATION, OPERATORS
from bspandas.query.tree import Condition
from bspandas.query.values import _check_operand, _check_shape, _show

__all__ = ["bare_column"]


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
