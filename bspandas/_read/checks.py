"""The checks of ``read_query``'s arguments before any request (options, ``dtypes=``,
``nrows=``, ``index_col=``, columns given as an earlier frame's ``df.columns``) and the
refusal of columns a cached probe found the tenant does not serve.

>>> check_index_col(["a", "b"])
['a', 'b']
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from bspandas._exceptions import (
    BackstoryError,
    MissingColumnsError,
    QueryError,
)
from bspandas._http.client import Client
from bspandas._io.dtypes import BACKENDS
from bspandas.catalog import store
from bspandas.catalog.resolve import Column, parse_name
from bspandas.query.builder import Query

__all__ = [
    "check_dtype_columns",
    "check_index_col",
    "check_nrows",
    "check_options",
    "describe_missing",
    "frame_columns",
    "indexed",
    "refuse_unserved",
    "set_index",
]

log = logging.getLogger("bspandas")


def check_options(
    dtype_backend: str,
    validate: Any,
    on_missing: str,
    on_ignored_filter: str,
    chunksize: Any,
    dtypes: Any = None,
) -> None:
    if dtype_backend not in BACKENDS:
        raise QueryError(f"dtype_backend must be one of {BACKENDS}, got {dtype_backend!r}.")
    if validate not in (True, False, "warn", "raise"):
        raise QueryError(f"validate must be True, False, 'warn' or 'raise', got {validate!r}.")
    if on_missing not in ("raise", "warn", "ignore"):
        raise QueryError(f"on_missing must be 'raise', 'warn' or 'ignore', got {on_missing!r}.")
    if on_ignored_filter not in ("warn", "raise", "apply"):
        raise QueryError(
            f"on_ignored_filter must be 'warn', 'raise' or 'apply', got {on_ignored_filter!r}."
        )
    if chunksize is not None and (
        isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1
    ):
        raise QueryError(f"chunksize must be a positive integer, got {chunksize!r}.")
    if dtypes is not None:
        _check_dtypes(dtypes)


def _check_dtypes(dtypes: Any) -> None:
    """``dtypes=`` must map column names to things pandas accepts as a dtype."""
    if not isinstance(dtypes, Mapping):
        raise QueryError(
            f"dtypes= takes a mapping of column name to dtype, got {type(dtypes).__name__}."
        )
    for name, value in dtypes.items():
        if not isinstance(name, str):
            raise QueryError(f"dtypes= keys are column names (str), got {name!r}.")
        try:
            pd.api.types.pandas_dtype(value)
        except (TypeError, ValueError) as exc:
            raise QueryError(
                f"dtypes={{{name!r}: {value!r}}} is not a dtype pandas knows ({exc}). Use a "
                "dtype or its name, such as 'string', 'Float64' or 'category'."
            ) from None


def check_dtype_columns(dtypes: Mapping[str, Any], query: Query) -> None:
    requested = {o.name for c in query.columns for o in c.outputs()}
    unknown = [name for name in dtypes if name not in requested]
    if unknown:
        raise QueryError(
            f"dtypes= names columns that are not requested: {', '.join(unknown)}. "
            f"Requested: {', '.join(sorted(requested))}."
        )


def describe_missing(columns: Sequence[Column]) -> list[str]:
    return [
        c.slug if c.variation_id is None else f"{c.slug} (variation {c.variation_id})"
        for c in columns
    ]


def check_nrows(nrows: Any) -> None:
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise QueryError(f"nrows must be a non-negative integer, got {nrows!r}.")


def check_index_col(index_col: Any) -> list[str]:
    if index_col is None or index_col is False:
        return []
    names = [index_col] if isinstance(index_col, str) else index_col
    if not isinstance(names, Sequence) or not names or not all(isinstance(n, str) for n in names):
        raise QueryError(
            f"index_col takes a column name or a list of them (as pd.read_csv), got {index_col!r}."
        )
    return list(names)


def set_index(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if not names:
        return frame
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise QueryError(
            f"index_col names {', '.join(absent)}, which the frame does not have. Columns: "
            f"{', '.join(map(str, frame.columns))}. Ask for the column in columns= too."
        )
    attrs = copy.deepcopy(frame.attrs)
    indexed = frame.set_index(names if len(names) > 1 else names[0])
    indexed.attrs = attrs
    return indexed


def indexed(frames: Iterator[pd.DataFrame], names: list[str]) -> Iterator[pd.DataFrame]:
    for frame in frames:
        yield set_index(frame, names)


def frame_columns(object: str, columns: Any) -> Any:
    """``df.columns`` of an earlier read (a pandas Index) as column specs: variation names
    ``{slug}_{period}`` and expansion names (``_id``, ``_name``, ``_currency``) map back to
    the column they came from. Anything else is passed on as given."""
    if not isinstance(object, str) or not isinstance(columns, pd.Index | list):
        return columns  # Query reports a wrong object or spec
    specs: list[Any] = []
    for item in columns:
        spec: Any = item
        if isinstance(item, str) and store.find(item, object) is None:
            try:
                found = parse_name(item, store.check_object(object))
            except BackstoryError:
                found = None
            if found is not None:
                metric, period, _ = found
                spec = metric.slug if period is None else (metric.slug, period)
        specs.append(spec)
    return specs


def refuse_unserved(query: Query, client: Client, on_missing: str) -> None:
    """Fail before any request when a cached :func:`bspandas.catalog.probe` of this tenant
    found it does not serve a column the read needs (a filtered one, or any requested one
    under ``on_missing="raise"``), with the catalog's nearest slugs as suggestions."""
    from bspandas._read.probe import unserved

    try:
        dropped = unserved(client, query.object, query.request_columns)
    except (AttributeError, TypeError):  # a stand-in client without host/client_id
        return
    filtered = {c.column.name for c in query.filter.attributes()} if query.filter else set()
    fatal = [c for c in dropped if on_missing == "raise" or c.name in filtered]
    if not fatal:
        return
    hints = []
    for c in fatal:
        close = [s for s in store.suggest(c.slug, query.object) if s != c.slug][:3]
        if close:
            hints.append(f"{c.slug}: perhaps {', '.join(close)}")
    raise MissingColumnsError(
        describe_missing(fatal),
        detail=(
            "A probe of this tenant (bspandas.catalog.probe, kept for a day) found that it "
            "does not serve them, so nothing was sent."
            + (f" Nearest catalog slugs: {'; '.join(hints)}." if hints else "")
            + " Probe the alternatives before using them."
        ),
    )
