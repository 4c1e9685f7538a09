"""A cache entry's file: a frame and its metadata in one Parquet file, dtypes restored.

The file carries a format mark and the metadata as JSON; Arrow list columns and the storage
of pandas' ``StringDtype`` columns (which Parquet does not restore by itself) come back as
they were.

>>> import tempfile, os, pandas as pd
>>> path = os.path.join(tempfile.mkdtemp(), "entry.parquet")
>>> write_entry(pd.DataFrame({"a": pd.array(["x", None], dtype="string")}), {"rows": 2}, path)
>>> frame, meta = read_entry(Path(path), arrow_dtypes=False)
>>> str(frame["a"].dtype), meta
('string', {'rows': 2})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = ["read_entry", "write_entry"]

_META_KEY = b"bspandas"
_FORMAT_KEY = b"bspandas-format"
_FORMAT = b"1"
_STRINGS_KEY = b"bspandas.string_storage"


def _lists(kind: pa.DataType) -> Any:
    """Arrow list columns come back as ``ArrowDtype`` (pandas cannot parse their dtype name)."""
    return pd.ArrowDtype(kind) if pa.types.is_list(kind) else None


def read_entry(path: Path, arrow_dtypes: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and metadata of the entry at ``path`` (symlinks are not followed).

    ``arrow_dtypes=True`` gives every column an ``ArrowDtype``. Raises ``ValueError`` for a
    file bspandas did not write, and whatever Arrow raises for a corrupt one.
    """
    import pyarrow.parquet as pq  # loaded when first used (import time, issue 15)

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        table = pq.read_table(handle)
    metadata = table.schema.metadata or {}
    if metadata.get(_FORMAT_KEY) != _FORMAT or _META_KEY not in metadata:
        raise ValueError("the file was not written by this version of bspandas")
    meta = json.loads(metadata[_META_KEY])
    if not isinstance(meta, dict):
        raise ValueError("its metadata is not a JSON object")
    for index, kind in enumerate(table.schema.types):
        if pa.types.is_list(kind):  # Parquet renames the list item field "element"
            plain = table.column(index).cast(pa.list_(kind.value_type))
            table = table.set_column(index, table.schema.names[index], plain)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype if arrow_dtypes else _lists)
    if not arrow_dtypes:  # the string storage pandas would not restore by itself
        storages = json.loads((table.schema.metadata or {}).get(_STRINGS_KEY, b"{}"))
        for name, storage in storages.items():
            if name in frame.columns:
                frame[name] = frame[name].astype(pd.StringDtype(storage))
    return frame, meta


def write_entry(frame: pd.DataFrame, meta: Mapping[str, Any], path: str) -> None:
    """Write ``frame`` and JSON-safe ``meta`` to the Parquet file ``path``."""
    import pyarrow.parquet as pq  # loaded when first used (import time, issue 15)

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_META_KEY] = json.dumps(dict(meta), default=str).encode()
    metadata[_FORMAT_KEY] = _FORMAT
    storages = {
        str(name): dtype.storage
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA
    }
    metadata[_STRINGS_KEY] = json.dumps(storages).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)
