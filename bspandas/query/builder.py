"""A prepared export request: resolved columns, checked filter, sort, and its exact payload.

>>> import bspandas as bs
>>> q = bs.Query("account", ["ootb_account_name", ("ootb_emails_sent", "last_30_days")],
...              where="ootb_churn_risk_score >= 70", sort=("ootb_churn_risk_score", "desc"))
>>> q.payload()["columns"][1]
{'slug': 'ootb_emails_sent', 'variation_id': 'ootb_emails_sent_last_30_days'}
>>> q.payload()["sort"]
[{'attribute': {'slug': 'ootb_churn_risk_score'}, 'direction': 'desc'}]
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from bspandas._exceptions import InvalidColumnsError, InvalidFilterError, QueryError
from bspandas._messages import robust_repr
from bspandas.catalog import store, vocabulary
from bspandas.catalog.resolve import Column, Output, parse_name, resolve, resolve_one
from bspandas.query.filters import (
    AllOf,
    AnyOf,
    Condition,
    Node,
    bare_column,
    conjuncts,
    parse_filter,
    simplify,
)

__all__ = ["Query", "caller_variables"]

Direction = Literal["asc", "desc"]


def caller_variables(depth: int = 2) -> dict[str, Any]:
    """Globals and locals of the caller's caller, for ``@name`` in ``where=`` strings."""
    frame = sys._getframe(depth)
    try:
        return {**frame.f_globals, **frame.f_locals}
    finally:
        del frame


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


#: Deeper than any valid column, sort or variations spec (``[(slug, [periods])]`` is 3).
_MAX_SPEC_DEPTH = 4


