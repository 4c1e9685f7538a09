"""Arrow columns to pandas columns with the catalog's dtypes.

Numbers, dates, timestamps, durations and lists arrive as text and are cast column-wise
with vectorised Arrow compute; a column whose cells do not convert can stay text (no value
lost, validation reports it). Enumerations become categories: the catalog's values first,
values outside the catalog kept as extra categories. :func:`to_frame` takes a whole Arrow
table whose columns are named by output.

>>> import pyarrow as pa
>>> from bspandas.catalog import resolve
>>> outputs = resolve(["ootb_opportunity_amount"], "opportunity")[0].outputs()
>>> table = pa.table({"ootb_opportunity_amount": ["12.5", None],
...                   "ootb_opportunity_amount_currency": ["EUR", "USD"]})
>>> to_frame(table, outputs).dtypes.astype(str).tolist()
['Float64', 'string']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas._exceptions import ConversionError
from bspandas._io.dtypes import TEXT_DTYPE, Backend, arrow_read_type, dtype_for
from bspandas._io.pool import read_pool
from bspandas.catalog.resolve import Output

__all__ = ["empty_frame", "to_frame", "unify_categories"]


_HMS = r"^\d+:\d\d:\d\d$"


def _parse_duration(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """``H:MM:SS`` (hours may pass 24, optional ``-``) to ``duration[s]``.

    The common form is read by position (the last five characters are ``MM:SS``); anything
    else (a sign, spaces, short fields) goes through the general parser.
    """
    regular = pc.match_substring_regex(array, _HMS)
    if pc.all(regular, skip_nulls=True).as_py() is not False:
        hours = pc.cast(pc.utf8_slice_codeunits(array, 0, -6), pa.int64())
        minutes = pc.cast(pc.utf8_slice_codeunits(array, -5, -3), pa.int64())
        seconds = pc.cast(pc.utf8_slice_codeunits(array, -2), pa.int64())
        total = pc.add(pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)), seconds)
        return pc.cast(total, pa.duration("s"))
    return _parse_duration_general(array)


def _parse_duration_general(array: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(array)
    negative = pc.starts_with(text, "-")
    parts = pc.split_pattern(pc.replace_substring(text, "-", ""), ":")
    seconds = None
    for index, factor in ((0, 3600), (1, 60), (2, 1)):
        piece = pc.cast(pc.list_element(parts, index), pa.int64())
        term = pc.multiply(piece, factor)
        seconds = term if seconds is None else pc.add(seconds, term)
    signed = pc.if_else(negative, pc.negate(seconds), seconds)
    return pc.cast(signed, pa.duration("s"))


def _parse_list(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """``[a;b;c]`` to ``list<string>`` (``[]`` is an empty list)."""
    inner = pc.utf8_slice_codeunits(array, 1, -1)
    split = pc.split_pattern(inner, ";")
    empty = pc.equal(inner, "")
    return pc.if_else(empty, pa.scalar([], type=pa.list_(pa.string())), split)


_SLOW = frozenset({"duration", "list", "date", "timestamp", "enumeration"})
#: Types read as text and cast here: a column whose cells do not convert stays text.
_CAST = {
    "internal_id": pa.int64(),
    "count": pa.int64(),
    "number": pa.float64(),
    "score": pa.float64(),
    "percentage": pa.float64(),
    "money": pa.float64(),
}
_UTC = pa.timestamp("ms", tz="UTC")
_NAIVE = pa.timestamp("ms")
_FIELD_SUFFIX = "+00:00"
_ZONE = r"(?:Z|[+-]\d\d:?\d\d)$"


def _parse_when(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates and timestamps as the API writes them (``2024-12-31``,
    ``2024-12-31 00:00:00+00:00``, ``2026-06-30 14:00:00+00:00``), mixed freely, to
    ``timestamp[ms, UTC]`` with vectorised casts. Cells without a zone are UTC. Raises
    ``ArrowInvalid`` when a cell is neither."""
    if array.null_count == len(array):
        return pa.chunked_array([pa.nulls(len(array), _UTC)], type=_UTC)
    if pc.all(pc.ends_with(array, _FIELD_SUFFIX), skip_nulls=True).as_py() is not False:
        # the field's form: drop the constant "+00:00" and read the rest as UTC
        naive = pc.utf8_slice_codeunits(array, 0, -len(_FIELD_SUFFIX))
        return pc.cast(pc.cast(naive, _NAIVE), _UTC)
    zoned = pc.match_substring_regex(array, _ZONE)
    if pc.any(zoned, skip_nulls=True).as_py() is not True:
        return pc.cast(pc.cast(array, _NAIVE), _UTC)
    null = pa.scalar(None, pa.string())
    with_zone = pc.cast(pc.if_else(zoned, array, null), _UTC)
    without = pc.cast(pc.cast(pc.if_else(zoned, null, array), _NAIVE), _UTC)
    return pc.coalesce(with_zone, without)


