"""``read_query``: one call from a question to a typed, validated DataFrame.

>>> import bspandas as bs
>>> bs.read_query("account", ["ootb_account_name", ("ootb_emails_sent", "last_30_days")],
...               where="ootb_churn_risk_score >= 70", dry_run=True)["filter"]
{'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gte': 70}}
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import pandas as pd

from bspandas import _options as options
from bspandas._exceptions import (
    QueryError,
)
from bspandas._http.client import Client, default_client
from bspandas._io.cache import Cache, as_cache
from bspandas._io.dtypes import Backend
from bspandas._read.cached import read_through
from bspandas._read.checks import (
    check_dtype_columns,
    check_index_col,
    check_nrows,
    check_options,
    frame_columns,
    indexed,
    refuse_unserved,
    set_index,
)
from bspandas._read.chunks import first_rows, iterate
from bspandas._read.progress import PROGRESS_ENV
from bspandas._read.steps import Reader
from bspandas._typing import OnIgnored, OnMissing, OnUnknown, Validate
from bspandas.query.builder import Query, caller_variables

__all__ = ["PROGRESS_ENV", "read_query"]


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: None = ...,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: bool | str | Path | Cache | None = ...,
    dry_run: Literal[True],
) -> dict[str, Any]: ...


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: int,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: None = ...,
    dry_run: Literal[False] = ...,
) -> Iterator[pd.DataFrame]: ...


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: None = ...,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: bool | str | Path | Cache | None = ...,
    dry_run: Literal[False] = ...,
) -> pd.DataFrame: ...


def read_query(
    object: str | Query,
    columns: Any = None,
    *,
    where: str | None = None,
    filter: Mapping[str, Any] | None = None,
    sort: Any = None,
    variations: Mapping[str, Sequence[str] | str] | None = None,
    client: Client | None = None,
    dtype_backend: Backend | None = None,
    dtypes: Mapping[str, Any] | None = None,
    validate: Validate | None = None,
    on_missing: OnMissing | None = None,
    on_ignored_filter: OnIgnored | None = None,
    on_unknown: OnUnknown = "raise",
    chunksize: int | None = None,
    progress: bool | None = None,
    nrows: int | None = None,
    index_col: str | Sequence[str] | None = None,
    local_dict: Mapping[str, Any] | None = None,
    global_dict: Mapping[str, Any] | None = None,
    cache: bool | str | Path | Cache | None = None,
    dry_run: bool = False,
) -> pd.DataFrame | Iterator[pd.DataFrame] | dict[str, Any]:
    """Read metrics of one object into a typed DataFrame.

    ``object`` is ``"account"``, ``"opportunity"``, ``"user"``, ``"activity"`` (or a
    prepared :class:`bspandas.Query`). ``columns`` are slugs, variation ids,
    ``(slug, period)`` or ``(slug, [periods])``; ``variations={slug: [periods]}`` adds more.
    ``where=`` is a pandas-query string (``@name`` reads a Python variable), ``filter=`` an
    API or simple dict. dtypes come from the catalog (``dtypes=`` overrides); the result is
    validated against the catalog schema (``validate="warn"``). Columns the server drops
    raise :class:`bspandas.MissingColumnsError` (``on_missing``); rows that prove the server
    ignored a filter warn (``on_ignored_filter``). A slug the catalog does not know raises
    :class:`bspandas.UnknownMetricError` with the closest ones; ``on_unknown="text"`` reads it
    as text instead, with a warning (your tenant may serve slugs the catalog lacks).
    ``chunksize=`` gives an iterator of frames with identical dtypes, ``cache=`` stores
    answers as Parquet, ``dry_run=True`` returns the exact JSON payload without sending
    anything. ``nrows=`` reads the first rows and closes the stream, ``index_col=`` sets the
    index as in ``pd.read_csv``, ``columns=`` takes an earlier frame's ``df.columns``,
    ``local_dict=``/``global_dict=`` give ``@name`` its variables as in ``DataFrame.query``.
    Options left at ``None`` come from :data:`bspandas.options`.
    """
    settings = _settings(dtype_backend, validate, on_missing, on_ignored_filter, progress, cache)
    check_options(
        settings.dtype_backend,
        settings.validate,
        settings.on_missing,
        settings.on_ignored_filter,
        chunksize,
        dtypes,
    )
    check_nrows(nrows)
    index_names = check_index_col(index_col)
    variables = None
    if not isinstance(object, Query) and where is not None:
        if local_dict is not None or global_dict is not None:
            variables = {**(global_dict or {}), **(local_dict or {})}
        else:
            variables = caller_variables()  # here: it reads the frame of read_query's caller
    query = _query(object, columns, where, filter, sort, variations, variables, on_unknown)
    if dtypes:
        check_dtype_columns(dtypes, query)
    if dry_run:
        return copy.deepcopy(query.payload())
    client = client or options.get_option("client") or default_client()
    refuse_unserved(query, client, settings.on_missing)
    reader = Reader(
        query,
        client,
        dtype_backend=settings.dtype_backend,
        dtypes=dtypes,
        validate=settings.validate,
        on_missing=settings.on_missing,
        on_ignored_filter=settings.on_ignored_filter,
        progress=settings.progress,
    )
    if chunksize is not None:
        if settings.cache:
            raise QueryError("cache= cannot be combined with chunksize=: read whole to cache.")
        return indexed(iterate(reader, chunksize, nrows), index_names)
    if nrows is not None:
        # no cache: a cached whole answer would be served for a first-rows read and back
        return set_index(first_rows(reader, nrows), index_names)
    return set_index(read_through(reader, as_cache(settings.cache)), index_names)


@dataclasses.dataclass(frozen=True)
class _Settings:
    """A read's policies, each from its argument or else from :data:`bspandas.options`."""

    dtype_backend: Backend
    validate: Validate
    on_missing: OnMissing
    on_ignored_filter: OnIgnored
    progress: bool | None
    cache: bool | str | Path | Cache | None


def _settings(
    dtype_backend: Backend | None,
    validate: Validate | None,
    on_missing: OnMissing | None,
    on_ignored_filter: OnIgnored | None,
    progress: bool | None,
    cache: bool | str | Path | Cache | None,
) -> _Settings:
    if cache is None:
        cache = options.get_option("cache")
        if isinstance(cache, str | Path) or cache is True:
            cache = Cache(None if cache is True else cache, ttl=options.get_option("cache_ttl"))
    return _Settings(
        dtype_backend=options.resolve("dtype_backend", dtype_backend),
        validate=options.resolve("validate", validate),
        on_missing=options.resolve("on_missing", on_missing),
        on_ignored_filter=options.resolve("on_ignored_filter", on_ignored_filter),
        progress=options.resolve("progress", progress),
        cache=cache,
    )


def _query(
    object: str | Query,
    columns: Any,
    where: str | None,
    filter: Mapping[str, Any] | None,
    sort: Any,
    variations: Mapping[str, Sequence[str] | str] | None,
    variables: dict[str, Any] | None,
    on_unknown: OnUnknown,
) -> Query:
    """The read's Query: the prepared one as is, or one built from the arguments."""
    if isinstance(object, Query):
        if any(v is not None for v in (columns, where, filter, sort, variations)):
            raise QueryError(
                "read_query(query) takes a prepared Query as is: pass columns, where, filter, "
                "sort and variations to Query(...) instead."
            )
        return object
    return Query(
        object,
        frame_columns(object, columns),
        where=where,
        filter=filter,
        sort=sort,
        variations=variations,
        variables=variables,
        on_unknown=on_unknown,
    )
