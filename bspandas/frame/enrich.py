"""Fetching more columns for the rows a frame already has (``df.backstory.fetch``).

The ids of the frame go to the server in chunks (an ``$in`` filter on the row id), through
the client's pacer and retries, and the new columns are merged on, keeping row order. Rows
the server no longer returns keep empty new columns and are reported.

>>> import pandas as pd
>>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A", "001B"]})
>>> plan_fetch(frame, "account", ["industry"], chunksize=1)["payloads"][0]["filter"]
{'attribute': {'slug': 'ootb_account_crm_id'}, 'clause': {'$in': ['001A']}}
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from bspandas._exceptions import InvalidColumnsError, MissingRowsWarning, QueryError
from bspandas._http.client import Client
from bspandas._http.default import default_client
from bspandas._io.convert import empty_frame, unify_categories
from bspandas._utils import find_stacklevel, renamed
from bspandas.catalog.resolve import Column, parse_name, resolve
from bspandas.frame.columns import primary_key_column
from bspandas.query.builder import Query

__all__ = ["fetch_columns", "plan_fetch"]


_EXAMPLE_KEYS = {
    "account": "ootb_account_crm_id",
    "opportunity": "ootb_opportunity_crm_id",
    "user": "ootb_user (its _id column)",
    "activity": "ootb_activity_uid",
}


def _key(frame: pd.DataFrame, obj: str) -> tuple[str, Column]:
    name = primary_key_column(frame, obj)
    if name is None:
        raise InvalidColumnsError(
            f"fetch needs the {obj}'s row id in the frame, such as "
            f"{_EXAMPLE_KEYS.get(obj, 'its id column')}; none of the columns is one."
        )
    found = parse_name(name, obj)
    assert found is not None
    metric, period, _ = found
    (column,) = resolve([metric.slug if period is None else (metric.slug, period)], obj)
    return name, column


def _queries(
    frame: pd.DataFrame, obj: str, columns: Any, chunksize: int
) -> tuple[str, Column, list[Column], list[Query]]:
    if chunksize < 1:
        raise InvalidColumnsError(f"chunksize must be positive, got {chunksize!r}.")
    key_name, key_column = _key(frame, obj)
    wanted = [c for c in resolve(columns, obj) if c.name != key_column.name]
    if not wanted:
        raise InvalidColumnsError("fetch needs at least one column besides the row id.")
    present = [o.name for c in wanted for o in c.outputs() if o.name in frame.columns]
    if present:
        raise InvalidColumnsError(
            f"{', '.join(present)} already in the frame; drop them first to fetch them again."
        )
    ids = [v.item() if hasattr(v, "item") else v for v in frame[key_name].dropna().unique()]
    queries = [
        Query(
            obj,
            [key_column, *wanted],
            filter={key_name: {"$in": ids[start : start + chunksize]}},
            variables={},
        )
        for start in range(0, len(ids), chunksize)
    ]
    return key_name, key_column, wanted, queries


def _same_host(frame: pd.DataFrame, client: Client | None) -> Client:
    """The client to fetch with; refuse one whose host is not the frame's."""
    chosen = client if client is not None else default_client()
    meta = frame.attrs.get("backstory")
    recorded = meta.get("host") if isinstance(meta, dict) else None
    if recorded is not None and str(recorded) != chosen.host:
        raise QueryError(
            f"This frame was read from {str(recorded)!r} but the client talks to "
            f"{chosen.host!r}: fetching would merge rows of another tenant or service. Pass "
            "client= a client of the frame's host, or drop df.attrs['backstory'] if the "
            "ids really belong to the client's host."
        )
    return chosen


@renamed(chunk_size="chunksize", obj="object")
def plan_fetch(
    frame: pd.DataFrame, object: str, columns: Any, *, chunksize: int = 500
) -> dict[str, Any]:
    """What :func:`fetch_columns` would send, without sending anything.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame whose rows get the new columns; it must hold the object's row id.
    object : str
        The Backstory object of the rows. ``obj=`` is a deprecated spelling.
    columns : str, sequence or mapping
        The columns to fetch, in any form :func:`bspandas.read_query` accepts (slugs,
        ``(slug, period)`` pairs...); the key column itself is left out.
    chunksize : int, default 500
        How many ids go into one request (an ``$in`` filter). ``chunk_size=`` is a
        deprecated spelling.

    Returns
    -------
    dict
        ``key`` (the key column), ``columns`` (the new column names) and ``payloads``
        (one request body per chunk of distinct ids).

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame has no row id column, ``chunksize`` is not positive, or nothing is
        left to fetch.
    bspandas.UnknownMetricError
        If a column is not in the catalog of ``object``.

    Examples
    --------
    >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A", "001B", "001C"]})
    >>> plan = plan_fetch(frame, "account", ["industry"], chunksize=2)
    >>> plan["key"], plan["columns"], len(plan["payloads"])
    ('ootb_account_crm_id', ['industry'], 2)
    """
    obj = object
    key_name, _, wanted, queries = _queries(frame, obj, columns, chunksize)
    return {
        "key": key_name,
        "columns": [c.name for c in wanted],
        "payloads": [q.payload() for q in queries],
    }


