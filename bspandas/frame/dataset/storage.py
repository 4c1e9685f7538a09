"""One window's Parquet file: catalog storage types, provenance metadata, staged writes.

Each file holds the catalog's Arrow types (``dtypes.TABLE``) whatever dtype backend the
chunks travelled in, and bspandas' provenance (never a credential) in its schema metadata
under ``bspandas``. It is written under a hidden name and then landed (renamed) whole.

>>> from bspandas.query.builder import Query
>>> outputs = Query("account", ["ootb_account_name"]).outputs()
>>> storage_types(outputs)
{'ootb_account_name': DataType(string)}
>>> dictionary_columns(outputs)
['ootb_account_name']
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bspandas._exceptions import DatasetError
from bspandas._io.dtypes import TABLE
from bspandas.catalog.resolve import Output
from bspandas.frame.dataset.filesystem import _replace
from bspandas.query.builder import Query

__all__ = ["dictionary_columns", "storage_types"]

#: The key under which each Parquet file's schema metadata carries bspandas' provenance.
META_KEY = b"bspandas"
FILE_NAME = "part-0.parquet"
FORMAT = 1
#: Rows per chunk read and written (one Parquet row group each) unless told otherwise.
DEFAULT_CHUNKSIZE = 250_000


def _provenance(chunk: pd.DataFrame) -> dict[str, Any]:
    meta = copy.deepcopy(dict(chunk.attrs.get("backstory", {})))
    meta.pop("rows", None)
    meta.pop("dtype_backend", None)
    meta["format"] = FORMAT
    return meta


def _arrow_schema(schema: pa.Schema, meta: Mapping[str, Any]) -> pa.Schema:
    # no pandas metadata: bspandas restores the catalog dtypes itself, other engines ignore it
    fields = [pa.field(f.name, f.type) for f in schema]
    return pa.schema(fields, metadata={META_KEY: json.dumps(meta, sort_keys=True, default=str)})


def storage_types(outputs: Sequence[Output]) -> dict[str, pa.DataType]:
    """The Arrow type each column is stored as: the catalog's (``dtypes.TABLE``), whatever
    dtype backend the chunks travelled in, so every engine sees dates as dates, enumerations
    as strings and durations as durations."""
    return {o.name: TABLE[o.part.type][1] for o in outputs}


#: Catalog types worth dictionary-encoding in Parquet (few distinct values); ids, times and
#: numbers are not (encoding a million distinct ids first doubles the write time).
DICTIONARY_TYPES = frozenset({"text", "enumeration", "list", "date", "boolean"})


def dictionary_columns(outputs: Sequence[Output]) -> list[str]:
    """The columns the Parquet writer dictionary-encodes."""
    return [o.name for o in outputs if o.part.type in DICTIONARY_TYPES]


def _to_storage(frame: pd.DataFrame, types: Mapping[str, pa.DataType]) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    arrays = []
    for name in table.column_names:
        column = table.column(name)
        target = types.get(name)
        if target is not None and column.type != target:
            if pa.types.is_timestamp(column.type) and pa.types.is_date(target):
                column = pc.cast(pc.cast(column, pa.timestamp("ms")), target)
            else:
                column = pc.cast(column, target)
        arrays.append(column)
    return pa.table(arrays, names=table.column_names)


def write_frames(
    fs: Any,
    staging: str,
    frames: Iterator[pd.DataFrame],
    extra: Mapping[str, Any],
    types: Mapping[str, pa.DataType],
    dictionary: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """Stream frames into one Parquet file at ``staging`` (one row group per chunk) in the
    catalog's storage ``types``, with the first frame's provenance plus ``extra`` in the
    schema metadata. Returns rows and metadata; removes the file when anything fails."""
    rows = 0
    meta: dict[str, Any] = {}
    try:
        with fs.open(staging, "wb") as handle:
            writer: pq.ParquetWriter | None = None
            schema: pa.Schema | None = None
            try:
                for frame in frames:
                    table = _to_storage(frame, types)
                    if writer is None:
                        meta = {**_provenance(frame), **extra}
                        schema = _arrow_schema(table.schema, meta)
                        encoded = [n for n in dictionary if n in table.column_names]
                        writer = pq.ParquetWriter(
                            handle, schema, compression="zstd", use_dictionary=encoded or False
                        )
                    writer.write_table(table.cast(schema))
                    rows += len(frame)
            finally:
                if writer is not None:
                    writer.close()
        if writer is None:
            raise DatasetError("The export yielded no frame at all (not even an empty one).")
    except BaseException:
        if fs.exists(staging):
            fs.rm(staging)
        raise
    return rows, meta


def staging_name(directory: str) -> str:
    """A hidden file name that no reader globbing ``*.parquet`` picks up."""
    return f"{directory}/.{FILE_NAME}.{uuid.uuid4().hex}.inprogress"


def land(fs: Any, staging: str, directory: str) -> str:
    """Move a finished staging file to ``directory/part-0.parquet`` (replacing it)."""
    fs.makedirs(directory, exist_ok=True)
    target = f"{directory}/{FILE_NAME}"
    try:
        _replace(fs, staging, target)
    except BaseException:
        if fs.exists(staging):
            fs.rm(staging)
        raise
    return target


def file_meta(fs: Any, file: str) -> dict[str, Any]:
    """The bspandas provenance stored in one Parquet file's schema metadata."""
    with fs.open(file, "rb") as handle:
        schema = pq.read_schema(handle)
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise DatasetError(
            f"{file} has no bspandas metadata: it was not written by export_dataset or "
            "snapshot. Read it with pyarrow or DuckDB instead."
        )
    data: dict[str, Any] = json.loads(raw)
    return data


def outputs_for(meta: Mapping[str, Any]) -> list[Output]:
    """The catalog outputs of the query a file was written from."""
    payload = meta["payload"]
    query = Query(payload["object"], payload["columns"])
    return query.outputs()
