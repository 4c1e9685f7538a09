"""Reshaping Backstory frames: variations as columns or long form, account/opportunity joins.

Pure functions over DataFrames; ``df.backstory`` (``bspandas.frame.accessor``) calls them. Column
names are mapped to catalog entries once per call (``{slug}`` or ``{slug}_{period}``, expanded
parts ``{slug}_id``, ``{slug}_name``, ``{slug}_currency``); the data itself is moved with plain
vectorised pandas.

>>> import pandas as pd
>>> from bspandas.frame.reshape import melt_variations, unmelt_variations
>>> wide = pd.DataFrame({
...     "ootb_account_crm_id": pd.array(["001A", "001B"], dtype="string"),
...     "ootb_emails_sent_last_7_days": pd.array([3, 1], dtype="Int64"),
...     "ootb_emails_sent_last_30_days": pd.array([9, 4], dtype="Int64"),
... })
>>> long = melt_variations(wide, "account")
>>> long.columns.tolist()
['ootb_account_crm_id', 'metric', 'period', 'value']
>>> unmelt_variations(long).equals(wide)
True
"""

from __future__ import annotations

import base64
import copy
import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from bspandas._exceptions import (
    InvalidColumnsError,
    MixedCurrencyError,
    OrphanRowsWarning,
    QueryError,
    SchemaValidationError,
)
from bspandas._io.dtypes import Backend, dtype_for
from bspandas._utils import find_stacklevel, renamed
from bspandas.catalog import store
from bspandas.catalog import vocabulary as _periods
from bspandas.catalog.business import ACCOUNT_KEYS, DEFAULT_STAGE_PROBABILITY, PRIMARY_KEYS
from bspandas.catalog.model import OBJECTS, Metric, Part
from bspandas.catalog.resolve import parse_name

__all__ = [
    "ACCOUNT_KEYS",
    "CORPORATE",
    "DEFAULT_STAGE_PROBABILITY",
    "AggregateSpec",
    "ColumnInfo",
    "JoinHow",
    "JoinKey",
    "Money",
    "OrphanPolicy",
    "aggregate_opportunities",
    "catalog_columns",
    "describe_columns",
    "detect_backend",
    "flatten_variations",
    "infer_object",
    "is_long",
    "join_account",
    "join_key",
    "join_opportunities",
    "melt_variations",
    "money_column",
    "person_labels",
    "pivot_variations",
    "primary_key_column",
    "provenance",
    "unmelt_variations",
    "variation_columns",
]

JoinHow: TypeAlias = Literal["left", "inner", "right", "outer"]
OrphanPolicy: TypeAlias = Literal["warn", "ignore"]
#: ``True`` for the standard roll-up, or pandas named aggregations ``{name: (column, func)}``.
AggregateSpec: TypeAlias = "bool | Mapping[str, tuple[str, str | Callable[..., Any]]] | None"
Json: TypeAlias = Any  # a JSON-safe value (str, int, float, bool, None, lists and dicts of them)

