"""One row per column of a frame: what the catalog says about it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bspandas._utils import renamed
from bspandas.frame.columns import catalog_columns, infer_object
from bspandas.frame.pivot import _as_flat
from bspandas.frame.shape import _is_pivoted

__all__ = ["describe_columns"]


@renamed(obj="object")
def describe_columns(frame: pd.DataFrame, object: str | None = None) -> pd.DataFrame:
    """What the catalog says about each column of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat or pivoted frame (a pivoted one is described flattened).
    object : str, optional
        The Backstory object of the rows; by default ``attrs["backstory"]["object"]``, else
        inferred from the columns (:func:`infer_object`). ``obj=`` is a deprecated spelling.

    Returns
    -------
    pandas.DataFrame
        One row per column, with the string columns ``column``, ``slug``, ``period``,
        ``type``, ``dtype``, ``range``, ``description``, ``label`` (the CSV header label)
        and the ``Int64`` column ``non_null``. Columns the catalog does not know have no
        slug (and no type, range, description or label).

    Raises
    ------
    bspandas.QueryError
        If the object is not given and the columns do not tell it.

    Examples
    --------
    >>> frame = pd.DataFrame({"ootb_churn_risk_score": pd.array([42.0], dtype="Float64"),
    ...                       "notes": ["x"]})
    >>> describe_columns(frame, "account")[["column", "type", "range"]].values.tolist()
    [['ootb_churn_risk_score', 'score', '0-100'], ['notes', <NA>, <NA>]]
    """
    obj = object
    frame = _as_flat(frame, obj) if _is_pivoted(frame) else frame
    obj = infer_object(frame, obj)
    infos = catalog_columns(frame.columns, obj)
    counts = frame.count()
    rows: list[dict[str, Any]] = []
    for position, column in enumerate(frame.columns.tolist()):
        info = infos.get(column) if isinstance(column, str) else None
        row: dict[str, Any] = {
            "column": str(column),
            "slug": None,
            "period": None,
            "type": None,
            "dtype": str(frame.dtypes.iloc[position]),
            "range": None,
            "description": None,
            "label": None,
            "non_null": int(counts.iloc[position]),
        }
        if info is not None:
            metric = info.metric
            bounds = metric.range if info.part.suffix == "" else None
            row.update(
                slug=metric.slug,
                period=info.period,
                type=info.part.type,
                range=None if bounds is None else f"{bounds[0]}-{bounds[1]}",
                description=metric.description,
                label=metric.header_labels(info.period)[metric.parts.index(info.part)],
            )
        rows.append(row)
    columns = ["column", "slug", "period", "type", "dtype", "range", "description", "label"]
    out = pd.DataFrame(rows, columns=[*columns, "non_null"])
    return out.astype(dict.fromkeys(columns, "string") | {"non_null": "Int64"})
