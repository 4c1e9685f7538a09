"""What decides a cached answer (the cache key's extra part) and the header plan of a
cached frame.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pandas as pd

from bspandas._io.parse import HeaderPlan
from bspandas.catalog import store
from bspandas.query.builder import Query

__all__ = ["cache_extra", "cached_plan"]


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
