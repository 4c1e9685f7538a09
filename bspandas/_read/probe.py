"""Tenant discovery: which slugs (and variations) this tenant serves, and under which labels.

The Query API drops a slug or variation it does not know without an error (spec section 3),
so the only way to learn a tenant's vocabulary is to ask. :func:`probe` asks cheaply: it
sends the columns in batches with a filter that matches no row (the answer is then the
header line alone, field record), reads only that first line and closes the stream in any
case. A batch whose header cannot tell which column was dropped (unlabelled columns) is
split in two and asked again, so a dropped column costs a few requests, not one per column.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bspandas._exceptions import HeaderMismatchError, MissingColumnsError, ResponseError
from bspandas.catalog import store
from bspandas.catalog.resolve import Column, resolve

__all__ = ["NO_MATCH", "cached", "probe", "unserved"]

log = logging.getLogger(__name__)

#: Per object, a text attribute and a value no row holds: the filter that empties an answer.
NO_MATCH: dict[str, tuple[str, str]] = {
    "account": ("ootb_account_name", "bspandas-probe: no such account"),
    "opportunity": ("ootb_opportunity_name", "bspandas-probe: no such opportunity"),
    "user": ("ootb_user_email", "bspandas-probe: no such user"),
    "activity": ("ootb_activity_uid", "bspandas-probe: no such activity"),
    "person": ("ootb_person_email", "bspandas-probe: no such person"),
}

#: Columns asked for in one request.
BATCH = 25

#: How long a probe's findings are trusted (a tenant's vocabulary changes rarely).
TTL = 86400.0


def _path(client: Any, obj: str, directory: str | Path | None) -> Path:
    """The tenant's probe file: its name hashes the host and client id (never a secret)."""
    from bspandas._io.cache import Cache, default_cache_dir

    key = Cache.key(
        host=client.host, tenant=client.client_id, payload={"probe": obj}, extra="probe-1"
    )
    folder = Path(directory).expanduser() if directory is not None else default_cache_dir()
    return folder / f"bspandas-probe-{key}.json"


def cached(
    client: Any,
    object: str,
    *,
    directory: str | Path | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, dict[str, Any]]:
    """What earlier probes (younger than a day) learnt about this tenant's ``object``:
    ``{column name: {"served": bool, "label": str | None, "at": seconds}}``."""
    path = _path(client, object, directory)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(entries, dict):
        return {}
    now = clock()
    return {
        name: entry
        for name, entry in entries.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("served"), bool)
        and isinstance(entry.get("at"), int | float)
        and now - entry["at"] < TTL
    }


def _save(
    client: Any,
    obj: str,
    found: dict[str, dict[str, Any]],
    directory: str | Path | None,
    clock: Callable[[], float],
) -> None:
    from bspandas._io.cache import Cache

    path = _path(client, obj, directory)
    folder = Cache(path.parent)
    try:
        if not folder._check_directory():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        entries = {**cached(client, obj, directory=directory, clock=clock), **found}
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(entries, handle)
        os.replace(temporary, path)
    except OSError as exc:  # a probe's answer is still returned
        log.warning("could not store the probe of %s: %s", obj, exc)


def unserved(
    client: Any, object: str, columns: Sequence[Column], *, directory: str | Path | None = None
) -> list[Column]:
    """The columns a cached probe found this tenant does not serve (none without one)."""
    known = cached(client, object, directory=directory)
    return [c for c in columns if known.get(c.name, {}).get("served") is False]


