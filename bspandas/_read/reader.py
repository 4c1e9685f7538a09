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
from bspandas._http.client import Client
from bspandas._http.default import default_client
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

    One export request (paced, retried within bounds, its answer checked end to end), the
    CSV's display labels mapped back to the columns asked for, every column typed from the
    catalog, the rows checked against the filter sent, and the frame validated.

    Parameters
    ----------
    object : {"account", "opportunity", "user", "activity", "person"} or Query
        The object whose rows are read, or a prepared :class:`bspandas.Query` (then
        ``columns``, ``where``, ``filter``, ``sort`` and ``variations`` must be left out).
    columns : list, optional
        Slugs, variation ids, ``(slug, period)`` or ``(slug, [periods])`` pairs; an earlier
        frame's ``df.columns`` also works (``{slug}_{period}`` names map back).
    where : str, optional
        A pandas-query string (``"ootb_churn_risk_score >= 70 and industry == 'Retail'"``);
        ``@name`` reads a Python variable of the caller (or of ``local_dict``).
    filter : dict, optional
        A filter as the API writes it, or a simple ``{slug: value}`` dict.
    sort : str, tuple or list, optional
        Columns to sort by on the server: ``"slug"``, ``"-slug"`` (descending),
        ``("slug", "desc")`` or a list of them. A sort column the tenant does not serve
        raises :class:`bspandas.MissingColumnsError` (the API would ignore the sort).
    variations : dict, optional
        More periods per slug: ``{"ootb_emails_sent": ["last_7_days", "last_30_days"]}``.
    client : Client, optional
        The client to send with; by default ``bspandas.options.client``, else the default
        client: the last :func:`bspandas.connect`, else one built from the ``BACKSTORY_*``
        environment variables or the config file; with none of them,
        :class:`bspandas.MissingCredentialsError` says how to connect (for the embedded
        sandbox, ``bs.connect(sb.client_id, sb.client_secret, sb.base_url)``).
    dtype_backend : {"numpy_nullable", "pyarrow"}, optional
        The dtypes of the frame (default from :data:`bspandas.options`).
    dtypes : dict, optional
        Column name to dtype, overriding the catalog's (``{"ootb_score": "float64"}``).
    validate : {"warn", "raise"} or bool, optional
        Check the frame against the catalog's pandera schema: warn (default), raise a
        :class:`bspandas.SchemaValidationError`, or skip with ``False``.
    on_missing : {"raise", "warn", "ignore"}, optional
        What a column the server dropped does: raise :class:`bspandas.MissingColumnsError`
        (default), warn and return the others, or return the others silently.
    on_ignored_filter : {"warn", "raise", "apply"}, optional
        What rows proving the server ignored a filter do: warn (default), raise
        :class:`bspandas.IgnoredFilterError`, or drop them.
    on_unknown : {"raise", "text"}, default "raise"
        A slug the catalog does not know raises :class:`bspandas.UnknownMetricError` with
        the closest ones, or is read as text with a warning.
    chunksize : int, optional
        Return an iterator of frames of this many rows (identical dtypes) instead of one.
    progress : bool, optional
        Show a progress bar (default: in terminals and notebooks, not under CI).
    nrows : int, optional
        Read the first rows only and close the stream once they are in.
    index_col : str or list of str, optional
        Set these columns as the index, as ``pd.read_csv`` does.
    local_dict, global_dict : dict, optional
        The variables ``@name`` reads in ``where``, as in ``DataFrame.query``.
    cache : bool, str, Path or Cache, optional
        Keep answers as Parquet on disk (``True``: the default folder) and serve repeated
        reads from there; default from :data:`bspandas.options`.
    dry_run : bool, default False
        Return the exact JSON payload instead of sending anything.

    Returns
    -------
    DataFrame, iterator of DataFrame, or dict
        The typed frame (its ``attrs["backstory"]`` records object, payload, host, fetch
        time and server date); an iterator of frames with ``chunksize``; the payload with
        ``dry_run=True``.

    Raises
    ------
    UnknownMetricError, InvalidVariationError, InvalidFilterError, QueryError
        Before any request, for a slug, period, filter or argument that cannot be sent.
    MissingColumnsError
        The server dropped a requested column (``on_missing="raise"``) or a filtered one.
    APIError, TransportError, TruncatedResponseError
        The service failed after the client's retries (the message says what to do).
    SchemaValidationError
        With ``validate="raise"``, rows that break the catalog's schema.

    Examples
    --------
    >>> from bspandas import read_query
    >>> payload = read_query("account", ["ootb_account_name", ("ootb_emails_sent", "last_30_days")],
    ...                      where="ootb_churn_risk_score >= 70", dry_run=True)
    >>> payload["filter"]
    {'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gte': 70}}
    >>> from bspandas import sandbox
    >>> with sandbox.serve(accounts=20, users=4, seed=7) as sb:
    ...     frame = read_query("account", ["ootb_account_name"], client=sb.client())
    >>> frame.shape
    (20, 1)
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
