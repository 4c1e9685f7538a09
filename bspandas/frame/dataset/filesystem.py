"""Where a dataset lives: fsspec paths, printable paths, atomic writes, leftover staging.

Paths are local folders or fsspec URLs (``memory://``, ``s3://``...). fsspec is imported
only when a dataset is read or written, not at ``import bspandas``.

>>> _public("s3://key:secret@bucket/activity")
's3://bucket/activity'
>>> _fs("memory://doc-fs/activity/", None)[1]
'/doc-fs/activity'
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__: list[str] = []


def _fs(path: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    import fsspec  # lazily: ~45 ms at `import bspandas` otherwise (issue 15)

    fs, root = fsspec.core.url_to_fs(str(path), **dict(storage_options or {}))
    return fs, str(root).rstrip("/")


def _public(path: str) -> str:
    """The path without any user:password in it (what goes into attrs and metadata)."""
    text = str(path)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _write_json(fs: Any, target: str, data: Mapping[str, Any]) -> None:
    """Write JSON so that a reader sees the old or the new file, never half of one."""
    staging = f"{target}.{uuid.uuid4().hex}.tmp"
    with fs.open(staging, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    _replace(fs, staging, target)


def _replace(fs: Any, source: str, target: str) -> None:
    """Rename ``source`` onto ``target`` (atomic on local disks; a copy on object stores,
    where a single object appears whole)."""
    if fs.exists(target) and "memory" in _protocols(fs):
        fs.rm(target)
    fs.mv(source, target)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _clean_staging(fs: Any, root: str) -> None:
    """Remove files a killed run left half-written."""
    if not fs.exists(root):
        return
    for found in fs.find(root):
        name = str(found).rsplit("/", 1)[-1]
        if name.startswith(".") and name.endswith(".inprogress"):
            fs.rm(found)
