"""Reading a dataset back: :func:`read_dataset`, the frame ``read_query`` would give.

>>> import bspandas as bs
>>> bs.read_dataset("memory://doc-read/nothing-here")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
bspandas._exceptions.DatasetError: No dataset at memory://doc-read/nothing-here: no manifest...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bspandas._exceptions import QueryError
from bspandas._io.dtypes import Backend
from bspandas._io.evaluate import evaluate
from bspandas.frame.dataset.convert import table_to_frame
from bspandas.frame.dataset.manifest import dataset_files
from bspandas.frame.dataset.pushdown import _expression, _relative, _server_date, _window_matches
from bspandas.frame.dataset.storage import file_meta, outputs_for
from bspandas.frame.dataset.windows import _bounds
from bspandas.query.builder import caller_variables
from bspandas.query.dict_reader import parse_filter

__all__ = ["read_dataset"]


def read_dataset(
    path: str,
    columns: Sequence[str] | None = None,
    *,
    where: str | None = None,
    dtype_backend: Backend = "numpy_nullable",
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read a dataset written by :func:`export_dataset` into the frame ``read_query`` gives.

    ``where=`` is pushed down to the Parquet reader where it can be (and whole windows
    outside its range on the split attribute are not opened), then applied exactly. Relative
    periods (``last_30_days``...) are judged at the export's server date, not this
    machine's clock. ``df.attrs["backstory"]`` holds the provenance; ``df.backstory`` works
    as usual.

    Parameters
    ----------
    path : str
        The dataset's folder: a local path or an fsspec URL (``memory://``, ``s3://``...).
    columns : sequence of str, optional
        Frame column names to read, in this order (default: all).
    where : str, optional
        A ``read_query``-style filter string on the dataset's columns; names of the caller's
        variables may appear in it as ``@name``.
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        The dtypes of the frame, as in ``read_query``.
    storage_options : mapping, optional
        Passed to the fsspec filesystem (credentials, endpoint...).

    Returns
    -------
    pandas.DataFrame
        The rows of every finished window (in window order), with the catalog dtypes.

    Raises
    ------
    DatasetError
        Nothing to read at ``path`` (no manifest and no Parquet file, or no finished window
        yet), a file without bspandas metadata, or a relative period in ``where=`` on a
        dataset that records no server date.
    QueryError
        A bad ``dtype_backend``, or a column (in ``columns`` or ``where=``) the dataset does
        not hold.

    Examples
    --------
    >>> from bspandas.frame.dataset import export_dataset
    >>> from bspandas.sandbox import Sandbox
    >>> with Sandbox(accounts=5, users=2) as sb, sb.client() as client:
    ...     _ = export_dataset("account", ["ootb_account_name"], "memory://doc-read/a",
    ...                        client=client, progress=False)
    >>> frame = read_dataset("memory://doc-read/a")
    >>> len(frame), list(frame.columns)
    (5, ['ootb_account_name'])
    """
    if dtype_backend not in ("numpy_nullable", "pyarrow"):
        raise QueryError(
            f"dtype_backend must be 'numpy_nullable' or 'pyarrow', got {dtype_backend!r}."
        )
    fs, _, shown, manifest, files = dataset_files(path, storage_options)
    meta = file_meta(fs, files[0][0])
    outputs = outputs_for(meta)
    obj = str(meta["payload"]["object"])
    names = [o.name for o in outputs]
    wanted = list(names if columns is None else columns)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise QueryError(
            f"read_dataset: {', '.join(unknown)} not in the dataset at {shown}. "
            f"It holds: {', '.join(names)}."
        )
    node = None
    if where is not None:
        node = parse_filter(where, obj, variables=caller_variables())
        missing = [c.name for c in node.attributes() if c.name not in names]
        if missing:
            raise QueryError(
                f"where= reads {', '.join(missing)}, which the dataset at {shown} does not "
                f"hold. It holds: {', '.join(names)}."
            )
    read_columns = list(
        dict.fromkeys([*wanted, *(c.name for c in node.attributes())] if node else wanted)
    )
    relative = [] if node is None else _relative(node)
    now = _server_date(fs, files, shown, relative) if relative else None
    expression = None if node is None else _expression(node, now)
    split_slug = (meta.get("window") or {}).get("slug")
    lo, hi = _bounds(node, split_slug) if split_slug else (None, None)
    tables = []
    fetched: list[str] = []
    for file, record in files:
        if not _window_matches(record, lo, hi):
            continue
        with fs.open(file, "rb") as handle:
            table = pq.read_table(handle, columns=read_columns, filters=expression)
        tables.append(table)
        if record.get("fetched_at"):
            fetched.append(str(record["fetched_at"]))
    if tables:
        table = pa.concat_tables(tables)
    else:
        with fs.open(files[0][0], "rb") as handle:
            table = pq.read_schema(handle).empty_table().select(read_columns)
    frame = table_to_frame(table, outputs, dtype_backend)
    if node is not None:
        as_of = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
        mask = evaluate(node, frame, as_of=as_of).fillna(False).astype(bool)
        frame = frame.loc[mask.to_numpy(), wanted].reset_index(drop=True)
    frame = frame[wanted]
    base = (manifest or {}).get("signature", {}).get("payload") or meta.get("payload")
    frame.attrs["backstory"] = {
        "object": obj,
        "payload": base,
        "host": meta.get("host"),
        "fetched_at": min(fetched) if fetched else meta.get("fetched_at"),
        "server_date": meta.get("server_date") if now is None else now.isoformat(),
        "rows": len(frame),
        "catalog_version": meta.get("catalog_version"),
        "dtype_backend": dtype_backend,
        "where": None if node is None else str(node),
        "dataset": shown,
    }
    return frame
