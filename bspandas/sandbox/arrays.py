"""Canonical Arrow arrays: the one Arrow type per catalog part type that every served
column has, and the builders the metric rules use to make them.

>>> ints(np.array([1, 2]), np.array([False, True])).to_pylist()
[1, None]
>>> coerce("count", pa.array([1.0, 2.0])).type
DataType(int64)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bspandas.sandbox.tenant.columns import take

__all__ = [
    "Arr",
    "Values",
    "bools",
    "canonical_type",
    "coerce",
    "dates",
    "floats",
    "ints",
    "ratio",
    "stamps",
    "texts",
]

Arr = npt.NDArray[Any]
Values = tuple[Any, ...]


def _mask(missing: Arr | None) -> Arr | None:
    return None if missing is None or not missing.any() else missing


def ints(values: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(missing))


def floats(values: Arr, decimals: int = 2) -> Any:
    data = np.round(np.asarray(values, dtype=np.float64), decimals)
    return pa.array(data, pa.float64(), from_pandas=True)


def bools(values: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=_mask(missing))


def dates(days: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=_mask(missing))


def stamps(seconds: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"), mask=_mask(missing))


def _pool(values: tuple[str, ...]) -> Any:
    return pa.array(list(values), pa.string())


def texts(pool: tuple[str, ...], codes: Arr) -> Any:
    return take(_pool(pool), codes)


def ratio(num: Arr, den: Arr, cap: float | None = None) -> Arr:
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1), np.nan)
    return np.minimum(value, cap) if cap is not None else value


_CANON = {
    "text": pa.string(),
    "id": pa.string(),
    "enumeration": pa.string(),
    "internal_id": pa.int64(),
    "count": pa.int64(),
    "duration": pa.int64(),
    "number": pa.float64(),
    "score": pa.float64(),
    "percentage": pa.float64(),
    "money": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "list": pa.list_(pa.string()),
}


def canonical_type(part_type: str) -> Any:
    """The Arrow type the engine uses for a catalog part type."""
    return _CANON[part_type]


def coerce(part_type: str, array: Any) -> Any:
    """``array`` (an Arrow array a rule returned) in the canonical type of ``part_type``."""
    target = _CANON[part_type]
    if not isinstance(array, pa.Array | pa.ChunkedArray):
        raise TypeError(f"rule returned {type(array).__name__}, not an Arrow array")
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != target:
        array = array.cast(target)
    return array