@renamed(chunk_size="chunksize", obj="object")
def fetch_columns(
    frame: pd.DataFrame,
    object: str,
    columns: Any,
    *,
    client: Client | None = None,
    chunksize: int = 500,
    **options: Any,
) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` fetched for its rows and merged on.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame whose rows get the new columns; it must hold the object's row id.
    object : str
        The Backstory object of the rows. ``obj=`` is a deprecated spelling.
    columns : str, sequence or mapping
        The columns to fetch, in any form :func:`bspandas.read_query` accepts.
    client : bspandas.Client, optional
        The client to ask (else the default one). It must talk to the host the frame
        came from (``df.attrs["backstory"]["host"]``): ids of one tenant are never looked
        up in another.
    chunksize : int, default 500
        How many ids go into one request (an ``$in`` filter), each through the client's
        pacer and retries. ``chunk_size=`` is a deprecated spelling.
    **options
        Passed to :func:`bspandas.read_query` (``validate``, ``on_missing``,
        ``dtype_backend``...).

    Returns
    -------
    pandas.DataFrame
        ``frame`` with the new columns after its own (row order, index and attrs kept;
        ``attrs["backstory"]["fetched_columns"]`` lists them). Every chunk gets the same
        dtypes, categories included.

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame has no row id column, ``chunksize`` is not positive, nothing is left
        to fetch, or the server returns several rows for one id.
    bspandas.QueryError
        If the client talks to another host than the one the frame came from.
    bspandas.BackstoryError
        Whatever :func:`bspandas.read_query` raises (API, transport, validation errors).

    Warns
    -----
    bspandas.MissingRowsWarning
        When the server no longer returns some of the frame's ids (their new columns stay
        empty).

    Examples
    --------
    >>> from bspandas.sandbox import serve
    >>> with serve(accounts=4, users=2, seed=3) as sb:
    ...     client = sb.client()
    ...     import bspandas as bs
    ...     base = bs.read_query("account", ["ootb_account_crm_id"], client=client)
    ...     enriched = fetch_columns(base, "account", ["industry"], client=client)
    >>> enriched.columns.tolist()
    ['ootb_account_crm_id', 'industry']
    """
    obj = object
    from bspandas._read.reader import read_query

    key_name, key_column, wanted, queries = _queries(frame, obj, columns, chunksize)
    client = _same_host(frame, client)
    new_names = [o.name for c in wanted for o in c.outputs()]
    parts = [read_query(q, client=client, **options) for q in queries]
    unify_categories(parts, [o for c in wanted for o in c.outputs()])
    if parts:
        fetched = pd.concat(parts, ignore_index=True)
    else:  # no ids at all: nothing to ask, the new columns are empty (and typed)
        outputs = [o for c in [key_column, *wanted] for o in c.outputs()]
        fetched = empty_frame(outputs, dtype_backend=options.get("dtype_backend", "numpy_nullable"))
    fetched = fetched[[key_name, *new_names]]
    duplicated = fetched[key_name].duplicated(keep=False)
    if duplicated.any():
        keys = ", ".join(map(str, fetched.loc[duplicated, key_name].unique()[:5]))
        raise InvalidColumnsError(f"The server returned several rows for the ids {keys}.")
    missing = set(frame[key_name].dropna()) - set(fetched[key_name])
    if missing:
        sample = ", ".join(map(str, sorted(missing, key=str)[:5]))
        warnings.warn(
            f"The server returned no row for {len(missing)} of the frame's ids (e.g. {sample}); "
            "their new columns are empty. They may have been deleted or filtered out since "
            "the frame was read.",
            MissingRowsWarning,
            stacklevel=find_stacklevel(),
        )
    merged = frame.merge(fetched, on=key_name, how="left", sort=False, validate="many_to_one")
    merged.index = frame.index
    merged.attrs = dict(frame.attrs)
    meta = dict(merged.attrs.get("backstory") or {"object": obj})
    meta["fetched_columns"] = [*meta.get("fetched_columns", []), *new_names]
    merged.attrs["backstory"] = meta
    return merged
