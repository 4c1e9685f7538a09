"""A stored table (catalog Arrow types) back to the frame ``read_query`` gives.

This is a second Arrow-to-pandas mapping beside ``bspandas._io``'s ``to_frame``, which
parses the CSV's text columns. On a stored table that one would differ: it leaves a
``duration[s]`` column as ``timedelta64[s]`` (here ``[ns]``, as ``read_query`` gives), keeps
Parquet's ``list<element: string>`` field name, needs every output in the table (here any
subset, in the table's order) and does not normalise ``date32`` or non-ms timestamps that
other engines write. One mapping would take a table already in the catalog's storage types
and do only the pandas step; the CSV parser and this module would each bring their columns
to those types first.

>>> import pyarrow as pa
>>> from bspandas.query.builder import Query
>>> outputs = Query("account", ["ootb_account_name"]).outputs()
>>> frame = table_to_frame(pa.table({"ootb_account_name": ["Acme"]}), outputs, "numpy_nullable")
>>> frame["ootb_account_name"].dtype == "string"
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas._io.dtypes import TEXT_DTYPE, Backend, dtype_for
from bspandas.catalog.resolve import Output

__all__: list[str] = []


def _numpy_type(arrow_type: pa.DataType) -> Any:
    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): TEXT_DTYPE,
        pa.large_string(): TEXT_DTYPE,
    }
    return mapping.get(arrow_type)


def table_to_frame(
    table: pa.Table, outputs: Sequence[Output], dtype_backend: Backend
) -> pd.DataFrame:
    """A stored table (catalog Arrow types) as the frame ``read_query`` gives."""
    by_name = {o.name: o for o in outputs}
    if dtype_backend == "pyarrow":
        arrow_frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return arrow_frame
    arrays = []
    for name in table.column_names:
        column = table.column(name)
        output = by_name.get(name)
        kind = None if output is None else output.part.type
        if kind == "date" or (kind == "timestamp" and column.type != pa.timestamp("ms", tz="UTC")):
            column = pc.cast(pc.cast(column, pa.timestamp("ms")), pa.timestamp("ms", tz="UTC"))
        elif kind == "duration":
            column = pc.cast(column, pa.duration("ns"))
        arrays.append(column)
    table = pa.table(arrays, names=table.column_names)
    frame: pd.DataFrame = table.to_pandas(types_mapper=_numpy_type)
    for name in frame.columns:
        output = by_name.get(name)
        if output is None:
            continue
        if output.part.type == "enumeration":
            values = list(output.part.values or output.column.metric.values)
            present = set(frame[name].dropna().unique().tolist())
            extra = sorted(str(v) for v in present if v not in set(values))
            frame[name] = frame[name].astype(
                dtype_for(
                    "enumeration", values=values + extra, ordered=output.column.metric.ordered
                )
            )
        elif output.part.type == "list":
            frame[name] = frame[name].astype(dtype_for("list"))
    return frame
