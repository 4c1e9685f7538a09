"""One mapping from catalog types to pandas dtypes, for both dtype backends.

Dates are midnight UTC timestamps in both backends, so they compare with timestamps (and
with each other across backends) without time-zone errors, and sentinel dates such as
9999-12-31 fit (millisecond resolution). Compare them with values that carry their time
zone: ``pd.Timestamp("2026-01-02", tz="UTC")`` or, in ``DataFrame.query``,
``'2026-01-02T00:00:00Z'`` (pandas refuses a naive ``'2026-01-02'`` on a UTC column, while
``read_query``'s ``where=`` takes naive values as UTC). Durations are nanosecond
timedeltas, the resolution pandera validates. Lists are Arrow lists in both backends (numpy
has no list type; Python lists in an object column would be slow and untyped); use the
``.list`` accessor or ``explode()`` (its results are Arrow-backed: in the default backend
convert them, e.g. ``.list.len().astype("Int64")``, before combining them with other masks).
Every other column's comparisons give ``boolean`` or numpy ``bool`` masks in the default
backend and ``bool[pyarrow]`` in the pyarrow one, so ``& | ~`` combine any two of them.

``TABLE`` is the single source: the parser, the pandera schemas and the README's type table
(``dtype_table_markdown()``, kept equal by a test) all read it. Enumerations become
``category`` with the catalog's values as categories (values outside the list are kept and
reported, never turned into missing values); with ``dtype_backend="pyarrow"`` they stay
Arrow strings, checked by the schema.

>>> from bspandas._io.dtypes import dtype_for
>>> str(dtype_for("count"))
'Int64'
>>> str(dtype_for("timestamp", backend="pyarrow"))
'timestamp[ms, tz=UTC][pyarrow]'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import pandas as pd
import pyarrow as pa

__all__ = [
    "TABLE",
    "TEXT_DTYPE",
    "Backend",
    "arrow_read_type",
    "dtype_for",
    "dtype_table_markdown",
]

Backend = Literal["numpy_nullable", "pyarrow"]
BACKENDS: tuple[str, ...] = get_args(Backend)

_STRING = pa.string()
# Dates are timestamps at midnight UTC in both backends: an Arrow date32 compares with
# ``datetime.date`` only, so the two backends' date columns would not take the same values.
_UTC_MS = pa.timestamp("ms", tz="UTC")

#: The text dtype of the default backend. Comparisons of every column of a frame must give
#: masks that combine with ``& | ~``: ``boolean`` (NA-aware) or numpy ``bool``. pandas 3's
#: Arrow-backed ``StringDtype`` compares to ``bool[pyarrow]``, and ``boolean & bool[pyarrow]``
#: raises "boolean value of NA is ambiguous"; its Python-backed one compares to ``boolean``,
#: like every ``StringDtype`` of pandas 2.
TEXT_DTYPE = (
    pd.StringDtype("python") if int(pd.__version__.split(".")[0]) >= 3 else pd.StringDtype()
)

# type -> (numpy_nullable dtype, pyarrow type, how the API writes a cell)
TABLE: dict[str, tuple[Any, pa.DataType, str]] = {
    "text": (TEXT_DTYPE, _STRING, "plain text, RFC 4180 quoted"),
    "id": (TEXT_DTYPE, _STRING, "CRM id such as 0011234567890AB"),
    "internal_id": ("Int64", pa.int64(), "long integer"),
    "count": ("Int64", pa.int64(), "integer"),
    "number": ("Float64", pa.float64(), "decimal number"),
    "score": ("Float64", pa.float64(), "number, usually 0-100"),
    "percentage": ("Float64", pa.float64(), "number, 0-100"),
    "money": ("Float64", pa.float64(), "plain number; currency in its own column"),
    "boolean": ("boolean", pa.bool_(), "True / False"),
    "date": ("datetime64[ms, UTC]", _UTC_MS, "2024-12-31"),
    "timestamp": ("datetime64[ms, UTC]", _UTC_MS, "2026-06-30 14:00:00+00:00"),
    "duration": ("timedelta64[ns]", pa.duration("s"), "H:MM:SS, hours may pass 24"),
    "enumeration": ("category", _STRING, "one of the catalog's values"),
    "list": (pd.ArrowDtype(pa.list_(_STRING)), pa.list_(_STRING), "[a;b;c]"),
}

# How each type is read from the CSV before conversion. Numbers, dates and timestamps are
# read as text and converted column-wise with vectorised casts: dates come as ``2024-12-31``
# or ``2024-12-31 00:00:00+00:00``, and a column whose cells do not convert is kept as text
# from the bytes already parsed (no second download), for validation to report.
_READ_AS: dict[str, pa.DataType] = {
    "internal_id": _STRING,
    "count": _STRING,
    "number": _STRING,
    "score": _STRING,
    "percentage": _STRING,
    "money": _STRING,
    "date": _STRING,
    "timestamp": _STRING,
    "duration": _STRING,
    "list": _STRING,
    "enumeration": _STRING,
}


def _check(type: str) -> None:
    if type not in TABLE:
        raise ValueError(f"unknown catalog type {type!r}; known: {', '.join(TABLE)}")


def arrow_read_type(type: str) -> pa.DataType:
    """The Arrow type a CSV column of this catalog type is parsed as."""
    _check(type)
    return _READ_AS.get(type, TABLE[type][1])


def dtype_for(
    type: str,
    *,
    backend: Backend = "numpy_nullable",
    values: Sequence[str] = (),
    ordered: bool = False,
) -> Any:
    """The pandas dtype of a catalog type (enumerations get their categories)."""
    _check(type)
    if backend not in BACKENDS:
        raise ValueError(f"dtype_backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "pyarrow":
        return pd.ArrowDtype(TABLE[type][1])
    if type == "enumeration":
        return pd.CategoricalDtype(list(values), ordered=ordered)
    return pd.api.types.pandas_dtype(TABLE[type][0])


def dtype_table_markdown() -> str:
    """The type table as Markdown (the README embeds it; a test keeps them equal)."""
    lines = [
        "| catalog type | `numpy_nullable` (default) | `pyarrow` | CSV cell |",
        "|---|---|---|---|",
    ]
    for name, (numpy_dtype, arrow_type, cell) in TABLE.items():
        numpy_text = str(pd.api.types.pandas_dtype(numpy_dtype))
        lines.append(f"| {name} | `{numpy_text}` | `{pd.ArrowDtype(arrow_type)}` | {cell} |")
    return "\n".join(lines)
