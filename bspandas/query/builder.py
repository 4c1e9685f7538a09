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

from bspandas._exceptions import InvalidColumnsError, QueryError
from bspandas._messages import robust_repr
from bspandas.catalog import store
from bspandas.catalog.resolve import Column, Output, parse_name, resolve, resolve_one
from bspandas.query.attributes import bare_column
from bspandas.query.dict_reader import parse_filter
from bspandas.query.pushdown import _hidden_columns, _prune, _refuse_fiscal_locally
from bspandas.query.simplification import simplify
from bspandas.query.tree import AllOf, Node

__all__ = ["Query", "caller_variables"]

Direction = Literal["asc", "desc"]


def caller_variables(depth: int = 2) -> dict[str, Any]:
    """Globals and locals of the caller's caller, for ``@name`` in ``where=`` strings.

    Parameters
    ----------
    depth : int, default 2
        How many frames up to read: 2 is the caller of the function that calls this one.

    Returns
    -------
    dict
        The frame's globals updated with its locals.

    Examples
    --------
    >>> def reader() -> dict:
    ...     return caller_variables()
    >>> def analysis() -> int:
    ...     threshold = 70
    ...     return reader()["threshold"]
    >>> analysis()
    70
    """
    frame = sys._getframe(depth)
    try:
        return {**frame.f_globals, **frame.f_locals}
    finally:
        del frame


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


def _check_arguments(columns: Any, sort: Any, variations: Any, variables: Any) -> None:
    """Refuse arguments of the wrong type or nested deeper than any valid spec."""
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


def _resolve_columns(
    columns: Any,
    obj: str,
    variations: Mapping[str, Sequence[str] | str] | None,
    on_unknown: Literal["raise", "text"],
) -> list[Column]:
    """The requested columns, resolved, a repeated spec kept once; none, or a column that
    would appear twice in the frame (alone and inside an expanded column), is an error."""
    resolved = resolve(columns, obj, variations=variations, on_unknown=on_unknown)
    if not resolved:
        raise InvalidColumnsError(
            f"No columns asked for. Pass columns=[...]; bspandas.catalog.metrics({obj!r}) "
            "lists them."
        )
    names = {c.name for c in resolved}
    collisions = [
        o.name for c in resolved for o in c.outputs() if o.name != c.name and o.name in names
    ]
    if collisions:
        raise InvalidColumnsError(
            f"{', '.join(collisions)} would appear twice: once as its own slug and once as "
            "part of an expanded column. Ask for one of them."
        )
    return resolved


def _combine(
    where: str | None,
    filter: Mapping[str, Any] | None,
    obj: str,
    variables: Mapping[str, Any] | None,
) -> Node | None:
    """``where`` and ``filter`` read, checked and joined with ``and``."""
    nodes: list[Node] = []
    if where is not None:
        nodes.append(parse_filter(where, obj, variables=variables))
    if filter is not None:
        nodes.append(parse_filter(filter, obj))
    # two checked trees: joined without a second depth check (each is within the bound)
    return None if not nodes else nodes[0] if len(nodes) == 1 else simplify(AllOf(tuple(nodes)))


