"""Datasets on many cores or machines: ``bspandas.dask.read_dataset`` and ``ddf.backstory``.

Needs the optional extra ``pip install 'bspandas[dask]'`` (dask[dataframe] and distributed).
Each window file of an :func:`bspandas.export_dataset` dataset becomes one partition, read
with exactly the dtypes ``read_query`` gives (they are the Dask DataFrame's meta), and
``ddf.backstory.validate()`` checks the catalog schema partition by partition.

>>> import bspandas as bs, bspandas.dask
>>> plan = bs.export_dataset("activity", ["ootb_activity_uid"], "memory://doc-dask/a",
...                          split_by=("ootb_activity_timestamp", "year"),
...                          start="2025-01-01", end="2027-01-01", dry_run=True)
>>> len(plan.windows)
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

try:
    dd: Any = import_module("dask.dataframe")
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "bspandas.dask needs Dask: pip install 'bspandas[dask]' (dask[dataframe] and distributed)."
    ) from exc

from bspandas._exceptions import QueryError
from bspandas._io.dtypes import Backend
from bspandas.frame import infer_object
from bspandas.frame.accessor import BackstoryAccessor
from bspandas.frame.dataset.convert import table_to_frame
from bspandas.frame.dataset.manifest import dataset_files
from bspandas.frame.dataset.storage import file_meta, outputs_for

__all__ = ["DaskBackstoryAccessor", "read_dataset"]


class _ReadWindow:
    """Reads one window file into a typed frame (picklable, for worker processes)."""

    def __init__(
        self, fs: Any, payload: Mapping[str, Any], columns: Sequence[str], backend: Backend
    ) -> None:
        self.fs = fs
        self.payload = dict(payload)
        self.columns = list(columns)
        self.backend = backend

    def __call__(self, file: str) -> pd.DataFrame:
        outputs = outputs_for({"payload": self.payload})
        with self.fs.open(file, "rb") as handle:
            table = pq.read_table(handle, columns=self.columns)
        return table_to_frame(table, outputs, self.backend)


def read_dataset(
    path: str,
    columns: Sequence[str] | None = None,
    *,
    dtype_backend: Backend = "numpy_nullable",
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """A Dask DataFrame of the dataset at ``path``: one partition per window.

    Each partition is read with exactly the dtypes ``read_query`` gives; they are the
    Dask DataFrame's meta, whose ``attrs["backstory"]`` holds the provenance.

    Parameters
    ----------
    path : str
        The dataset's folder: a local path or an fsspec URL (``memory://``, ``s3://``...).
    columns : sequence of str, optional
        Frame column names to read, in this order (default: all).
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        The dtypes of the partitions, as in ``read_query``.
    storage_options : mapping, optional
        Passed to the fsspec filesystem (credentials, endpoint...).

    Returns
    -------
    dask.dataframe.DataFrame
        One partition per finished window, in window order.

    Raises
    ------
    DatasetError
        Nothing to read at ``path`` (no manifest and no Parquet file, or no finished window
        yet), or a file without bspandas metadata.
    QueryError
        A column in ``columns`` the dataset does not hold.

    Examples
    --------
    >>> import bspandas as bs
    >>> from bspandas.sandbox import Sandbox
    >>> with Sandbox(accounts=5, users=2) as sb, sb.client() as client:
    ...     _ = bs.export_dataset("account", ["ootb_account_name"], "memory://doc-dask/b",
    ...                           client=client, progress=False)
    >>> ddf = read_dataset("memory://doc-dask/b")
    >>> ddf.npartitions, len(ddf.compute())
    (1, 5)
    """
    fs, _, shown, _, files = dataset_files(path, storage_options)
    meta = file_meta(fs, files[0][0])
    outputs = outputs_for(meta)
    names = [o.name for o in outputs]
    wanted = list(names if columns is None else columns)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise QueryError(
            f"read_dataset: {', '.join(unknown)} not in the dataset at {shown}. "
            f"It holds: {', '.join(names)}."
        )
    with fs.open(files[0][0], "rb") as handle:
        empty = pq.read_schema(handle).empty_table().select(wanted)
    frame_meta = table_to_frame(empty, outputs, dtype_backend)
    provenance = {
        "object": meta["payload"]["object"],
        "payload": meta["payload"],
        "host": meta.get("host"),
        "catalog_version": meta.get("catalog_version"),
        "dtype_backend": dtype_backend,
        "dataset": shown,
    }
    frame_meta.attrs["backstory"] = provenance
    reader = _ReadWindow(fs, meta["payload"], wanted, dtype_backend)
    # Dask would turn the catalog's string dtype into string[pyarrow] (pandas 2): keep it
    with import_module("dask").config.set({"dataframe.convert-string": False}):
        ddf = dd.from_map(
            reader, [file for file, _ in files], meta=frame_meta, label="bspandas-window"
        )
    return ddf


def _validate_partition(part: pd.DataFrame, obj: str, lazy: bool) -> pd.DataFrame:
    return BackstoryAccessor(part, obj).validate(lazy=lazy)


@dd.extensions.register_dataframe_accessor("backstory")
class DaskBackstoryAccessor:
    """``ddf.backstory`` on a Dask DataFrame: the catalog object and per-partition checks.

    Registered on every Dask DataFrame by ``import bspandas.dask``.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The frame the accessor belongs to (Dask passes it).

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> ddf = dd.from_pandas(pd.DataFrame({"ootb_account_name": ["Acme"]}), npartitions=1)
    >>> ddf.backstory.object
    'account'
    """

    def __init__(self, ddf: Any) -> None:
        self._ddf = ddf

    @property
    def object(self) -> str:
        """The object the rows are (from attrs, else inferred from the columns).

        Returns
        -------
        str
            The catalog object (``"account"``, ``"activity"``...).

        Raises
        ------
        QueryError
            When neither attrs nor the columns say which object the rows are.

        Examples
        --------
        >>> import dask.dataframe as dd
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ootb_activity_uid": ["a1"]})
        >>> dd.from_pandas(frame, npartitions=1).backstory.object
        'activity'
        """
        return infer_object(self._ddf._meta, None)

    def validate(self, *, lazy: bool = True) -> Any:
        """The catalog schema checked partition by partition, lazily.

        Compute or persist the result to run the checks.

        Parameters
        ----------
        lazy : bool, default True
            Collect every failure of a partition before raising (pandera's lazy mode)
            instead of stopping at the first.

        Returns
        -------
        dask.dataframe.DataFrame
            The same rows, checked when computed.

        Raises
        ------
        SchemaValidationError
            When computed, if a partition does not match the catalog schema.

        Examples
        --------
        >>> import dask.dataframe as dd
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ootb_account_name": pd.array(["Acme"], dtype="string")})
        >>> checked = dd.from_pandas(frame, npartitions=1).backstory.validate()
        >>> len(checked.compute())
        1
        """
        obj = self.object
        return self._ddf.map_partitions(_validate_partition, obj, lazy, meta=self._ddf._meta)
