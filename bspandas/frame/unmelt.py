"""Back from the long form (``metric``, ``period``, ``value``) to one column per variation."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._io.dtypes import Backend
from bspandas._utils import renamed
from bspandas.catalog.model import OBJECTS
from bspandas.frame._dtypes import _cast, _dtype_from_json
from bspandas.frame._provenance import Json, _attrs, _with_provenance
from bspandas.frame.columns import (
    _objects_by_matches,
    _preview,
    catalog_columns,
    detect_backend,
    primary_key_column,
)
from bspandas.frame.shape import _LONG_COLUMNS, _restore_order, is_long

__all__ = ["unmelt_variations"]


def _codes(values: pd.Series, name: str) -> tuple[npt.NDArray[np.intp], list[str]]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes, dtype=np.intp)
        labels = [str(c) for c in values.cat.categories]
    else:
        raw, uniques = pd.factorize(values)
        codes = np.asarray(raw, dtype=np.intp)
        labels = [str(u) for u in uniques]
    if (codes < 0).any():
        raise InvalidColumnsError(f"The long frame has rows without a {name}.")
    return codes, labels


@renamed(obj="object")
def unmelt_variations(long: pd.DataFrame, object: str | None = None) -> pd.DataFrame:
    """Back from :func:`melt_variations` to one column per variation.

    Parameters
    ----------
    long : pandas.DataFrame
        A long frame (``metric``, ``period`` and ``value`` columns; the others are id
        columns), untouched or filtered, reordered, or without its attrs.
    object : str, optional
        The Backstory object of the rows (for the key column and the catalog dtypes); by
        default ``attrs["backstory"]["object"]``, else the object the metric names tell.
        ``obj=`` is a deprecated spelling.

    Returns
    -------
    pandas.DataFrame
        The id columns and one column per (metric, period) present. An untouched long
        frame gives back the original exactly (columns, order, dtypes, index). A filtered
        or reordered one is pivoted on its index (the original row labels) or, when the
        index is unique, on the object's key column or else all id columns. Dtypes come
        from ``attrs["backstory"]["melt"]``, or from the catalog when the attrs were lost
        (then the id columns come first and enumerations keep values outside the
        catalog's list).

    Raises
    ------
    bspandas.InvalidColumnsError
        If ``long`` is not a long frame, if a row has no metric or period, if the same
        row, metric and period appear twice, or if the index is unique and there are no
        id columns to tell which rows belong together.

    Examples
    --------
    >>> long = pd.DataFrame({"ootb_account_name": ["Acme", "Acme"],
    ...                      "metric": ["ootb_emails_sent"] * 2,
    ...                      "period": ["last_7_days", "current_year"],
    ...                      "value": [3.0, 40.0]})
    >>> wide = unmelt_variations(long.set_index(pd.Index([0, 0])))
    >>> wide.columns.tolist(), str(wide["ootb_emails_sent_last_7_days"].dtype)
    (['ootb_account_name', 'ootb_emails_sent_last_7_days', 'ootb_emails_sent_current_year'], \
'Int64')
    """
    obj = object
    if not is_long(long):
        raise InvalidColumnsError(
            "unmelt_variations needs a long frame with metric, period and value columns "
            f"(got {_preview(list(long.columns))})."
        )
    source = _attrs(long)
    record = source.get("melt")
    melt: dict[str, Json] = record if isinstance(record, dict) else {}
    obj = obj if obj is not None else _recorded_object(source)
    ids: list[Hashable] = [c for c in long.columns if c not in _LONG_COLUMNS]
    recorded: dict[tuple[str, str], tuple[str, Any]] = {}
    for name, slug, period, dtype in melt.get("variations", []):
        recorded[(str(slug), str(period))] = (str(name), _dtype_from_json(dtype))
    layout: list[tuple[str, str, str, npt.NDArray[np.intp]]] = []
    if len(long) == 0:
        rows = np.arange(0, dtype=np.intp)
        layout = [(name, slug, period, rows) for (slug, period), (name, _) in recorded.items()]
    else:
        metric_codes, metrics = _codes(long["metric"], "metric")
        period_codes, periods = _codes(long["period"], "period")
        width = len(periods)
        pair = metric_codes * width + period_codes
        rows, take = _row_layout(long, pair, ids, obj)
        for code in pd.unique(pair).tolist():
            slug, period = metrics[code // width], periods[code % width]
            name = recorded[(slug, period)][0] if (slug, period) in recorded else f"{slug}_{period}"
            layout.append((name, slug, period, take(code)))
    value = long["value"]
    unrecorded = [name for name, slug, period, _ in layout if (slug, period) not in recorded]
    fallback = _catalog_dtypes(unrecorded, value, long[ids], obj) if unrecorded else {}
    data: dict[Hashable, Any] = {c: long[c].iloc[rows].array for c in ids}
    for name, slug, period, positions in layout:
        column = pd.Series(value.array.take(positions, allow_fill=True), copy=False)
        dtype = recorded[(slug, period)][1] if (slug, period) in recorded else fallback.get(name)
        if isinstance(dtype, pd.CategoricalDtype) and (slug, period) not in recorded:
            dtype = _grown(dtype, column)
        data[name] = (column if dtype is None else _cast(column, dtype)).array
    index = long.index.take(rows)
    range_record = melt.get("range_index")
    if isinstance(range_record, dict):
        start, step = int(range_record["start"]), int(range_record["step"])
        candidate = pd.RangeIndex(start, start + step * len(rows), step, name=range_record["name"])
        if candidate.equals(index):
            index = candidate
    out = pd.DataFrame(data, index=index)
    out = out[_restore_order(list(out.columns), melt.get("columns"))]
    return _with_provenance(out, source, obj)


def _recorded_object(source: Mapping[str, Json]) -> str | None:
    found = source.get("object")
    return found if isinstance(found, str) and found in OBJECTS else None


def _row_layout(
    long: pd.DataFrame, pair: npt.NDArray[np.intp], ids: list[Hashable], obj: str | None
) -> tuple[npt.NDArray[np.intp], Callable[[int], npt.NDArray[np.intp]]]:
    """Which long rows give the wide rows their labels and ids (``rows``) and, per (metric,
    period) code, the long row of each wide row (-1 where there is none)."""
    total = len(pair)
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    blocks = len(starts)
    size = total // blocks
    if (
        total % blocks == 0
        and np.array_equal(starts, np.arange(blocks) * size)
        and len(np.unique(pair[starts])) == blocks
        and all(
            long.index[b * size : (b + 1) * size].equals(long.index[:size])
            for b in range(1, blocks)
        )
    ):
        block_of = {int(pair[s]): int(s) for s in starts}

        def block(code: int) -> npt.NDArray[np.intp]:
            return np.arange(block_of[code], block_of[code] + size, dtype=np.intp)

        return np.arange(size, dtype=np.intp), block
    if not long.index.is_unique:
        row_codes = np.asarray(pd.factorize(long.index)[0], dtype=np.intp)
    else:
        found = primary_key_column(long, obj) if obj is not None else None
        key: list[Hashable] = [found] if found is not None else ids
        if not key:
            raise InvalidColumnsError(
                "Cannot tell which long rows belong to the same wide row: the index is unique "
                "and there are no id columns. Keep the index melt_variations made."
            )
        grouped = long.groupby(key, sort=False, dropna=False, observed=True)
        row_codes = np.asarray(grouped.ngroup(), dtype=np.intp)
    slots = row_codes.astype(np.int64) * (int(pair.max()) + 1) + pair
    if len(np.unique(slots)) != total:
        raise InvalidColumnsError(
            "The long frame has several values for the same row, metric and period; "
            "drop the duplicates before unmelting."
        )
    _, rows = np.unique(row_codes, return_index=True)
    wide_rows = len(rows)
    positions = np.arange(total, dtype=np.intp)

    def scatter(code: int) -> npt.NDArray[np.intp]:
        mine = pair == code
        out = np.full(wide_rows, -1, dtype=np.intp)
        out[row_codes[mine]] = positions[mine]
        return out

    return np.asarray(rows, dtype=np.intp), scatter


def _catalog_dtypes(
    names: Sequence[str], value: pd.Series, ids: pd.DataFrame, obj: str | None
) -> dict[str, Any]:
    """Catalog dtypes for variation columns (the fallback when attrs were lost); the
    backend is the value column's, or the id columns' when values are mixed objects."""
    if obj is None:
        ranked = _objects_by_matches(names)
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return {}
        obj = ranked[0][0]
    backend: Backend = "pyarrow" if isinstance(value.dtype, pd.ArrowDtype) else "numpy_nullable"
    if value.dtype == object and ids.shape[1]:
        backend = detect_backend(ids)
    return {name: info.dtype(backend) for name, info in catalog_columns(names, obj).items()}


def _grown(dtype: pd.CategoricalDtype, values: pd.Series) -> pd.CategoricalDtype:
    """The catalog categories plus any other value present (kept, never made missing)."""
    known = list(dtype.categories)
    seen = set(known)
    extra = sorted({str(v) for v in values.dropna().unique() if v not in seen})
    return pd.CategoricalDtype(known + extra, ordered=dtype.ordered) if extra else dtype