_LONG_COLUMNS = ("metric", "period", "value")
_AMOUNT_SLUGS = (
    "ootb_opportunity_converted_amount",
    "ootb_opportunity_amount",
    "opportunity_value",
)
_STAGE_SLUGS = ("ootb_opportunity_stage", "ootb_opportunity_current_stage")
_CLOSED_SLUG = "ootb_opportunity_is_closed"
_WON_SLUG = "ootb_opportunity_is_won"
_PROBABILITY_SLUG = "ootb_stage_probability"
_TEMP_KEY = "__bspandas_join_key__"
_PERIOD_IDS = frozenset(p.id for p in _periods.PERIODS)
# -- column names and objects ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """What a frame column is in the catalog: its entry, period (``None`` for plain fields)
    and part (expanded metrics have several)."""

    name: str
    metric: Metric
    period: str | None
    part: Part

    @property
    def slug(self) -> str:
        return self.metric.slug

    @property
    def key(self) -> str | None:
        """What the values identify (``"account.crm_id"``), for columns without a period."""
        if self.period is not None:
            return None
        return self.part.key or self.metric.key

    def dtype(self, backend: Backend = "numpy_nullable") -> Any:
        """The catalog dtype of this column."""
        return dtype_for(
            self.part.type,
            backend=backend,
            values=self.part.values or self.metric.values,
            ordered=self.metric.ordered,
        )


def catalog_columns(columns: Iterable[Hashable], obj: str) -> dict[str, ColumnInfo]:
    """Map each catalog column name to its :class:`ColumnInfo` (unknown names are left out).

    >>> info = catalog_columns(["ootb_emails_sent_last_7_days", "notes"], "account")
    >>> [(i.slug, i.period) for i in info.values()]
    [('ootb_emails_sent', 'last_7_days')]
    """
    obj = store.check_object(obj)
    found: dict[str, ColumnInfo] = {}
    for name in columns.tolist() if isinstance(columns, pd.Index) else columns:
        if not isinstance(name, str) or name in found:
            continue
        parsed = parse_name(name, obj)
        if parsed is not None:
            metric, period, part = parsed
            found[name] = ColumnInfo(name, metric, period, part)
    return found


def variation_columns(frame: pd.DataFrame, obj: str) -> dict[str, tuple[str, str]]:
    """Map every variation column (``{slug}_{period}``) to ``(slug, period)``, in frame order.

    >>> frame = pd.DataFrame(columns=["ootb_account_name", "ootb_emails_sent_current_year"])
    >>> variation_columns(frame, "account")
    {'ootb_emails_sent_current_year': ('ootb_emails_sent', 'current_year')}
    """
    return {
        name: (info.slug, info.period)
        for name, info in catalog_columns(frame.columns, obj).items()
        if info.period is not None
    }


def provenance(frame: pd.DataFrame) -> dict[str, Json]:
    """A copy of ``frame.attrs["backstory"]`` (an empty dict when attrs were lost)."""
    return copy.deepcopy(_attrs(frame))


def _attrs(frame: pd.DataFrame) -> dict[str, Json]:
    """``frame.attrs["backstory"]`` itself (not a copy: read it, do not change it)."""
    found = frame.attrs.get("backstory")
    return found if isinstance(found, dict) else {}


def _objects_by_matches(columns: Iterable[Hashable]) -> list[tuple[str, int]]:
    names = [c for c in columns if isinstance(c, str)]
    counts = [(obj, len(catalog_columns(names, obj))) for obj in OBJECTS]
    return sorted((pair for pair in counts if pair[1]), key=lambda pair: -pair[1])


def infer_object(frame: pd.DataFrame, object: str | None = None) -> str:
    """The object a frame holds: ``object`` when given, else ``attrs["backstory"]["object"]``,
    else the object whose catalog knows most of the columns.

    Raises :class:`bspandas.QueryError` naming the candidates when the columns do not tell.

    >>> infer_object(pd.DataFrame(columns=["crm_opportunity_id", "ootb_opportunity_amount"]))
    'opportunity'
    """
    if object is not None:
        return store.check_object(object)
    recorded = _attrs(frame).get("object")
    if isinstance(recorded, str) and recorded in OBJECTS:
        return recorded
    columns = _flat_names(frame.columns, {}) if _is_pivoted(frame) else frame.columns.tolist()
    ranked = _objects_by_matches(columns)
    how = 'Say which with df.backstory.as_object("account") (or pass object=...).'
    if not ranked:
        raise QueryError(
            "Cannot tell which Backstory object this frame holds: none of its columns "
            f"({_preview(columns)}) is a catalog column name and attrs['backstory'] is "
            f"missing. {how}"
        )
    best = [obj for obj, count in ranked if count == ranked[0][1]]
    if len(best) > 1:
        listed = ", ".join(f"{obj} ({count} columns)" for obj, count in ranked)
        raise QueryError(f"The columns fit several objects equally well: {listed}. {how}")
    return best[0]


def primary_key_column(frame: pd.DataFrame, obj: str) -> str | None:
    """The column holding the object's row id (CRM id first, then internal id...), if any.

    >>> primary_key_column(pd.DataFrame(columns=["ootb_account_name", "ootb_account_id"]),
    ...                    "account")
    'ootb_account_id'
    """
    by_key: dict[str, str] = {}
    for name, info in catalog_columns(frame.columns, obj).items():
        if info.key is not None:
            by_key.setdefault(info.key, name)
    for key in PRIMARY_KEYS.get(store.check_object(obj), ()):
        if key in by_key:
            return by_key[key]
    return None


def detect_backend(frame: pd.DataFrame) -> Backend:
    """``attrs["backstory"]["dtype_backend"]`` when recorded, else ``"pyarrow"`` when most
    columns are Arrow-backed, else ``"numpy_nullable"``."""
    recorded = _attrs(frame).get("dtype_backend")
    if recorded in ("numpy_nullable", "pyarrow"):
        return cast(Backend, recorded)
    arrow = sum(isinstance(d, pd.ArrowDtype) for d in frame.dtypes)
    return "pyarrow" if frame.shape[1] and arrow * 2 > frame.shape[1] else "numpy_nullable"


def _preview(items: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(i) for i in list(items)[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _with_provenance(
    out: pd.DataFrame, source: dict[str, Json], obj: str | None, **extra: Json
) -> pd.DataFrame:
    derived = ("pivot", "melt", "join", "money")  # describe one result, not what follows
    record = copy.deepcopy({k: v for k, v in source.items() if k not in derived})
    if obj is not None:
        record["object"] = obj
    record.update(extra)
    out.attrs = {**out.attrs, "backstory": record}
    return out


# -- dtypes as JSON (exact round trips through attrs) ----------------------------------------


def _dtype_to_json(dtype: Any) -> dict[str, Json]:
    if isinstance(dtype, pd.CategoricalDtype):
        values = dtype.categories.tolist()
        if all(isinstance(v, str | int | float | bool) for v in values):
            return {
                "category": values,
                "ordered": bool(dtype.ordered),
                "categories_dtype": _dtype_to_json(dtype.categories.dtype),
            }
        return {"name": "category"}
    if isinstance(dtype, pd.ArrowDtype):
        schema = pa.schema([pa.field("value", dtype.pyarrow_dtype)])
        return {"arrow": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")}
    if isinstance(dtype, pd.StringDtype):
        na_value = getattr(dtype, "na_value", pd.NA)
        nan = isinstance(na_value, float) and math.isnan(na_value)
        return {"string": str(dtype.storage), "na": "nan" if nan else "NA"}
    return {"name": str(dtype)}


def _dtype_from_json(data: Mapping[str, Json]) -> Any:
    if "category" in data:
        categories_dtype = _dtype_from_json(data["categories_dtype"])
        categories = pd.Index(data["category"], dtype=categories_dtype)
        return pd.CategoricalDtype(categories, ordered=bool(data["ordered"]))
    if "arrow" in data:
        raw = base64.b64decode(str(data["arrow"]))
        return pd.ArrowDtype(pa.ipc.read_schema(pa.py_buffer(raw)).field(0).type)
    if "string" in data:
        storage = str(data["string"])
        if data.get("na") == "nan" and storage != "pyarrow_numpy":
            try:
                return pd.StringDtype(storage, na_value=np.nan)  # type: ignore[call-overload,arg-type,unused-ignore]
            except TypeError:  # pandas 2.2 has no na_value; its nan variant is pyarrow_numpy
                return pd.StringDtype("pyarrow_numpy")  # type: ignore[arg-type,unused-ignore]
        return pd.StringDtype(storage)  # type: ignore[arg-type,unused-ignore]
    return pd.api.types.pandas_dtype(str(data["name"]))


def _is_number(dtype: Any) -> bool:
    if isinstance(dtype, pd.ArrowDtype):
        kind = dtype.pyarrow_dtype
        return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def _common_dtype(dtypes: Sequence[Any]) -> Any:
    """One dtype for a column that holds several metrics: theirs when they agree, a float
    when they are all numbers, else ``object``."""
    first = dtypes[0]
    if all(d == first for d in dtypes[1:]):
        return first
    if all(_is_number(d) for d in dtypes):
        if all(isinstance(d, pd.ArrowDtype) for d in dtypes):
            return pd.ArrowDtype(pa.float64())
        return pd.Float64Dtype()
    return np.dtype(object)


def _cast(values: pd.Series, dtype: Any) -> pd.Series:
    return values if values.dtype == dtype else values.astype(dtype)


# -- pivot: one column per period ----------------------------------------------------------


def _is_pivoted(frame: pd.DataFrame) -> bool:
    return isinstance(frame.columns, pd.MultiIndex) and frame.columns.nlevels == 2


def is_long(frame: pd.DataFrame) -> bool:
    """True for a long frame made by :func:`melt_variations` (``metric``, ``period`` and
    ``value`` columns)."""
    if _is_pivoted(frame):
        return False
    columns = frame.columns
    return all(c in columns for c in _LONG_COLUMNS)


def _flat_names(columns: pd.Index, names: Mapping[tuple[str, str], str]) -> list[Hashable]:
    flat: list[Hashable] = []
    for metric, period in columns:
        if period in ("", None):
            flat.append(metric)
        else:
            flat.append(names.get((str(metric), str(period)), f"{metric}_{period}"))
    return flat


def _restore_order(current: Sequence[Hashable], recorded: object) -> list[Hashable]:
    """``current`` in the recorded order (names not recorded go last, in their order)."""
    if not isinstance(recorded, list):
        return list(current)
    present = set(current)
    ordered = [c for c in recorded if isinstance(c, Hashable) and c in present]
    seen = set(ordered)
    return ordered + [c for c in current if c not in seen]


def _variation_records(infos: Mapping[str, ColumnInfo], names: Sequence[str]) -> list[list[Json]]:
    return [[n, infos[n].slug, infos[n].period] for n in names]


@renamed(obj="object")
def flatten_variations(
    frame: pd.DataFrame, object: str | None = None, *, metric: str | None = None
) -> pd.DataFrame:
    """The inverse of :func:`pivot_variations`: variation columns named ``{slug}_{period}``.

    A (metric, period) column frame is flattened; a frame pivoted for one metric (periods as
    column names) needs ``metric=`` unless its attrs recorded it. The original column order
    is restored from attrs when they survived.

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

    With ``metric``: every other column unchanged and in its order (other metrics'
    variation columns included), then one column per period of that metric, named by the
    period id in canonical order. Without: the same columns under two levels ``(metric, period)``;
    plain columns get ``(name, "")`` so ``wide["ootb_account_name"]`` is still a Series and
    ``wide["ootb_emails_sent"]`` is the frame of its periods. Each metric's periods sit
    where its first variation column was. The index and dtypes are unchanged; a long frame
    (:func:`melt_variations`) is unmelted first. :func:`flatten_variations` goes back.

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


