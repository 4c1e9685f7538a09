"""The tidy long form plotting libraries want: ``[*id_vars, "metric", "period", "value"]``."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._utils import renamed
from bspandas.catalog import vocabulary as _periods
from bspandas.frame._dtypes import _cast, _common_dtype, _dtype_to_json
from bspandas.frame._provenance import Json, _with_provenance
from bspandas.frame.pivot import _with_variations
from bspandas.frame.shape import _LONG_COLUMNS, _json_labels

__all__ = ["melt_variations"]


def _stack(series: Sequence[pd.Series]) -> Any:
    """The values of several Series one after the other, as a new array."""
    if len(series) == 1:
        return series[0].array.copy()
    return pd.concat(series, ignore_index=True).array


@renamed(obj="object", id_columns="id_vars")
def melt_variations(
    frame: pd.DataFrame, object: str | None = None, id_vars: Sequence[Hashable] | None = None
) -> pd.DataFrame:
    """The long form plotting libraries want: ``[*id_vars, "metric", "period", "value"]``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat frame with variation columns (``{slug}_{period}``), or a pivoted one
        (flattened first).
    object : str, optional
        The Backstory object of the rows; by default ``attrs["backstory"]["object"]``, else
        inferred from the columns (:func:`infer_object`). ``obj=`` is a deprecated spelling.
    id_vars : sequence of hashable, optional
        The plain columns to repeat on every row (as in ``pd.melt``); by default every
        column that is not a variation column. ``id_columns=`` is a deprecated spelling.

    Returns
    -------
    pandas.DataFrame
        One block of rows per variation column (in frame order); ``metric`` and ``period``
        are categoricals (periods in canonical order); the index repeats the original row
        labels, so the long frame can be put back together even after filtering. ``id_vars``
        (as in ``pd.melt``) defaults to every non-variation column. ``value`` keeps the
        dtype the columns share, a float when they are all numbers, ``object`` otherwise.
        The original dtypes, column order and index go into ``attrs["backstory"]["melt"]``
        so :func:`unmelt_variations` restores the frame exactly; without attrs it falls back
        to the catalog dtypes.

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame has no variation columns, if ``id_vars`` names a missing or a
        variation column, or if an id column is already called metric, period or value.
    bspandas.QueryError
        If the object is not given and the columns do not tell it.

    Examples
    --------
    >>> wide = pd.DataFrame({"ootb_account_name": ["Acme", "Bolt"],
    ...                      "ootb_emails_sent_last_7_days": pd.array([3, 1], dtype="Int64")})
    >>> long = melt_variations(wide, "account")
    >>> long["value"].tolist(), str(long["value"].dtype)
    ([3, 1], 'Int64')
    """
    obj, id_columns = object, id_vars
    frame, obj, source, names, infos = _with_variations(frame, obj, "melt")
    variations = list(infos)
    if id_columns is None:
        ids: list[Hashable] = [c for c in names if c not in infos]
    else:
        ids = list(id_columns)
        wrong = [c for c in ids if c not in frame.columns or c in infos]
        if wrong:
            raise InvalidColumnsError(
                f"id_vars {wrong} are not plain columns of the frame (variation columns "
                "become metric/period/value)."
            )
    clash = [c for c in ids if c in _LONG_COLUMNS]
    if clash:
        raise InvalidColumnsError(
            f"Rename the columns {clash} first: the long form uses metric, period and value."
        )
    n, k = len(frame), len(variations)
    metrics = list(dict.fromkeys(infos[c].slug for c in variations))
    periods = _periods.canonical_order(
        list(dict.fromkeys(str(infos[c].period) for c in variations))
    )
    metric_codes = np.array([metrics.index(infos[c].slug) for c in variations], dtype=np.intp)
    period_codes = np.array([periods.index(str(infos[c].period)) for c in variations], np.intp)
    original = [frame[c].dtype for c in variations]
    target = _common_dtype(original)
    data: dict[Hashable, Any] = {}
    for column in ids:
        values = frame[column]
        if isinstance(values.dtype, np.dtype):
            data[column] = np.tile(values.to_numpy(), k)
        else:
            data[column] = _stack([values] * k)
    data["metric"] = pd.Categorical.from_codes(
        np.repeat(metric_codes, n), dtype=pd.CategoricalDtype(metrics), validate=False
    )
    data["period"] = pd.Categorical.from_codes(
        np.repeat(period_codes, n), dtype=pd.CategoricalDtype(periods), validate=False
    )
    data["value"] = _stack([_cast(frame[c], target) for c in variations])
    index = frame.index.take(np.tile(np.arange(n), k)) if k > 1 else frame.index.copy()
    out = pd.DataFrame(data, index=index, copy=False)
    index_record: Json = None
    if isinstance(frame.index, pd.RangeIndex) and _json_labels([frame.index.name or ""]):
        index_record = {
            "start": frame.index.start,
            "step": frame.index.step,
            "name": frame.index.name,
        }
    return _with_provenance(
        out,
        source,
        obj,
        melt={
            "columns": names if _json_labels(names) else None,
            "id_columns": ids if _json_labels(ids) else None,
            "variations": [
                [c, infos[c].slug, infos[c].period, _dtype_to_json(d)]
                for c, d in zip(variations, original, strict=True)
            ],
            "range_index": index_record,
        },
    )