class Query:
    """A checked export request for one object. Nothing is sent until it is read.

    The columns are resolved against the catalog, the filter parsed and checked, and the
    parts of the filter the server would ignore set aside to be applied locally after the
    download (:attr:`local_filter`), so :meth:`payload` is exactly what is sent.

    Parameters
    ----------
    object : str
        The object to export: ``"account"``, ``"opportunity"``, ``"activity"`` or
        ``"user"`` (``bspandas.catalog.objects()`` lists them).
    columns : str, tuple, dict or list of those, optional
        What to fetch: slugs (``"ootb_account_name"``), variation ids
        (``"ootb_emails_sent_last_30_days"``), ``(slug, period)``, ``(slug, [periods])``
        or the API's ``{"slug": ..., "variation_id": ...}``.
    where : str, optional
        A pandas-query style filter (``"ootb_churn_risk_score >= 70"``), parsed and never
        evaluated; ``@name`` reads ``variables`` or the caller's variables. See
        :func:`parse_where`.
    filter : dict, optional
        A filter as the API's dict or a simple ``{column: value or {operator: value}}``
        dict. Combined with ``where`` with ``and``. See :func:`parse_filter`.
    sort : str, tuple or list of those, optional
        A slug, ``(slug, "asc" | "desc")``, ``"-slug"`` (descending) or a list of those.
    variations : dict, optional
        ``{slug: [periods]}`` (or ``{slug: period}``): more windows of windowed metrics,
        added to ``columns``.
    variables : dict, optional
        The names ``@name`` in ``where`` reads; by default the caller's globals and locals.
    on_unknown : {"raise", "text"}, default "raise"
        An unknown column: raise :class:`bspandas.UnknownMetricError`, or fetch it as text.

    Raises
    ------
    bspandas.UnknownObjectError
        ``object`` is not an object of the Query API.
    bspandas.InvalidColumnsError
        No column, a column that would appear twice in the frame (alone and inside an
        expanded column), or a spec nested deeper than any valid one. A spec repeated as is
        is kept once.
    bspandas.UnknownMetricError
        A column or filter attribute the catalog does not know (with ``on_unknown="raise"``).
    bspandas.InvalidFilterError
        A filter that cannot be read or sent (see :func:`parse_filter`).
    bspandas.QueryError
        A ``sort`` of the wrong shape.
    TypeError
        ``variables`` is not a dict.

    Examples
    --------
    >>> from bspandas.query import Query
    >>> q = Query("account", ["ootb_account_name"], where="industry == 'Retail'", sort="-industry")
    >>> q.payload()["filter"]
    {'attribute': {'slug': 'industry'}, 'clause': {'$eq': 'Retail'}}
    >>> [c.name for c in q.hidden]
    ['industry']
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
        _check_arguments(columns, sort, variations, variables)
        self.columns: list[Column] = _resolve_columns(columns, self.object, variations, on_unknown)
        if where is not None and variables is None:
            variables = caller_variables()  # here: it reads the frame two levels up
        self.filter: Node | None = _combine(where, filter, self.object, variables)
        self.sort: list[tuple[Column, Direction]] = self._sort(sort)
        self.server_filter: Node | None = None if self.filter is None else _prune(self.filter)
        local = self.filter is not None and self.server_filter != self.filter
        #: The filter applied locally after download (parts the server would ignore).
        self.local_filter: Node | None = self.filter if local else None
        if self.local_filter is not None:
            _refuse_fiscal_locally(self.local_filter, self.server_filter)
        #: Columns fetched only to apply :attr:`local_filter`, verify :attr:`server_filter`
        #: or verify that the sort was applied, dropped from the result.
        self.hidden: list[Column] = _hidden_columns(
            self.filter, self.columns, [column for column, _ in self.sort]
        )

    def _sort(self, sort: Any) -> list[tuple[Column, Direction]]:
        if sort is None:
            return []
        _check_direction(sort)
        items = [sort] if isinstance(sort, str) or _is_pair(sort) else sort
        if not isinstance(items, Sequence):
            raise QueryError(
                f"sort= takes a slug, (slug, 'asc'|'desc') or a list of them, got {sort!r}."
            )
        return [_sort_item(item, self.object) for item in items]

    @property
    def request_columns(self) -> list[Column]:
        """Columns sent to the server: the requested ones, then the hidden ones.

        Returns
        -------
        list of bspandas.catalog.Column
            :attr:`columns` then :attr:`hidden`.

        Examples
        --------
        >>> q = Query("account", ["ootb_account_name"], where="industry == 'A'")
        >>> [c.name for c in q.request_columns]
        ['ootb_account_name', 'industry']
        """
        return [*self.columns, *self.hidden]

    def outputs(self) -> list[Output]:
        """Every frame column the answer should have, in order (hidden ones last).

        An expanded column (an owner: id and name) gives several outputs.

        Returns
        -------
        list of bspandas.catalog.Output
            The frame columns of :attr:`request_columns`, in order.

        Examples
        --------
        >>> [o.name for o in Query("account", ["ootb_account_name"]).outputs()]
        ['ootb_account_name']
        """
        return [o for c in self.request_columns for o in c.outputs()]

    def payload(self) -> dict[str, Any]:
        """The exact JSON body of the export request.

        Returns
        -------
        dict
            ``object``, ``columns``, and ``filter`` (the server's part of it) and ``sort``
            when there are any.

        Examples
        --------
        >>> body = Query("account", ["ootb_account_name"], sort="-ootb_account_name").payload()
        >>> body["columns"]
        [{'slug': 'ootb_account_name'}]
        >>> body["sort"][0]["direction"]
        'desc'
        """
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
        """The payload as JSON text.

        Parameters
        ----------
        indent : int or None, default 2
            Passed to :func:`json.dumps`; ``None`` gives one line.

        Returns
        -------
        str
            :meth:`payload` as JSON.

        Examples
        --------
        >>> Query("account", ["ootb_account_name"]).to_json(indent=None)
        '{"object": "account", "columns": [{"slug": "ootb_account_name"}]}'
        """
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


_DIRECTION_WORDS = {"asc", "desc", "ascending", "descending", "up", "down"}


def _check_direction(sort: Any) -> None:
    """Refuse ``(slug, "DESC")``, ``(slug, "descending")``...: directions are "asc"/"desc"."""
    pairs = [sort] if isinstance(sort, tuple) else sort if isinstance(sort, list) else []
    for pair in pairs:
        if (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[1], str)
            and pair[1] not in ("asc", "desc")
            and pair[1].strip().lower() in _DIRECTION_WORDS
        ):
            wanted = "desc" if pair[1].strip().lower() in ("desc", "descending", "down") else "asc"
            raise QueryError(
                f"Sort direction {pair[1]!r} of {pair[0]!r}: a direction is 'asc' or 'desc' "
                f"(did you mean ({pair[0]!r}, {wanted!r})?)."
            )


def _is_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and value[1] in ("asc", "desc")


def _attribute(column: Column) -> dict[str, str]:
    attribute = {"slug": column.slug}
    if column.variation_id is not None:
        attribute["variation_id"] = column.variation_id
    return attribute
