"""An optional on-disk cache of answers, stored as Parquet (dtypes survive the round trip).

Entries are keyed by a hash of the host, a one-way hash of the tenant's client id, the exact
payload, the catalog version and the dtype backend. No credential is written: neither the
secret, nor the token, nor the client id in clear. Files are readable by their owner only.

>>> import tempfile, pandas as pd
>>> cache = Cache(tempfile.mkdtemp(), ttl=60)
>>> key = cache.key(host="http://127.0.0.1", tenant="id", payload={"object": "account"}, extra="x")
>>> cache.store(key, pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}), {"rows": 2})
>>> frame, meta = cache.load(key)
>>> str(frame["a"].dtype), meta["rows"]
('Int64', 2)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Cache", "as_cache", "default_cache_dir"]

_META_KEY = b"bspandas"
_STRINGS_KEY = b"bspandas.string_storage"


def _lists(kind: pa.DataType) -> Any:
    """Arrow list columns come back as ``ArrowDtype`` (pandas cannot parse their dtype name)."""
    return pd.ArrowDtype(kind) if pa.types.is_list(kind) else None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bspandas`` (``~/.cache/bspandas``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bspandas"


class Cache:
    """Answers stored as Parquet files in ``directory`` for ``ttl`` seconds."""

    def __init__(self, directory: str | Path | None = None, *, ttl: float = 3600.0) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"Cache({str(self.directory)!r}, ttl={self.ttl:g})"

    @staticmethod
    def key(*, host: str, tenant: str, payload: Mapping[str, Any], extra: str) -> str:
        """A stable key; the tenant (client id) enters only through a one-way hash."""
        tenant_hash = hashlib.sha256(f"bspandas-tenant:{tenant}".encode()).hexdigest()
        text = json.dumps(
            {"host": host, "tenant": tenant_hash, "payload": payload, "extra": extra},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.parquet"

    def load(
        self, key: str, *, arrow_dtypes: bool = False
    ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The stored frame and its metadata, or ``None`` when absent or expired.

        ``arrow_dtypes=True`` gives every column an ``ArrowDtype`` (frames read with
        ``dtype_backend="pyarrow"``: their string columns would otherwise come back as
        ``StringDtype``, which shares the name ``string[pyarrow]``).
        """
        path = self._path(key)
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        if age > self.ttl:
            path.unlink(missing_ok=True)
            return None
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY, b"{}")
        meta: dict[str, Any] = json.loads(raw)
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

    def store(self, key: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        """Write ``frame`` atomically with JSON-safe ``meta``."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[_META_KEY] = json.dumps(dict(meta), default=str).encode()
        storages = {
            str(name): dtype.storage
            for name, dtype in frame.dtypes.items()
            if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA
        }
        metadata[_STRINGS_KEY] = json.dumps(storages).encode()
        table = table.replace_schema_metadata(metadata)
        handle, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(handle)
        try:
            os.chmod(temp, 0o600)
            pq.write_table(table, temp)
            os.replace(temp, self._path(key))
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def clear(self) -> int:
        """Delete every stored answer; return how many were deleted."""
        removed = 0
        for path in self.directory.glob("*.parquet"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed


def as_cache(cache: bool | str | Path | Cache | None) -> Cache | None:
    """``True`` gives the default cache, a path a cache there, ``None``/``False`` none."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return Cache()
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, str | Path):
        return Cache(cache)
    raise TypeError(f"cache= takes True, a directory or a bspandas.Cache, got {cache!r}")
