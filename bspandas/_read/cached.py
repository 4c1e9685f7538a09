"""A whole read through the cache: what decides a cached answer (the key's extra part),
the header plan of a cached frame, and the read that serves a hit or stores a fresh answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime

import pandas as pd

from bspandas._io.align import HeaderPlan
from bspandas._io.cache import Cache
from bspandas._read.steps import Reader, now_iso
from bspandas.catalog import store
from bspandas.query.builder import Query

__all__ = ["cache_extra", "cached_plan", "read_through"]


def cache_extra(query: Query, dtype_backend: str, on_missing: str) -> str:
    """What besides host, tenant and payload decides a cached answer: the catalog version,
    the backend, ``on_missing`` and the full definition of every requested column (a
    custom metric registered again with another type or label is another entry)."""
    definitions = [
        {"name": c.name, "period": c.period, "metric": dataclasses.asdict(c.metric)}
        for c in query.request_columns
    ]
    digest = hashlib.sha256(
        json.dumps(definitions, sort_keys=True, default=str).encode()
    ).hexdigest()
    return f"{store.version()}|{dtype_backend}|on_missing={on_missing}|columns={digest}"


def cached_plan(query: Query, frame: pd.DataFrame) -> HeaderPlan | None:
    """The header plan of a cached frame: requested columns absent from it are missing (as
    if the server had dropped them); None when it holds columns the query did not ask for."""
    outputs = [o for c in query.request_columns for o in c.outputs()]
    names = {o.name for o in outputs}
    if any(str(name) not in names for name in frame.columns):
        return None
    present = set(map(str, frame.columns))
    missing = [c for c in query.request_columns if any(o.name not in present for o in c.outputs())]
    dropped = {c.name for c in missing}
    kept = [o for o in outputs if o.column.name not in dropped]
    if [o.name for o in kept] != [str(name) for name in frame.columns]:
        return None
    return HeaderPlan(kept, missing)


def read_through(reader: Reader, cache: Cache | None) -> pd.DataFrame:
    """The whole answer of ``reader``'s query: from ``cache`` when it holds this query's
    answer (checked by the rules of a fresh read), else downloaded and stored there."""
    query = reader.query
    key = ""
    if cache is not None:
        key = cache.key(
            host=reader.client.host,
            tenant=reader.client.client_id,
            payload=query.payload(),
            extra=cache_extra(query, reader.dtype_backend, reader.on_missing),
        )
        hit = cache.load(key, arrow_dtypes=reader.dtype_backend == "pyarrow")
        if hit is not None:
            frame, meta = hit
            if meta.get("server_date"):
                reader.server_now = datetime.fromisoformat(meta["server_date"])
            plan = cached_plan(query, frame)
            fetched = meta.get("fetched_at")
            if plan is not None and isinstance(fetched, str):
                reader.check_header(plan)  # the rules of a fresh read (on_missing...)
                return reader.finish(frame, plan, fetched)
            cache.drop(key, "its columns or metadata are not those of this query's answer")
    frame, plan = reader.fetch()
    fetched_at = now_iso()
    if cache is not None:
        cache.store(
            key,
            frame,
            {
                "fetched_at": fetched_at,
                "server_date": None if reader.server_now is None else reader.server_now.isoformat(),
                "missing": [c.name for c in plan.missing],
                "rows": len(frame),
            },
        )
    return reader.finish(frame, plan, fetched_at)
