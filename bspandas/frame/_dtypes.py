"""The dtypes of reshaped columns: exact JSON round trips through ``attrs`` (so an unmelt
restores them) and one common dtype for a column that holds several metrics.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bspandas.frame._provenance import Json


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
