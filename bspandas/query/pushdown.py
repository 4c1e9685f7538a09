"""The split of a filter between the server and the client: the part the server applies
(:func:`_prune`), what is left to apply locally after the download, the columns fetched
only for it, and the fiscal periods only the server can judge.

>>> from bspandas.query import parse_where
>>> where = "ootb_opportunity_amount > 1000 and ootb_opportunity_owner_id == 7"
>>> str(_prune(parse_where(where, "opportunity")))
'ootb_opportunity_amount > 1000'
"""

from __future__ import annotations

from collections.abc import Sequence

from bspandas._exceptions import InvalidFilterError
from bspandas.catalog import vocabulary
from bspandas.catalog.resolve import Column
from bspandas.query.tree import AllOf, AnyOf, Condition, Node, conjuncts


def _attribute_key(condition: Condition) -> tuple[str, str | None]:
    """What the server calls one attribute: its slug and variation."""
    return condition.column.slug, condition.column.variation_id


def _prune(node: Node) -> Node | None:
    """The part of a filter the server applies: conditions on attributes it ignores
    (``Metric.filterable`` false, such as owner filters on opportunities) are taken out.
    ``None`` means "no constraint". An ``$or`` that contains such a condition cannot be
    narrowed on the server at all, so it is taken out whole (and applied locally).

    Inside one ``$and`` only the first leaf on an attribute is sent: two leaves on one
    attribute have crashed the live service (500, spec section 2), so the others (two
    ``.str.contains``, two ``$eq``, two ``$within`` that cannot merge into one clause) are
    applied locally on the downloaded column.
    """
    if isinstance(node, Condition):
        return node if node.column.metric.filterable else None
    kept = [_prune(child) for child in node.children]
    if isinstance(node, AnyOf):
        return None if any(k is None for k in kept) else AnyOf(tuple(k for k in kept if k))
    remaining: list[Node] = []
    seen: set[tuple[str, str | None]] = set()
    for k in kept:
        if isinstance(k, Condition):
            if _attribute_key(k) in seen:
                continue
            seen.add(_attribute_key(k))
        if k is not None:
            remaining.append(k)
    if not remaining:
        return None
    return remaining[0] if len(remaining) == 1 else AllOf(tuple(remaining))


def _refuse_fiscal_locally(local: Node, server: Node | None) -> None:
    """A fiscal period (``this_fyear``, ``this_quarter``...) can only be judged by the
    server, which knows the tenant's fiscal calendar: when such a condition would be applied
    on the client (it shares an ``or`` with a filter the server ignores, or is a second
    leaf on one attribute), refuse the query instead of returning calendar-year rows."""
    applied = {id(c) for c in conjuncts(server)}
    for condition in local.attributes():
        if id(condition) in applied:
            continue
        for op, value in condition.ops:
            if op == "$within" and value in vocabulary.FISCAL:
                ignored = sorted(
                    {c.column.slug for c in local.attributes() if not c.column.metric.filterable}
                )
                why = (
                    f"the server ignores filters on {', '.join(ignored)}, so this part of the "
                    "filter is applied after the download"
                    if ignored
                    else "only one condition per attribute can be sent, so it is applied "
                    "after the download"
                )
                raise InvalidFilterError(
                    f"{condition.column.name}.within({value!r}) cannot be applied by "
                    f"bspandas: {why}, and the tenant's fiscal calendar is known only to the "
                    "server. Split the read (one read per part of the 'or', combined with "
                    "pd.concat(...).drop_duplicates()), or write the period as a date range "
                    "(column >= '2026-02-01')."
                )


def _hidden_columns(
    filter: Node | None, columns: list[Column], sorted_on: Sequence[Column] = ()
) -> list[Column]:
    """Every filtered attribute comes back: the local part is applied on it, and the
    server's part is verified on it (the live service silently ignores a filter on a slug
    it does not know, and drops that slug's column: that is how it is caught). Every sort
    column comes back too, for the same reason: the sort on a dropped slug is ignored."""
    wanted = {c.name for c in columns}
    hidden: dict[str, Column] = {}
    if filter is not None:
        for condition in filter.attributes():
            if condition.column.name not in wanted:
                hidden.setdefault(condition.column.name, condition.column)
    for column in sorted_on:
        if column.name not in wanted:
            hidden.setdefault(column.name, column)
    return list(hidden.values())