def _json_labels(labels: Iterable[Hashable]) -> bool:
    return all(isinstance(label, str | int) for label in labels)


# -- melt: the tidy long form ----------------------------------------------------------------


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

    One block of rows per variation column (in frame order); ``metric`` and ``period`` are
    categoricals (periods in canonical order); the index repeats the original row labels, so
    the long frame can be put back together even after filtering. ``id_vars`` (as in
    ``pd.melt``) defaults to every non-variation column. ``value`` keeps the dtype the
    columns share, a float when they are all numbers, ``object`` otherwise. The original
    dtypes, column order and index go into ``attrs["backstory"]["melt"]`` so
    :func:`unmelt_variations` restores the frame exactly; without attrs it falls back to
    the catalog dtypes.

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

    An untouched long frame gives back the original exactly (columns, order, dtypes, index).
    A filtered or reordered one is pivoted on its index (the original row labels) or, when
    the index is unique, on the object's key column or else all id columns. Dtypes come
    from ``attrs["backstory"]["melt"]``, or from the catalog when the attrs were lost (then
    the id columns come first and enumerations keep values outside the catalog's list).

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


# -- describe --------------------------------------------------------------------------------


@renamed(obj="object")
def describe_columns(frame: pd.DataFrame, object: str | None = None) -> pd.DataFrame:
    """One row per column: column, slug, period, type, dtype, range, description, label
    (the CSV header label), non_null. Columns the catalog does not know have no slug.

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


# -- joins -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinKey:
    """The columns an account frame and an opportunity frame are joined on."""

    key: str
    account_column: Hashable
    opportunity_column: Hashable


def _keys(frame: pd.DataFrame, obj: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, info in catalog_columns(frame.columns, obj).items():
        if info.key in ACCOUNT_KEYS:
            found.setdefault(info.key, []).append(name)
    return found


def join_key(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    on: tuple[Hashable, Hashable] | None = None,
) -> JoinKey:
    """The columns to join on: the account CRM id (``ootb_account_crm_id`` with
    ``crm_account_id`` or ``ootb_opportunity_account``), else the internal id, else the
    account name. ``on=(account_column, opportunity_column)`` overrides the catalog.

    >>> join_key(pd.DataFrame(columns=["ootb_account_crm_id", "ootb_account_name"]),
    ...          pd.DataFrame(columns=["ootb_opportunity_account_name", "crm_account_id"]))
    JoinKey(key='account.crm_id', account_column='ootb_account_crm_id', \
opportunity_column='crm_account_id')
    """
    if on is not None:
        left, right = on
        missing = [
            f"{side} has no column {c!r}"
            for side, c, f in (
                ("accounts", left, accounts),
                ("opportunities", right, opportunities),
            )
            if c not in f.columns
        ]
        if missing:
            raise InvalidColumnsError(f"on={on!r}: {'; '.join(missing)}.")
        return JoinKey("explicit", left, right)
    mine, theirs = _keys(accounts, "account"), _keys(opportunities, "opportunity")
    for key in ACCOUNT_KEYS:
        if key in mine and key in theirs:
            return JoinKey(key, mine[key][0], theirs[key][0])

    def listed(found: Mapping[str, list[str]]) -> str:
        return ", ".join(f"{k}: {', '.join(v)}" for k, v in found.items()) or "none"

    raise InvalidColumnsError(
        "No common account key. The account frame has "
        f"{listed(mine)}; the opportunity frame has {listed(theirs)}. Fetch "
        "ootb_account_crm_id on the accounts and crm_account_id (or ootb_opportunity_account) "
        "on the opportunities, or pass on=(account_column, opportunity_column)."
    )


def _check_unique(accounts: pd.DataFrame, column: Hashable) -> None:
    keys = accounts[column]
    if keys.is_unique:
        return
    present = keys.dropna()
    dup = present[present.duplicated(keep=False)]
    if dup.empty:
        return  # only missing keys repeat; they match nothing
    counts = dup.value_counts(sort=False)
    shown = ", ".join(f"{k!r} ({n} rows)" for k, n in list(counts.items())[:10])
    more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
    cases = pd.DataFrame(
        {
            "schema_context": "Column",
            "column": str(column),
            "check": "field_uniqueness",
            "check_number": None,
            "failure_case": dup.astype(object).to_numpy(),
            "index": dup.index.to_numpy(),
        }
    )
    raise SchemaValidationError(
        f"The account frame has {len(counts)} duplicated key value(s) in {column!r}: "
        f"{shown}{more}. Each account must appear once to join its opportunities; drop the "
        "duplicates (e.g. accounts.drop_duplicates(subset=...)) or join on another key.",
        cases,
    )


def _merge(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_on: Hashable,
    right_on: Hashable,
    how: JoinHow,
    suffixes: tuple[str, str],
    opportunities_right: bool,
) -> tuple[pd.DataFrame, int]:
    """Merge so missing keys never match; return the frame and how many opportunities found
    their account."""
    lkey, rkey = left[left_on], right[right_on]
    fast = left_on != right_on and lkey.dtype == rkey.dtype and not (lkey.hasnans and rkey.hasnans)
    if fast:
        merged = left.merge(
            right, how=how, left_on=left_on, right_on=right_on, suffixes=suffixes, sort=False
        )
        matched = int((merged[left_on].notna() & merged[right_on].notna()).sum())
        return merged, matched
    if _TEMP_KEY in left.columns or _TEMP_KEY in right.columns:
        raise InvalidColumnsError(f"Rename the column {_TEMP_KEY!r} before joining.")
    accounts_key, opps_key = (lkey, rkey) if opportunities_right else (rkey, lkey)
    opp_codes = _positions(opps_key, accounts_key)  # the account row of each opportunity
    account_codes = np.where(accounts_key.isna(), -2, np.arange(len(accounts_key)))
    lcodes, rcodes = (
        (account_codes, opp_codes) if opportunities_right else (opp_codes, account_codes)
    )
    merged = left.assign(**{_TEMP_KEY: lcodes}).merge(
        right.assign(**{_TEMP_KEY: rcodes}), how=how, on=_TEMP_KEY, suffixes=suffixes, sort=False
    )
    del merged[_TEMP_KEY]
    return merged, int((opp_codes >= 0).sum())


def _positions(keys: pd.Series, targets: pd.Series) -> npt.NDArray[np.intp]:
    """For each key, the position of the equal value in ``targets`` (unique apart from
    missing values), -1 when there is none; a missing key matches nothing."""
    parts = [keys.reset_index(drop=True), targets.reset_index(drop=True)]
    if keys.dtype != targets.dtype:  # compare values, whatever their dtypes
        parts = [part.astype(object) for part in parts]
    both = pd.concat(parts, ignore_index=True)
    codes = np.asarray(pd.factorize(both)[0], dtype=np.intp)
    mine, theirs = codes[: len(keys)], codes[len(keys) :]
    lookup = np.full(int(codes.max(initial=-1)) + 2, -1, dtype=np.intp)
    present = theirs >= 0
    lookup[theirs[present]] = np.flatnonzero(present)
    return lookup[mine]  # -1 (missing) reads the last entry, which no code reaches


def _report_lost(
    missing: int, total: int, key: JoinKey, how: JoinHow, policy: OrphanPolicy
) -> None:
    """Warn when a roll-up could not keep opportunities that ``how`` promised to keep."""
    if missing == 0 or policy == "ignore" or how not in ("right", "outer"):
        return
    warnings.warn(
        f"{missing} of {total} opportunities have no {key.opportunity_column}, so the roll-up "
        f"has no account row to put them in: how={how!r} keeps every opportunity, but these "
        f"were left out of the result. Fill in their {key.opportunity_column}, or join without "
        "aggregate= to keep them as rows with empty account columns. "
        "Pass orphans='ignore' to silence this.",
        OrphanRowsWarning,
        stacklevel=find_stacklevel(),
    )


def _check_how(how: str) -> None:
    if how not in ("left", "inner", "right", "outer"):
        raise InvalidColumnsError(f"how must be 'left', 'inner', 'right' or 'outer', got {how!r}.")


def join_opportunities(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    how: JoinHow = "left",
    aggregate: AggregateSpec = None,
    *,
    on: tuple[Hashable, Hashable] | None = None,
    orphans: OrphanPolicy = "warn",
    currency: str | None = None,
    by_currency: bool = False,
) -> pd.DataFrame:
    """Opportunities joined onto their accounts (account columns first).

    The default (``how="left"``, no ``aggregate``) has one row per (account, opportunity)
    pair: each opportunity of an account in the frame once, plus one row with empty
    opportunity columns for each account without any; opportunities whose account is not
    in the frame (orphans) are left out. ``"inner"`` keeps the matched pairs only (exactly
    one row per matched opportunity); ``"right"`` and ``"outer"`` also keep orphans. For
    one row per account use ``aggregate=True``.
    Orphans are always counted in ``attrs["backstory"]["join"]["orphans"]``; they are what
    ``how`` says they are, so they are not warned about. A roll-up cannot keep opportunities
    without an account id (they have no account row), so ``how="right"`` / ``"outer"`` with
    ``aggregate`` warns with :class:`bspandas.OrphanRowsWarning` when there are any
    (``orphans="ignore"`` silences it). Duplicated account keys raise
    :class:`bspandas.SchemaValidationError` listing them. Same-named columns get
    ``_account`` / ``_opportunity`` suffixes. ``aggregate=True`` rolls the opportunities up
    to one row per account (see :func:`aggregate_opportunities`, which also explains
    ``currency=`` and ``by_currency=``; the money columns' currency is in
    ``attrs["backstory"]["money"]``); a dict of pandas named aggregations
    ``{name: (column, func)}`` rolls up with those instead.

    >>> accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A", "B"], dtype="string")})
    >>> opps = pd.DataFrame({"crm_account_id": pd.array(["A", "A"], dtype="string"),
    ...                      "crm_opportunity_id": pd.array(["o1", "o2"], dtype="string")})
    >>> join_opportunities(accounts, opps)["crm_opportunity_id"].tolist()
    ['o1', 'o2', <NA>]
    """
    _check_how(how)
    accounts = _as_flat(accounts, "account") if _is_pivoted(accounts) else accounts
    key = join_key(accounts, opportunities, on)
    _check_unique(accounts, key.account_column)
    if currency is not None and aggregate is not None and aggregate is not False:
        opportunities = _only_currency(
            opportunities, money_column(opportunities, currency=currency)
        )
    total = len(opportunities)
    opp_keys = opportunities[key.opportunity_column]
    missing = int(opp_keys.isna().sum())
    info: dict[str, Json] = {
        "how": how,
        "key": key.key,
        "on": [str(key.account_column), str(key.opportunity_column)],
    }
    if aggregate is not None and aggregate is not False:
        spec = None if aggregate is True else aggregate
        rolled, sizes = _rollup(
            opportunities,
            key.opportunity_column,
            spec,
            currency=currency,
            by_currency=by_currency,
        )
        out, matched = _join_rollup(accounts, rolled, sizes, key, how, spec is None)
        orphan_count = total - matched
        _report_lost(missing, total, key, how, orphans)
        info |= {"orphans": orphan_count, "aggregate": True if spec is None else list(spec)}
        extra: dict[str, Json] = {"join": info}
        recorded = _attrs(rolled).get("money")
        if recorded is not None:
            extra["money"] = recorded
        return _with_provenance(out, _attrs(accounts), "account", **extra)
    if currency is not None or by_currency:
        raise InvalidColumnsError(
            "currency= and by_currency= choose the money of a roll-up: pass them with "
            "aggregate=True (or filter the opportunities by their currency column first)."
        )
    merged, matched = _merge(
        accounts,
        opportunities,
        key.account_column,
        key.opportunity_column,
        how,
        ("_account", "_opportunity"),
        opportunities_right=True,
    )
    info["orphans"] = total - matched
    return _with_provenance(merged, _attrs(opportunities), "opportunity", join=info)


def join_account(
    opportunities: pd.DataFrame,
    accounts: pd.DataFrame,
    how: JoinHow = "left",
    *,
    on: tuple[Hashable, Hashable] | None = None,
    orphans: OrphanPolicy = "warn",
) -> pd.DataFrame:
    """The account's columns added to each opportunity (opportunity columns first).

    ``how="left"`` keeps every opportunity (orphans get empty account columns); ``"inner"``
    and ``"right"`` drop orphans, ``"right"`` and ``"outer"`` add accounts without
    opportunities. Keys, duplicate checks, the orphan count and suffixes as in
    :func:`join_opportunities` (no join here loses or invents rows, so none warns);
    ``on=(account_column, opportunity_column)``.

    >>> accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A"], dtype="string"),
    ...                          "industry": pd.array(["Retail"], dtype="string")})
    >>> opps = pd.DataFrame({"crm_account_id": pd.array(["A", "A"], dtype="string")})
    >>> join_account(opps, accounts)["industry"].tolist()
    ['Retail', 'Retail']
    """
    _check_how(how)
    accounts = _as_flat(accounts, "account") if _is_pivoted(accounts) else accounts
    key = join_key(accounts, opportunities, on)
    _check_unique(accounts, key.account_column)
    total = len(opportunities)
    merged, matched = _merge(
        opportunities,
        accounts,
        key.opportunity_column,
        key.account_column,
        how,
        ("_opportunity", "_account"),
        opportunities_right=False,
    )
    info: dict[str, Json] = {
        "how": how,
        "key": key.key,
        "on": [str(key.account_column), str(key.opportunity_column)],
        "orphans": total - matched,
    }
    return _with_provenance(merged, _attrs(opportunities), "opportunity", join=info)


# -- money and people --------------------------------------------------------------------------

#: ``Money.currency`` of the converted amount: the tenant's corporate currency.
CORPORATE = "corporate"
_NO_CODE = "no currency code"


@dataclass(frozen=True, slots=True)
class Money:
    """The amount column a sum over money adds up, and the currency it is in.

    ``currency`` is an ISO code, :data:`CORPORATE` (the converted amount), or ``None`` when
    nobody recorded it (a reference metric, a column the catalog does not know).
    ``currency_column`` holds each row's ISO code when the amount has one.
    """

    column: str
    currency: str | None
    currency_column: str | None = None

    @property
    def label(self) -> str:
        """``"corporate currency"``, ``"EUR"`` or ``"currency unknown"``, for axis labels."""
        if self.currency == CORPORATE:
            return "corporate currency"
        return self.currency or "currency unknown"


def _currency_part(column: str) -> tuple[str | None, str | None]:
    """Where the catalog says the currency of an opportunity amount column is."""
    metric = store.find(column, "opportunity")
    if metric is None or metric.currency is None:
        return None, None
    if metric.currency == CORPORATE:
        return CORPORATE, None
    return "row", f"{column}{metric.currency}"


def _codes_found(frame: pd.DataFrame, amount: str, codes: str) -> pd.Series:
    """How many rows with an amount each currency code has (most first; no code counted)."""
    values = frame[codes][frame[amount].notna()].astype("object")
    return values.where(values.notna(), _NO_CODE).value_counts(sort=True)


def money_column(
    frame: pd.DataFrame,
    amount: str | None = None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> Money:
    """The amount a sum over opportunity money may add up, checked for currencies.

    ``ootb_opportunity_converted_amount`` (the corporate currency) when the frame has it,
    else ``ootb_opportunity_amount`` when its ``_currency`` column holds one currency, else
    ``opportunity_value``. Several currencies raise :class:`bspandas.MixedCurrencyError`
    naming them. ``currency="EUR"`` (or ``by_currency=True``) picks the amount with a
    per-row currency column, so the caller can keep one currency (or split by currency);
    without a currency column ``currency=`` states what the amounts are in. ``amount=``
    picks the column (its currency is checked the same way).

    >>> opps = pd.DataFrame({"ootb_opportunity_amount": [10.0, 20.0],
    ...                      "ootb_opportunity_amount_currency": ["EUR", "EUR"]})
    >>> money_column(opps)
    Money(column='ootb_opportunity_amount', currency='EUR', \
currency_column='ootb_opportunity_amount_currency')
    """
    if amount is not None:
        if amount not in frame.columns:
            raise InvalidColumnsError(f"The frame has no amount column {amount!r}.")
        candidates: list[str] = [amount]
    else:
        candidates = [s for s in _AMOUNT_SLUGS if s in frame.columns]
        if not candidates:
            raise InvalidColumnsError(
                f"Summing money needs an amount: fetch {' or '.join(_AMOUNT_SLUGS)} with the "
                "opportunities."
            )
    if currency is not None or by_currency:
        asked = f"currency={currency!r}" if currency is not None else "by_currency=True"
        for column in candidates:
            where, codes = _currency_part(column)
            if where == "row" and codes in frame.columns:
                return Money(column, currency, codes)
        for column in candidates if currency is not None else ():
            where, codes = _currency_part(column)
            if where != CORPORATE:  # no codes in the frame: the caller says what these are in
                return Money(column, currency, None)
        raise InvalidColumnsError(
            f"{asked} needs amounts with their currency: fetch ootb_opportunity_amount (it "
            "comes with ootb_opportunity_amount_currency) and keep both columns."
        )
    for column in candidates:
        where, codes = _currency_part(column)
        if where == CORPORATE:
            return Money(column, CORPORATE)
        if where is None or codes is None:
            return Money(column, None)
        if codes not in frame.columns:
            raise InvalidColumnsError(
                f"Cannot tell the currency of {column!r}: its currency codes are in {codes!r}, "
                "which the frame lacks. Fetch ootb_opportunity_converted_amount (the corporate "
                f"currency), keep {codes!r}, or pass currency='USD' (the currency the amounts "
                "are in)."
            )
        found = _codes_found(frame, column, codes)
        if len(found) == 0:
            return Money(column, None, codes)
        if len(found) == 1 and found.index[0] != _NO_CODE:
            return Money(column, str(found.index[0]), codes)
        listed = ", ".join(f"{code} ({count} rows)" for code, count in found.items())
        first = next((str(c) for c in found.index if c != _NO_CODE), "EUR")
        raise MixedCurrencyError(
            f"{column!r} holds amounts in several currencies: {listed}. Adding them up would "
            "mix currencies. Fetch ootb_opportunity_converted_amount (the amount in the "
            "corporate currency) with the opportunities, or pass "
            f"currency={first!r} to roll up one currency, or by_currency=True for one column "
            "per currency.",
            [str(c) for c in found.index],
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _person_columns(frame: pd.DataFrame, person: Hashable) -> tuple[Hashable, Hashable | None]:
    """The id column and name column of a person reference (``ootb_opportunity_owner``,
    its ``_id`` or ``_name`` column)."""
    base = str(person).removesuffix("_id").removesuffix("_name")
    id_column, name_column = f"{base}_id", f"{base}_name"
    if id_column not in frame.columns:
        if person in frame.columns and not str(person).endswith("_name"):
            return person, None
        raise InvalidColumnsError(
            f"Grouping by person needs the id column {id_column!r} (names are not unique: two "
            f"people may share one). Fetch {base!r}: it gives both {id_column!r} and "
            f"{name_column!r}."
        )
    return id_column, name_column if name_column in frame.columns else None


def person_labels(frame: pd.DataFrame, person: Hashable = "ootb_opportunity_owner") -> pd.Series:
    """A display label for each person id in ``frame``: the name, with the id's last four
    digits (more if those are shared too) when another id in ``frame`` has the same name
    (``Kenji Kim (…1723)``). Labels are decided per frame: label the frame you group, or
    the full one it was filtered from so labels stay the same across its subsets.

    ``person`` is a person reference (``ootb_opportunity_owner``) or its ``_id`` column;
    the result is indexed by id (missing ids left out). Group by the id column, then
    ``.rename(index=labels)`` or ``.map(labels)`` to show names.

    >>> owners = pd.DataFrame({"ootb_opportunity_owner_id": [11723, 25501, 37],
    ...                        "ootb_opportunity_owner_name": ["Kenji Kim", "Kenji Kim", "Ana"]})
    >>> person_labels(owners).tolist()
    ['Kenji Kim (…1723)', 'Kenji Kim (…5501)', 'Ana']
    """
    id_column, name_column = _person_columns(frame, person)
    ids = frame[id_column]
    names = frame[name_column] if name_column is not None else pd.Series(pd.NA, index=frame.index)
    pairs = pd.DataFrame({"id": ids.astype("object"), "name": names.astype("object")})
    pairs = pairs[pairs["id"].notna()].drop_duplicates("id")
    text_ids = pairs["id"].map(str)
    shown = pairs["name"].where(pairs["name"].notna(), None)
    shared = shown.notna() & shown.duplicated(keep=False)
    labels: list[str] = []
    for key, name, twin in zip(text_ids, shown, shared, strict=True):
        if name is None:
            labels.append(f"id {key}")
            continue
        if not twin:
            labels.append(str(name))
            continue
        twins = text_ids[shown == name].tolist()
        digits = 4
        while digits < len(key) and len({t[-digits:] for t in twins}) < len(twins):
            digits += 1
        labels.append(f"{name} (…{key[-digits:]})")
    return pd.Series(labels, index=pd.Index(pairs["id"].tolist(), name=id_column), dtype="string")


# -- aggregation -----------------------------------------------------------------------------


def _find(frame: pd.DataFrame, slugs: Sequence[str]) -> str | None:
    return next((s for s in slugs if s in frame.columns), None)


def _need(what: str, slugs: Sequence[str]) -> InvalidColumnsError:
    return InvalidColumnsError(
        f"The standard roll-up needs {what}: fetch {' or '.join(slugs)} with the opportunities "
        "(or pass aggregate={name: (column, func)})."
    )


def aggregate_opportunities(
    opportunities: pd.DataFrame,
    by: Hashable,
    spec: Mapping[str, tuple[str, str | Callable[..., Any]]] | None = None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> pd.DataFrame:
    """Opportunities rolled up per value of column ``by`` (rows without one are left out).

    The standard roll-up (``spec=None``): ``opportunity_count``, ``pipeline_total`` (sum of
    amounts), ``open_count``/``open_value``, ``won_count``/``won_value``,
    ``lost_count``/``lost_value`` and ``weighted_pipeline`` (open amounts times the stage
    probability / 100). The amount is chosen by :func:`money_column`:
    ``ootb_opportunity_converted_amount`` (the corporate currency) when present, else
    ``ootb_opportunity_amount`` when it is in one currency, else ``opportunity_value``;
    several currencies raise :class:`bspandas.MixedCurrencyError`. ``currency="EUR"`` rolls
    up the opportunities in that currency only; ``by_currency=True`` gives one value column
    per currency (``open_value_EUR``...; counts stay totals). The currency of every money
    column is in ``attrs["backstory"]["money"]``. Open, won and lost come from
    ``ootb_opportunity_is_closed`` / ``ootb_opportunity_is_won``, else from the stage
    (``Closed Won`` / ``Closed Lost``; any other stage is open; no stage, no status). The
    probability is ``ootb_stage_probability``, else (also for its missing values)
    :data:`DEFAULT_STAGE_PROBABILITY` of the stage. Missing amounts count as 0. ``spec``
    replaces it all with pandas named aggregations ``{name: (column, func)}``
    (``currency=`` still keeps only that currency's rows).

    >>> opps = pd.DataFrame({
    ...     "crm_account_id": pd.array(["A", "A", "B"], dtype="string"),
    ...     "ootb_opportunity_amount": pd.array([100.0, 50.0, 10.0], dtype="Float64"),
    ...     "ootb_opportunity_amount_currency": ["EUR", "EUR", "EUR"],
    ...     "ootb_opportunity_stage": ["Proposal", "Closed Won", "Closed Lost"],
    ... })
    >>> rolled = aggregate_opportunities(opps, "crm_account_id")
    >>> rolled.index.tolist(), rolled["opportunity_count"].tolist()
    (['A', 'B'], [2, 1])
    >>> rolled["won_value"].tolist(), rolled["weighted_pipeline"].tolist()
    ([50.0, 0.0], [50.0, 0.0])
    >>> rolled.attrs["backstory"]["money"]["currency"]
    'EUR'
    """
    return _rollup(opportunities, by, spec, currency=currency, by_currency=by_currency)[0]


_VALUE_COLUMNS = ("pipeline_total", "open_value", "won_value", "lost_value", "weighted_pipeline")


def _only_currency(opportunities: pd.DataFrame, money: Money) -> pd.DataFrame:
    """The rows in ``money.currency`` (all rows when no column says the currency)."""
    if money.currency_column is None or money.currency is None:
        return opportunities
    codes = opportunities[money.currency_column].astype("object")
    return opportunities[(codes == money.currency).to_numpy(dtype=bool, na_value=False)]


def _rollup(
    opportunities: pd.DataFrame,
    by: Hashable,
    spec: Mapping[str, tuple[str, str | Callable[..., Any]]] | None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """The roll-up and the number of opportunities in each of its rows."""
    if by not in opportunities.columns:
        raise InvalidColumnsError(f"The opportunity frame has no column {by!r} to group by.")
    if currency is not None and by_currency:
        raise InvalidColumnsError(
            "Pass currency='EUR' (one currency) or by_currency=True (one column per "
            "currency), not both."
        )
    if spec is not None:
        if by_currency:
            raise InvalidColumnsError(
                "by_currency=True works with the standard roll-up (aggregate=True); with your "
                "own aggregations group by the currency column yourself."
            )
        wrong = [
            name
            for name, item in spec.items()
            if not (isinstance(item, tuple) and len(item) == 2 and item[0] in opportunities)
        ]
        if wrong or not spec:
            raise InvalidColumnsError(
                "aggregate= must map result names to (column, function) pairs over opportunity "
                f"columns, e.g. {{'n': ('crm_opportunity_id', 'count')}}; wrong: {wrong}."
            )
        if currency is not None:
            opportunities = _only_currency(
                opportunities, money_column(opportunities, currency=currency)
            )
        grouped = opportunities.groupby(opportunities[by], sort=False, observed=True, dropna=True)
        return grouped.agg(**dict(spec)), grouped.size()
    money = money_column(opportunities, currency=currency, by_currency=by_currency)
    if currency is not None:
        opportunities = _only_currency(opportunities, money)
    stage_column = _find(opportunities, _STAGE_SLUGS)
    stage = _stage_arrays(opportunities[stage_column]) if stage_column is not None else None
    is_open, is_won, is_lost = _status(opportunities, stage)
    raw_amount = opportunities[money.column]
    backend: Backend = (
        "pyarrow" if isinstance(raw_amount.dtype, pd.ArrowDtype) else "numpy_nullable"
    )
    amount = np.nan_to_num(_floats(raw_amount))  # a missing amount counts as 0
    weighted = amount * np.nan_to_num(_probability(opportunities, stage)) / 100.0
    values = {
        "pipeline_total": amount,
        "open_value": amount * is_open,
        "won_value": amount * is_won,
        "lost_value": amount * is_lost,
        "weighted_pipeline": weighted * is_open,
    }
    counts = {"open_count": is_open, "won_count": is_won, "lost_count": is_lost}
    order = ["pipeline_total", "open_count", "open_value", "won_count", "won_value"]
    order += ["lost_count", "lost_value", "weighted_pipeline"]
    data: dict[str, Any] = {}
    currencies: dict[str, str | None] = {}
    if by_currency:
        codes = _split_codes(opportunities, money)
        for name in order:
            if name in counts:
                data[name] = counts[name]
                continue
            for code in sorted(set(codes.tolist()) - {None}):
                data[f"{name}_{code}"] = values[name] * (codes == code)
                currencies[f"{name}_{code}"] = str(code)
    else:
        for name in order:
            data[name] = counts[name] if name in counts else values[name]
        currencies = dict.fromkeys(_VALUE_COLUMNS, money.currency)
    work = pd.DataFrame(data, index=opportunities.index, copy=False)
    grouped = work.groupby(opportunities[by], sort=False, observed=True, dropna=True)
    sums = grouped.sum()
    sizes = grouped.size()
    sums.insert(0, "opportunity_count", sizes)
    money_dtype = dtype_for("money", backend=backend)
    count = dtype_for("count", backend=backend)
    dtypes = {c: count if c.endswith("_count") else money_dtype for c in sums.columns}
    out = sums.astype(dtypes)
    out.attrs = {
        "backstory": {
            "money": {
                "amount": str(money.column),
                "currency": "by_currency" if by_currency else money.currency,
                "columns": currencies,
            }
        }
    }
    return out, sizes


def _split_codes(opportunities: pd.DataFrame, money: Money) -> npt.NDArray[np.object_]:
    """Each row's currency code for ``by_currency=True`` (``None`` where the row has no
    amount); an amount without a code is an error, never dropped."""
    if money.currency_column is None:  # pragma: no cover - money_column always sets it here
        raise InvalidColumnsError("by_currency=True needs a currency column.")
    codes = opportunities[money.currency_column].astype("object")
    has_amount = opportunities[money.column].notna()
    lost = has_amount & codes.isna()
    if lost.any():
        raise InvalidColumnsError(
            f"{int(lost.sum())} opportunities have an amount but no currency code in "
            f"{money.currency_column!r}; by_currency=True cannot place them. Fetch "
            "ootb_opportunity_converted_amount instead."
        )
    kept = codes.where(has_amount & codes.notna(), None)
    return np.asarray(kept.to_numpy(dtype=object), dtype=object)


BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _floats(values: pd.Series) -> npt.NDArray[np.float64]:
    return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _flags(values: pd.Series) -> tuple[BoolArray, BoolArray]:
    """A boolean column as (value, known) numpy arrays."""
    known = np.asarray(values.notna(), dtype=bool)
    value = np.asarray(values.to_numpy(dtype=object, na_value=False), dtype=bool) & known
    return value, known


@dataclass(frozen=True, slots=True)
class _Stage:
    """Per opportunity: whether the stage is known, won, lost, and its default probability."""

    known: BoolArray
    won: BoolArray
    lost: BoolArray
    probability: npt.NDArray[np.float64]


def _stage_arrays(stage: pd.Series) -> _Stage:
    """Stage facts looked up once per distinct stage (a categorical is not even hashed)."""
    codes, uniques = pd.factorize(stage)
    names = [str(u) for u in uniques]
    won = np.array([n == "Closed Won" for n in names] + [False], dtype=bool)
    lost = np.array([n == "Closed Lost" for n in names] + [False], dtype=bool)
    chance = [DEFAULT_STAGE_PROBABILITY.get(n, np.nan) for n in names] + [np.nan]
    probability = np.array(chance, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.intp)  # -1 (missing) picks the last, neutral entry
    return _Stage(codes >= 0, won[codes], lost[codes], probability[codes])


def _status(opps: pd.DataFrame, stage: _Stage | None) -> tuple[BoolArray, BoolArray, BoolArray]:
    """Open, won and lost per opportunity (unknown status counts as none of them)."""
    if _CLOSED_SLUG in opps.columns:
        closed, closed_known = _flags(opps[_CLOSED_SLUG])
        if _WON_SLUG in opps.columns:
            won, won_known = _flags(opps[_WON_SLUG])
        elif stage is not None:
            won, won_known = stage.won, stage.known
        else:
            raise _need("won/lost status", (_WON_SLUG, *_STAGE_SLUGS))
        return closed_known & ~closed, closed & won, closed & won_known & ~won
    if stage is None:
        raise _need("open/won/lost status", (_CLOSED_SLUG, *_STAGE_SLUGS))
    return stage.known & ~(stage.won | stage.lost), stage.won, stage.lost


def _probability(opps: pd.DataFrame, stage: _Stage | None) -> npt.NDArray[np.float64]:
    """The stage probability (percent) per opportunity, NaN where unknown."""
    if _PROBABILITY_SLUG in opps.columns:
        given = _floats(opps[_PROBABILITY_SLUG])
        if stage is None:
            return given
        return np.where(np.isnan(given), stage.probability, given)
    if stage is None:
        raise _need("stage probabilities", (_PROBABILITY_SLUG, *_STAGE_SLUGS))
    return stage.probability


def _take(frame: pd.DataFrame, positions: npt.NDArray[np.intp]) -> pd.DataFrame:
    """Rows by position, with empty rows where the position is -1 (dtypes kept where they
    can hold missing values, as in a merge)."""
    if not len(positions) or positions.min() >= 0:
        return frame.take(positions).reset_index(drop=True)
    arrays: dict[int, Any] = {}
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if isinstance(column.dtype, np.dtype):
            arrays[i] = pd.api.extensions.take(column.to_numpy(), positions, allow_fill=True)
        else:
            arrays[i] = column.array.take(positions, allow_fill=True)
    out = pd.DataFrame(arrays, copy=False)
    out.columns = frame.columns
    return out


def _join_rollup(
    accounts: pd.DataFrame,
    rolled: pd.DataFrame,
    sizes: pd.Series,
    key: JoinKey,
    how: JoinHow,
    standard: bool,
) -> tuple[pd.DataFrame, int]:
    """Accounts with their roll-up row (the roll-up has one row per key, so this is a
    lookup, not a merge); returns the frame and how many opportunities matched."""
    column = key.account_column
    account_keys = accounts[column]
    groups = rolled.index
    if groups.dtype != account_keys.dtype:
        try:
            groups = groups.astype(account_keys.dtype)
        except (TypeError, ValueError) as error:
            raise InvalidColumnsError(
                f"Cannot match {key.opportunity_column} ({groups.dtype}) with {column} "
                f"({account_keys.dtype}): {error}"
            ) from None
    found = _positions(account_keys, pd.Series(groups))
    hit = found >= 0
    matched = int(np.asarray(sizes)[found[hit]].sum())
    right = rolled.reset_index(drop=True)
    clash = [c for c in right.columns if c in accounts.columns]
    if clash:
        right = right.rename(columns={c: f"{c}_opportunity" for c in clash})
    seen = np.zeros(len(right), dtype=bool)
    seen[found[hit]] = True
    orphan_groups = np.flatnonzero(~seen)
    if how == "left":
        left, picks, index = accounts, found, accounts.index
    elif how == "inner":
        rows = np.flatnonzero(hit)
        left, picks, index = accounts.iloc[rows], found[rows], accounts.index[rows]
    else:
        if how == "right":
            owner = np.full(len(right), -1, dtype=np.intp)
            owner[found[hit]] = np.flatnonzero(hit)
            picks = np.arange(len(right), dtype=np.intp)
        else:
            owner = np.r_[np.arange(len(accounts)), np.full(len(orphan_groups), -1)]
            picks = np.r_[found, orphan_groups].astype(np.intp)
        left = _take(accounts, owner.astype(np.intp))
        index = left.index
        keys = pd.Series(groups.take(np.maximum(picks, 0)), index=index)
        left[column] = left[column].mask(pd.Series(owner < 0, index=index), keys)
    taken = _take(right, picks)
    if standard and (picks < 0).any():
        taken = taken.fillna(dict.fromkeys(taken.columns, 0))
    taken.index = index
    left = left.set_axis(index, axis=0) if left.index is not index else left
    return pd.concat([left, taken], axis=1), matched