_NULLABLE: dict[pa.DataType, Any] = {
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _numpy_mapper(kind: pa.DataType) -> Any:
    if kind in _NULLABLE:
        return _NULLABLE[kind]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return TEXT_DTYPE
    if pa.types.is_list(kind):
        return pd.ArrowDtype(kind)
    return None


def to_frame(
    table: pa.Table,
    outputs: Sequence[Output],
    *,
    dtype_backend: Backend = "numpy_nullable",
    as_text: frozenset[str] = frozenset(),
    kept_as_text: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Turn a parsed table (columns named by output) into a frame with catalog dtypes.

    ``table`` is a whole Arrow table (any number of chunks) holding one column per output,
    named by :attr:`Output.name`, as read from the CSV (:func:`arrow_read_type`): text for
    the types converted here. A number, date, timestamp, duration or list column whose cells
    do not convert raises :class:`ConversionError`; or, when ``kept_as_text`` is a dict,
    stays text (so no value is lost and validation reports it) and is recorded there as
    ``{name: reason}``.
    """
    enumerations = {
        o.name: o
        for o in outputs
        if o.part.type == "enumeration"
        and dtype_backend == "numpy_nullable"
        and o.name not in as_text
    }
    # the converter takes the columns and the table goes: each Arrow column is let go as
    # soon as its converted form exists, when the caller handed over its table
    step = _Converter(
        {name: table.column(name) for name in table.column_names},
        dtype_backend,
        as_text,
        frozenset(enumerations),
        kept_as_text,
    )
    rows = table.num_rows
    del table
    slow = [o for o in outputs if o.part.type in _SLOW and o.name not in as_text]
    if len(slow) > 1 and rows > 100_000:
        # Arrow compute releases the GIL: parse the costly columns side by side
        with ThreadPoolExecutor(max_workers=min(len(slow), os.cpu_count() or 1)) as pool:
            done = dict(zip([o.name for o in slow], pool.map(step, slow), strict=True))
    else:
        done = {o.name: step(o) for o in slow}
    names = [o.name for o in outputs]
    arrays = [done.pop(o.name) if o.name in done else step(o) for o in outputs]
    if dtype_backend == "pyarrow":
        converted = pa.table(arrays, names=names)
        del arrays  # self_destruct frees each column once converted: nothing else holds it
        arrow_frame: pd.DataFrame = converted.to_pandas(
            types_mapper=pd.ArrowDtype,
            split_blocks=True,
            self_destruct=True,
            memory_pool=read_pool(),
        )
        return arrow_frame
    frame = _numpy_frame(arrays, names, [o.part.type == "text" for o in outputs])
    for name, output in enumerations.items():
        frame[name] = _categorical(frame[name], output)
    return frame


def _numpy_frame(
    arrays: list[pa.ChunkedArray], names: list[str], plain_text: list[bool]
) -> pd.DataFrame:
    """The converted columns as a frame of the default backend; takes ``arrays`` over.

    Plain text columns with repeated values (names, currencies) become strings that share
    one Python object per distinct value (:func:`_shared_text`): faster to build and a
    fraction of the memory. Every other column goes through ``to_pandas``, which frees each
    Arrow column once converted (nothing else may hold it then).
    """
    texts: dict[str, Any] = {}
    rows = len(arrays[0]) if arrays else 0
    for index, name in enumerate(names):
        if plain_text[index] and pa.types.is_string(arrays[index].type):
            shared = _shared_text(arrays[index])
            if shared is not None:
                texts[name] = shared
    rest = pa.table(
        [a for a, n in zip(arrays, names, strict=True) if n not in texts],
        names=[n for n in names if n not in texts],
    )
    arrays.clear()
    frame: pd.DataFrame = rest.to_pandas(
        types_mapper=_numpy_mapper,
        split_blocks=True,
        self_destruct=True,
        memory_pool=read_pool(),
    )
    del rest
    if not texts:
        return frame
    columns = {n: texts.pop(n) if n in texts else frame[n] for n in names}
    return pd.DataFrame(columns, index=pd.RangeIndex(rows), copy=False)


_SAMPLE = 20_000
_FEW = 0.05  # share of distinct values in the sample below which strings are shared


def _shared_text(column: pa.ChunkedArray) -> Any:
    """A text column as :data:`TEXT_DTYPE` with one Python string per distinct value, or
    None when its first rows hold many distinct values (names, ids: hashing every value
    would cost more time than building a string per cell)."""
    sample = column.slice(0, _SAMPLE)
    if len(sample) == 0 or pc.count_distinct(sample).as_py() > len(sample) * _FEW:
        return None
    encoded = column.dictionary_encode()
    dictionary = encoded.chunk(0).dictionary  # every chunk holds the whole dictionary
    words = np.empty(len(dictionary) + 1, dtype=object)
    words[:-1] = dictionary.to_numpy(zero_copy_only=False)
    words[-1] = TEXT_DTYPE.na_value  # code -1: a missing value
    codes = pa.chunked_array([chunk.indices for chunk in encoded.chunks], type=pa.int32())
    return pd.array(words[pc.fill_null(codes, -1).to_numpy()], dtype=TEXT_DTYPE)


class _Converter:
    """Converts one column of a parsed table to its catalog type (see :func:`to_frame`).

    It owns the parsed columns and gives each up as it converts it.
    """

    def __init__(
        self,
        columns: dict[str, pa.ChunkedArray],
        dtype_backend: Backend,
        as_text: frozenset[str],
        enumerations: frozenset[str],
        kept_as_text: dict[str, str] | None,
    ) -> None:
        self.columns = columns
        self.dtype_backend = dtype_backend
        self.as_text = as_text
        self.enumerations = enumerations
        self.kept_as_text = kept_as_text

    def __call__(self, output: Output) -> pa.ChunkedArray:
        column = self.columns.pop(output.name)
        try:
            return self._convert(output, column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if self.kept_as_text is None or output.part.type == "enumeration":
                raise ConversionError(output.name, detail) from None
            self.kept_as_text[output.name] = detail
            return column

    def _convert(self, output: Output, column: pa.ChunkedArray) -> pa.ChunkedArray:
        kind = output.part.type
        if output.name in self.as_text or not pa.types.is_string(column.type):
            return column
        if kind in _CAST:
            column = pc.cast(column, _CAST[kind])
        elif kind == "duration":
            column = _parse_duration(column)
            if self.dtype_backend == "numpy_nullable":
                column = pc.cast(column, pa.duration("ns"))
        elif kind == "list":
            column = _parse_list(column)
        elif kind in ("date", "timestamp"):
            column = _parse_when(column)
        elif output.name in self.enumerations:
            column = column.dictionary_encode()
        return column


def _categorical(series: pd.Series, output: Output) -> pd.Series:
    """Catalog categories first; values outside the catalog are kept as extra categories."""
    values = list(output.part.values or output.column.metric.values)
    present: list[Any] = (
        list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype) else []
    )
    extra = sorted(str(v) for v in present if v not in set(values))
    dtype = dtype_for("enumeration", values=values + extra, ordered=output.column.metric.ordered)
    return _recategorized(series, dtype)


def _recategorized(series: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """``series`` with exactly these categories in this order (``astype`` keeps the old
    order when an unordered dtype holds the same set, so the order would follow the data)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.set_categories(list(dtype.categories), ordered=dtype.ordered)
    return series.astype(dtype)


def _same_categories(left: Any, right: pd.CategoricalDtype) -> bool:
    return (
        isinstance(left, pd.CategoricalDtype)
        and left.ordered == right.ordered
        and list(left.categories) == list(right.categories)
    )


def empty_frame(
    outputs: Sequence[Output], *, dtype_backend: Backend = "numpy_nullable"
) -> pd.DataFrame:
    """A frame with no rows but every column and its dtype."""
    table = pa.table(
        [pa.array([], type=arrow_read_type(o.part.type)) for o in outputs],
        names=[o.name for o in outputs],
    )
    return to_frame(table, outputs, dtype_backend=dtype_backend)


def _keep_categories(
    frame: pd.DataFrame, fixed: Mapping[str, pd.CategoricalDtype], start: int
) -> pd.DataFrame:
    """Give a later chunk the categories of the first one (refuse values outside them)."""
    for name, dtype in fixed.items():
        column = frame[name]
        if _same_categories(column.dtype, dtype):
            continue
        present = set(column.dropna().unique().tolist())
        outside = sorted(str(v) for v in present - set(dtype.categories))
        if outside:
            raise ConversionError(
                name,
                f"rows from {start} on hold {', '.join(map(repr, outside[:5]))}, outside the "
                "categories the first chunk fixed for every chunk (the catalog's values and "
                "those the first chunk held). Read without chunksize= to get every category, "
                f"or pass dtypes={{{name!r}: 'string'}} to read the column as text.",
            )
        frame[name] = _recategorized(column, dtype)
    return frame


def unify_categories(frames: Sequence[pd.DataFrame], outputs: Sequence[Output]) -> None:
    """Give every frame the same categories in place (catalog values, then every value
    outside the catalog that any frame holds, sorted): what one read of all rows gives."""
    for output in outputs:
        if output.part.type != "enumeration":
            continue
        columns = [f[output.name] for f in frames if output.name in f.columns]
        if not columns or not all(isinstance(c.dtype, pd.CategoricalDtype) for c in columns):
            continue
        values = list(output.part.values or output.column.metric.values)
        known = set(values)
        extra = sorted({str(v) for c in columns for v in c.cat.categories if v not in known})
        dtype = dtype_for(
            "enumeration", values=values + extra, ordered=output.column.metric.ordered
        )
        for frame in frames:
            if output.name in frame.columns:
                frame[output.name] = _recategorized(frame[output.name], dtype)