class _Prober:
    def __init__(self, obj: str, client: Any, budget: int | None) -> None:
        self.object = obj
        self.client = client
        self.budget = budget
        self.requests = 0
        self.rows_seen = False
        self.found: dict[str, tuple[bool | None, str | None]] = {}

    def header(self, columns: Sequence[Column]) -> list[str]:
        from bspandas._io.header import _split_header

        slug, value = NO_MATCH.get(self.object, (None, None))
        payload: dict[str, Any] = {
            "object": self.object,
            "columns": [c.api() for c in columns],
        }
        if slug is not None:
            payload["filter"] = {"attribute": {"slug": slug}, "clause": {"$eq": value}}
        self.requests += 1
        with self.client.stream(payload) as body:
            try:
                labels, rest = _split_header(body)
            except ResponseError:  # an empty first line (or none): every column dropped
                return []
            # only the first line is wanted: peek whether a row follows, then close
            self.rows_seen = self.rows_seen or bool(rest.read(1))
        return labels

    def filterable(self, column: Column) -> bool | None:
        """Whether the tenant applies a filter on ``column``: one that matches no row
        answers with the header alone; rows mean the filter was ignored. ``None`` where no
        such filter exists (booleans, lists) or the budget is spent."""
        from bspandas.query.grammar import _FAMILY

        part = column.metric.parts[0]
        family = _FAMILY.get(part.type)
        if column.metric.expanded and part.tag == "id":
            clause: dict[str, Any] = {"$eq": -1}
        elif family == "text":
            clause = {"$eq": "bspandas-probe: no such value"}
        elif family in ("number", "time"):
            clause = {"$lt": -(10**15)}
        else:
            return None
        if self.budget is not None and self.requests >= self.budget:
            return None
        attribute = {"slug": column.slug}
        if column.variation_id is not None:
            attribute["variation_id"] = column.variation_id
        payload = {
            "object": self.object,
            "columns": [column.api()],
            "filter": {"attribute": attribute, "clause": clause},
        }
        from bspandas._io.header import _split_header

        self.requests += 1
        with self.client.stream(payload) as body:
            _labels, rest = _split_header(body)
            return not rest.read(1)  # the first byte of a row, if one came; then closed

    def run(self, columns: Sequence[Column]) -> None:
        if not columns:
            return
        if self.budget is not None and self.requests >= self.budget:
            for c in columns:
                self.found.setdefault(c.name, (None, None))
            return
        labels = self.header(columns)
        if not labels or (len(columns) == 1 and not labels):
            for c in columns:
                self.found[c.name] = (False, None)
            return
        try:
            from bspandas._io.align import match_header

            plan = match_header(labels, columns)
        except (MissingColumnsError, HeaderMismatchError):
            if len(columns) == 1:
                self.found[columns[0].name] = (True, " | ".join(labels))
                return
            half = len(columns) // 2
            self.run(columns[:half])
            self.run(columns[half:])
            return
        by_column: dict[str, list[str]] = {}
        for output, label in zip(plan.outputs, plan.labels, strict=False):
            by_column.setdefault(output.column.name, []).append(label)
        for c in columns:
            got = by_column.get(c.name)
            self.found[c.name] = (True, " | ".join(got)) if got else (False, None)


def probe(
    object: str,
    columns: Any = None,
    *,
    client: Any = None,
    budget: int | None = None,
    batch: int = BATCH,
    cache: bool | str | Path = True,
    clock: Callable[[], float] = time.time,
    filters: bool = False,
) -> pd.DataFrame:
    """One row per requested column (slug or ``(slug, period)``): ``slug``,
    ``variation_id``, ``served`` (``<NA>`` when the ``budget`` of requests ran out),
    ``label`` (the header the tenant sends) and ``filterable`` (``<NA>``: not told by the
    header, unless ``filters=True``: then one more request per served attribute, with a
    filter on it that matches no row). ``columns=None`` probes every catalog slug of the
    object (bare where it takes no period, else its first period), within ``budget``
    requests. ``attrs["requests"]`` says how many requests were spent.
    Findings are kept for a day per tenant (``cache=``: True for ``~/.cache/bspandas``, a
    folder, or False), and :func:`bspandas.read_query` then refuses those columns early.
    """
    obj = store.check_object(object)
    if columns is None:
        columns = [
            m.slug if m.bare or not m.periods else (m.slug, m.periods[0])
            for m in store.all_metrics(obj)
        ]
    resolved = resolve(columns, obj)
    if client is None:
        from bspandas._http.default import default_client

        client = default_client()
    prober = _Prober(obj, client, budget)
    for start in range(0, len(resolved), max(1, batch)):
        prober.run(resolved[start : start + batch])
    if cache is not False:
        now = clock()
        found = {
            name: {"served": served, "label": label, "at": now}
            for name, (served, label) in prober.found.items()
            if served is not None
        }
        _save(client, obj, found, None if cache is True else cache, clock)
    no_match_slug = NO_MATCH.get(obj, ("", ""))[0]
    rows = []
    for c in resolved:
        served, label = prober.found.get(c.name, (None, None))
        filterable: bool | None = None
        if c.slug == no_match_slug and served:
            filterable = not prober.rows_seen
        elif filters and served:
            filterable = prober.filterable(c)
        rows.append(
            {
                "slug": c.slug,
                "variation_id": c.variation_id,
                "served": served,
                "label": label,
                "filterable": filterable,
            }
        )
    frame = pd.DataFrame(rows, columns=["slug", "variation_id", "served", "label", "filterable"])
    frame["served"] = frame["served"].astype("boolean")
    frame["filterable"] = frame["filterable"].astype("boolean")
    frame.attrs["requests"] = prober.requests
    log.info("probe of %d %s column(s): %d request(s)", len(resolved), obj, prober.requests)
    return frame
