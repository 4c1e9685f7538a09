"""Partitioned Parquet datasets: exports too large for one read, kept where every engine reads.

:func:`export_dataset` turns one huge export into one filtered export per time window
(``split_by=("ootb_activity_timestamp", "month")``), streams each window to its own Parquet
file in chunks (memory is bounded by a chunk, not by the window), lands each file atomically
(written under a hidden name, then renamed) and records it in a manifest, so a killed run
started again skips the finished windows and a finished run started again sends nothing.
:func:`read_dataset` reads it back as the frame ``read_query`` gives.

The layout is Hive-style and plain::

    activity/
      _bspandas_manifest.json          windows, row counts and queries (no credential)
      month=2026-01/part-0.parquet     one file per window, catalog types, provenance
      month=2026-02/part-0.parquet

so DuckDB (``read_parquet('activity/**/*.parquet', hive_partitioning=true)``), Dask,
Spark and :func:`read_dataset` read it as it is. Paths are local folders or fsspec URLs
(``memory://``, ``s3://``... with the matching fsspec filesystem installed).

One module per concern: ``windows`` (split_by and the time windows), ``filesystem``
(fsspec paths, atomic writes), ``manifest`` (the manifest and the finished files),
``storage`` (one window's Parquet file), ``convert`` (a stored table back to pandas),
``plan`` (what an export will do), ``export`` (:func:`export_dataset`), ``pushdown``
(what of ``where=`` the Parquet reader applies) and ``read`` (:func:`read_dataset`).

>>> import bspandas as bs
>>> plan = bs.export_dataset("activity", ["ootb_activity_uid"], "memory://doc/activity",
...                          split_by=("ootb_activity_timestamp", "quarter"),
...                          start="2026-01-01", end="2026-07-01", dry_run=True)
>>> [w.key for w in plan.windows]
['2026-Q1', '2026-Q2']
"""

from bspandas.frame.dataset.export import export_dataset
from bspandas.frame.dataset.manifest import MANIFEST
from bspandas.frame.dataset.plan import DatasetPlan, WindowDone
from bspandas.frame.dataset.read import read_dataset
from bspandas.frame.dataset.storage import dictionary_columns, storage_types
from bspandas.frame.dataset.windows import Window, windows_for

__all__ = [
    "MANIFEST",
    "DatasetPlan",
    "Window",
    "WindowDone",
    "dictionary_columns",
    "export_dataset",
    "read_dataset",
    "storage_types",
    "windows_for",
]
