"""Periods as columns (``pivot_variations``) and back to ``{slug}_{period}`` names
(``flatten_variations``); also how every verb gets a flat frame with its variation columns."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._utils import renamed
from bspandas.catalog import vocabulary as _periods
from bspandas.frame._provenance import Json, _attrs, _with_provenance
from bspandas.frame.columns import ColumnInfo, _preview, catalog_columns, infer_object
from bspandas.frame.shape import _flat_names, _is_pivoted, _json_labels, _restore_order, is_long
from bspandas.frame.unmelt import unmelt_variations

__all__ = ["flatten_variations", "pivot_variations"]

_PERIOD_IDS = frozenset(p.id for p in _periods.PERIODS)


def _variation_records(infos: Mapping[str, ColumnInfo], names: Sequence[str]) -> list[list[Json]]:
    return [[n, infos[n].slug, infos[n].period] for n in names]


@renamed(obj="object")
def flatten_variations(
    frame: pd.DataFrame, object: str | None = None, *, metric: str | None = None
) -> pd.DataFrame:
    """The inverse of :func:`pivot_variations`: variation columns named ``{slug}_{period}``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame with ``(metric, period)`` column levels, or one pivoted for one metric
        (periods as column names). Any other frame is returned as is (a shallow copy).
    object : str, optional
        The Backstory object of the rows; by default ``attrs["backstory"]["object"]``, else
        inferred from the columns (:func:`infer_object`). ``obj=`` is a deprecated spelling.
    metric : str, optional
        The metric whose periods are the column names of a one-metric pivot; needed only
        when the frame's attrs did not record it.

    Returns
    -------
    pandas.DataFrame
        One column per variation, named as the catalog names them (or as they were named
        before the pivot), in the original column order when the attrs survived.

    Raises
    ------
    bspandas.InvalidColumnsError
        If the period columns of a one-metric pivot cannot be traced to a metric.

    Examples
    --------
    >>> wide = pd.DataFrame({"ootb_account_name": ["Acme"],
    ...                      "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64")})
    >>> flatten_variations(pivot_variations(wide, "account")).equals(wide)
    True
    """
    obj = object
    source = _attrs(frame)
    record = source.get("pivot")
    pivot: dict[str, Json] = record if isinstance(record, dict) else {}
    names = {
        (str(slug), str(period)): str(name)
        for name, slug, period in pivot.get("variations", [])
        if isinstance(name, str)
    }
    if _is_pivoted(frame):
        flat = _flat_names(frame.columns, names)
    else:
        slug = metric if metric is not None else pivot.get("metric")
        if not isinstance(slug, str):
            if metric is None and not pivot:
                return frame.copy(deep=False)
            raise InvalidColumnsError(
                "Say which metric the period columns belong to: flatten_variations(metric=...)."
            )
        flat = [
            names.get((slug, c), f"{slug}_{c}") if isinstance(c, str) and c in _PERIOD_IDS else c
            for c in frame.columns
        ]
    out = frame.set_axis(pd.Index(flat, tupleize_cols=False), axis=1)
    order = _restore_order(flat, pivot.get("columns"))
    if order != flat:
        out = out[order]
    recorded_obj = source.get("object")
    return _with_provenance(
        out, source, obj or (recorded_obj if isinstance(recorded_obj, str) else None)
    )


def _as_flat(frame: pd.DataFrame, obj: str | None) -> pd.DataFrame:
    """Undo a pivot or a melt so the frame has one column per variation again."""
    if _is_pivoted(frame):
        return flatten_variations(frame, obj)
    if is_long(frame):
        return unmelt_variations(frame, obj)
    return frame


def _with_variations(
    frame: pd.DataFrame, obj: str | None, verb: str
) -> tuple[pd.DataFrame, str, dict[str, Json], list[Any], dict[str, ColumnInfo]]:
    """The flat frame, its object, attrs, column names and variation columns (or an error)."""
    frame = _as_flat(frame, obj)
    found = infer_object(frame, obj)
    names = frame.columns.tolist()
    infos = {n: i for n, i in catalog_columns(names, found).items() if i.period is not None}
    if not infos:
        raise InvalidColumnsError(
            f"No variation columns ({{slug}}_{{period}}) among {_preview(names)}; "
            f"nothing to {verb}."
        )
    return frame, found, _attrs(frame), names, infos


@renamed(obj="object")
def pivot_variations(
    frame: pd.DataFrame, object: str | None = None, metric: str | None = None
) -> pd.DataFrame:
    """Periods as columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat frame with variation columns (``{slug}_{period}``); a long frame
        (:func:`melt_variations`) is unmelted first.
    object : str, optional
        The Backstory object of the rows; by default ``attrs["backstory"]["object"]``, else
        inferred from the columns (:func:`infer_object`). ``obj=`` is a deprecated spelling.
    metric : str, optional
        Pivot only this metric's periods (see below); by default every metric's.

    Returns
    -------
    pandas.DataFrame
        With ``metric``: every other column unchanged and in its order (other metrics'
        variation columns included), then one column per period of that metric, named by the
        period id in canonical order. Without: the same columns under two levels ``(metric,
        period)``; plain columns get ``(name, "")`` so ``wide["ootb_account_name"]`` is
        still a Series and ``wide["ootb_emails_sent"]`` is the frame of its periods. Each
        metric's periods sit where its first variation column was. The index and dtypes are
        unchanged; a long frame (:func:`melt_variations`) is unmelted first.
        :func:`flatten_variations` goes back.

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame has no variation columns, if ``metric`` has none, or if a period id
        is already the name of another column.
    bspandas.QueryError
        If the object is not given and the columns do not tell it.

    Examples
    --------
    >>> wide = pd.DataFrame({
    ...     "ootb_account_name": ["Acme"],
    ...     "ootb_emails_sent_current_year": pd.array([40], dtype="Int64"),
    ...     "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64"),
    ... })
    >>> pivot_variations(wide, "account", "ootb_emails_sent").columns.tolist()
    ['ootb_account_name', 'last_7_days', 'current_year']
    >>> pivot_variations(wide, "account").columns.tolist()
    [('ootb_account_name', ''), ('ootb_emails_sent', 'last_7_days'), \
('ootb_emails_sent', 'current_year')]
    """
    obj = object
    frame, obj, source, names, infos = _with_variations(frame, obj, "pivot")
    groups: dict[Hashable, list[str]] = {}
    for column in names:
        info = infos.get(column) if isinstance(column, str) else None
        groups.setdefault(info.slug if info is not None else (column,), []).append(column)
    by_metric = {k: v for k, v in groups.items() if isinstance(k, str)}
    columns_record: Json = names if _json_labels(names) else None
    if metric is not None:
        if metric not in by_metric:
            raise InvalidColumnsError(
                f"{metric!r} has no variation columns in this frame. Metrics with variation "
                f"columns here: {', '.join(by_metric)}."
            )
        chosen = _sorted_periods(by_metric[metric], infos)
        picked = set(chosen)
        keep = [c for c in names if c not in picked]
        renamed = [str(infos[c].period) for c in chosen]
        clash = sorted(set(renamed) & {c for c in keep if isinstance(c, str)})
        if clash:
            raise InvalidColumnsError(
                f"Cannot name the period columns of {metric!r}: {clash} are already columns."
            )
        out = frame[keep + chosen]
        out.columns = pd.Index([*keep, *renamed], tupleize_cols=False)
        return _with_provenance(
            out,
            source,
            obj,
            pivot={
                "metric": metric,
                "columns": columns_record,
                "variations": _variation_records(infos, chosen),
            },
        )
    ordered: list[Hashable] = []
    tuples: list[tuple[Hashable, str]] = []
    for key, members in groups.items():
        if isinstance(key, str):
            members = _sorted_periods(members, infos)
            tuples += [(key, str(infos[c].period)) for c in members]
        else:
            tuples += [(c, "") for c in members]
        ordered += members
    out = frame[ordered] if ordered != names else frame.copy(deep=False)
    out.columns = pd.MultiIndex.from_tuples(tuples, names=["metric", "period"])
    return _with_provenance(
        out,
        source,
        obj,
        pivot={
            "metric": None,
            "columns": columns_record,
            "variations": _variation_records(infos, list(infos)),
        },
    )


def _sorted_periods(columns: list[str], infos: Mapping[str, ColumnInfo]) -> list[str]:
    by_period = {str(infos[c].period): c for c in columns}
    return [by_period[p] for p in _periods.canonical_order(list(by_period))]
