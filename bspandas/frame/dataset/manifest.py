"""The manifest beside a dataset's data, and the finished window files it lists.

The manifest (``_bspandas_manifest.json``; the ``_`` keeps Spark, Dask and pyarrow off it)
records the query, the planned windows and each finished window's file, rows and instants;
a dataset without one is read from its Parquet files alone.

>>> MANIFEST
'_bspandas_manifest.json'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bspandas._exceptions import DatasetError
from bspandas.frame.dataset.filesystem import _fs, _public

__all__ = ["MANIFEST"]

#: The manifest's file name, beside the data (``_`` keeps Spark, Dask and pyarrow off it).
MANIFEST = "_bspandas_manifest.json"


def _read_manifest(fs: Any, root: str) -> dict[str, Any] | None:
    target = f"{root}/{MANIFEST}"
    if not fs.exists(target):
        return None
    try:
        with fs.open(target, "r", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"The manifest {target} cannot be read ({type(exc).__name__}). Move it away and "
            "export again with overwrite=True."
        ) from None
    return data


def _files(
    fs: Any, root: str, manifest: Mapping[str, Any] | None
) -> list[tuple[str, dict[str, Any]]]:
    """Each finished window's file, in window order, with its manifest record."""
    if manifest is not None:
        records = sorted(
            manifest.get("windows", {}).items(), key=lambda kv: (kv[1].get("start") or "", kv[0])
        )
        return [(f"{root}/{r['file']}", {"key": k, **r}) for k, r in records]
    found = sorted(
        p
        for p in fs.glob(f"{root}/**/*.parquet")
        if not str(p).rsplit("/", 1)[-1].startswith((".", "_"))
    )
    return [(str(p), {"key": str(p)}) for p in found]


def dataset_files(
    path: str, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str, str, dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
    """The filesystem, root, printable path, manifest and finished files of a dataset;
    a :class:`bspandas.DatasetError` that says why when there is nothing to read."""
    fs, root = _fs(path, storage_options)
    shown = _public(path)
    manifest = _read_manifest(fs, root)
    files = _files(fs, root, manifest)
    if not files and manifest is not None:
        raise DatasetError(
            f"The dataset at {shown} has a manifest but no finished window yet: its export "
            "was interrupted before the first window landed. Run the same export_dataset(...) "
            "again to resume it, or pass overwrite=True (--overwrite) to start afresh."
        )
    if not files:
        raise DatasetError(
            f"No dataset at {shown}: no manifest and no Parquet file. Write one with "
            "bspandas.export_dataset(...)."
        )
    return fs, root, shown, manifest, files