def _check_spec(value: Any, what: str) -> None:
    """Refuse a spec nested deeper than any valid one before the catalog walks it (without
    recursion: a cyclic or 10 000-deep list is an error, not a ``RecursionError``)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, str | bytes) or not isinstance(
            current, Mapping | list | tuple | set | frozenset
        ):
            continue
        if level >= _MAX_SPEC_DEPTH:
            raise InvalidColumnsError(
                f"{what}= is nested deeper than any valid spec ({_MAX_SPEC_DEPTH} levels): "
                "give slugs, (slug, period) pairs, (slug, [periods]) or API dicts."
            )
        items = current.values() if isinstance(current, Mapping) else current
        stack.extend((item, level + 1) for item in items)


def _sort_item(spec: Any, obj: str) -> tuple[Column, Direction]:
    direction: str = "asc"
    target = spec
    if isinstance(spec, tuple | list) and len(spec) == 2 and spec[1] in ("asc", "desc"):
        target, direction = spec[0], spec[1]
    elif isinstance(spec, str) and spec.startswith("-"):
        target, direction = spec[1:], "desc"
    if isinstance(target, str):
        found = parse_name(target, obj)
        if found is not None and found[1] is not None:
            target = (found[0].slug, found[1])
        elif found is not None:
            return bare_column(found[0], obj, "sort="), "desc" if direction == "desc" else "asc"
    (column,) = resolve_one(target, obj)
    return column, "desc" if direction == "desc" else "asc"


class Query:
    """A checked export request for one object. Nothing is sent until it is read.

    ``columns`` accepts slugs, variation ids, ``(slug, period)``, ``(slug, [periods])`` and
    API dicts; ``variations`` adds ``{slug: [periods]}``; ``where`` (pandas-query string)
    and ``filter`` (API dict or simple dict) are combined with ``and``; ``sort`` takes a
    slug, ``(slug, "desc")``, ``"-slug"`` or a list of those.
    """

    def __init__(
        self,
        object: str,
        columns: Any = None,
        *,
        where: str | None = None,
        filter: Mapping[str, Any] | None = None,
        sort: Any = None,
        variations: Mapping[str, Sequence[str] | str] | None = None,
        variables: Mapping[str, Any] | None = None,
        on_unknown: Literal["raise", "text"] = "raise",
    ) -> None:
        self.object = store.check_object(object)
        if variations is not None and not isinstance(variations, Mapping):
            raise InvalidColumnsError(
                f"variations= takes a dict {{slug: [periods]}}, got a {type(variations).__name__}."
            )
        for what, spec in (("columns", columns), ("sort", sort), ("variations", variations)):
            _check_spec(spec, what)
        if variables is not None and not isinstance(variables, Mapping):
            raise TypeError(
                f"variables= takes a dict of names for @name, got a {type(variables).__name__}."
            )
        self.columns: list[Column] = resolve(
            columns, self.object, variations=variations, on_unknown=on_unknown
        )
        if not self.columns:
            raise InvalidColumnsError(
                "No columns asked for. Pass columns=[...]; "
                f"bspandas.catalog.metrics({self.object!r}) lists them."
            )
        names = {c.name for c in self.columns}
        collisions = [
            o.name
            for c in self.columns
            for o in c.outputs()
            if o.name != c.name and o.name in names
        ]
        if collisions:
            raise InvalidColumnsError(
                f"{', '.join(collisions)} would appear twice: once as its own slug and once as "
                "part of an expanded column. Ask for one of them."
            )
        if where is not None and variables is None:
            variables = caller_variables()
        nodes: list[Node] = []
        if where is not None:
            nodes.append(parse_filter(where, self.object, variables=variables))
        if filter is not None:
            nodes.append(parse_filter(filter, self.object))
        # two checked trees: joined without a second depth check (each is within the bound)
        self.filter: Node | None = (
            None if not nodes else nodes[0] if len(nodes) == 1 else simplify(AllOf(tuple(nodes)))
        )
        self.sort: list[tuple[Column, Direction]] = self._sort(sort)
        self.server_filter: Node | None = None if self.filter is None else _prune(self.filter)
        local = self.filter is not None and self.server_filter != self.filter
        #: The filter applied locally after download (parts the server would ignore).
        self.local_filter: Node | None = self.filter if local else None
        if self.local_filter is not None:
            _refuse_fiscal_locally(self.local_filter, self.server_filter)
        wanted = {c.name for c in self.columns}
        hidden: dict[str, Column] = {}
        # every filtered attribute comes back: the local part is applied on it, and the
        # server's part is verified on it (the live service silently ignores a filter on a
        # slug it does not know, and drops that slug's column: that is how it is caught)
        if self.filter is not None:
            for condition in self.filter.attributes():
                if condition.column.name not in wanted:
                    hidden.setdefault(condition.column.name, condition.column)
        #: Columns fetched only to apply :attr:`local_filter` or verify :attr:`server_filter`,
        #: dropped from the result.
        self.hidden: list[Column] = list(hidden.values())

    def _sort(self, sort: Any) -> list[tuple[Column, Direction]]:
        if sort is None:
            return []
        items = [sort] if isinstance(sort, str) or _is_pair(sort) else sort
        if not isinstance(items, Sequence):
            raise QueryError(
                f"sort= takes a slug, (slug, 'asc'|'desc') or a list of them, got {sort!r}."
            )
        return [_sort_item(item, self.object) for item in items]

    @property
    def request_columns(self) -> list[Column]:
        """Columns sent to the server: the requested ones, then the hidden ones."""
        return [*self.columns, *self.hidden]

    def outputs(self) -> list[Output]:
        """Every frame column the answer should have, in order (hidden ones last)."""
        return [o for c in self.request_columns for o in c.outputs()]

    def payload(self) -> dict[str, Any]:
        """The exact JSON body of the export request."""
        body: dict[str, Any] = {
            "object": self.object,
            "columns": [c.api() for c in self.request_columns],
        }
        if self.server_filter is not None:
            body["filter"] = self.server_filter.to_api()
        if self.sort:
            body["sort"] = [
                {"attribute": _attribute(column), "direction": direction}
                for column, direction in self.sort
            ]
        return body

    def to_json(self, indent: int | None = 2) -> str:
        """The payload as JSON text."""
        return json.dumps(self.payload(), indent=indent)

    @robust_repr
    def __repr__(self) -> str:
        where = f", where={str(self.filter)!r}" if self.filter is not None else ""
        return f"Query({self.object!r}, {len(self.columns)} columns{where})\n{self.to_json()}"

    @robust_repr
    def _repr_html_(self) -> str:
        notes = ""
        if self.local_filter is not None:
            notes = (
                "<p>Applied locally after download (the API ignores it): "
                f"<code>{html.escape(str(self.local_filter))}</code></p>"
            )
        return (
            f"<p><b>bspandas.Query</b> on <code>{html.escape(self.object)}</code>: "
            f"{len(self.columns)} columns</p>{notes}<pre>{html.escape(self.to_json())}</pre>"
        )


def _is_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and value[1] in ("asc", "desc")


def _attribute(column: Column) -> dict[str, str]:
    attribute = {"slug": column.slug}
    if column.variation_id is not None:
        attribute["variation_id"] = column.variation_id
    return attribute
