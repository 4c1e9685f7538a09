"""The metric engine: every served (object, slug, period) value column, computed from the
raw tenant tables by the rules of :mod:`bspandas.sandbox.rules` and cached.

Each catalog entry of account, opportunity, user and activity has a rule here; the catalog
itself (``bspandas.catalog``) says which periods exist, the types and the labels. Columns
are computed on first request and cached, one Arrow array per part of the metric, in a
canonical Arrow type per catalog type (strings, int64, float64, bool, date32,
timestamp[s], int64 seconds for durations, list<string>).

Windows come from ``bspandas.catalog.vocabulary.window`` relative to the tenant's ``as_of``:
activity counts look back (``mode="past"``), upcoming meetings look forward
(``mode="future"``), opportunity close dates use whole calendar units (``mode="full"``).
Quarters and years are the tenant's fiscal ones (``TenantOptions.fiscal_year_start``).

>>> from bspandas.catalog import store
>>> from bspandas.sandbox.tenant import Tenant
>>> engine = MetricEngine(Tenant(accounts=10, users=3, seed=2))
>>> metric = store.find("ootb_account_count_of_meetings_standard", "account")
>>> week, month = (engine.values(metric, p)[0] for p in ("last_7_days", "last_30_days"))
>>> bool((week.to_numpy() <= month.to_numpy()).all())
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from bspandas.catalog import vocabulary as vocab
from bspandas.catalog.model import Metric
from bspandas.sandbox.arrays import Arr, Values, coerce, ints
from bspandas.sandbox.rules import RULES, Rule, registered_rule
from bspandas.sandbox.tenant import Tenant
from bspandas.sandbox.tenant.columns import take
from bspandas.sandbox.tenant.pools import CALL, DAY, EMAIL, MEETING

__all__ = ["MetricEngine"]


class MetricEngine:
    """Computes and caches value columns for one tenant (thread-safe)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._lock = threading.RLock()
        self._cache: dict[tuple[Any, ...], Values] = {}
        self._memo: dict[Any, Any] = {}

    @property
    def as_of(self) -> datetime:
        return self.tenant.as_of

    @property
    def fiscal_year_start(self) -> int:
        """The month the tenant's fiscal year (and so its quarters) starts in."""
        return self.tenant.options.fiscal_year_start

    def rows(self, obj: str) -> int:
        return self.tenant.size(obj)

    @staticmethod
    def rule(obj: str, slug: str) -> Rule | None:
        return RULES.get((obj, slug))

    def values(self, metric: Metric, period: str | None) -> Values:
        """One canonical Arrow array per part of ``metric`` for ``period`` (None: bare)."""
        key: tuple[Any, ...] = (metric.object, metric.slug, period)
        if metric.source == "custom":  # a registration may change: key on its shape
            key = (metric.object, metric.slug, period, metric.type, len(metric.parts))
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                rule = RULES.get((metric.object, metric.slug)) or registered_rule(metric)
                raw = rule(self, period)
                arrays = raw if isinstance(raw, tuple) else (raw,)
                if len(arrays) != len(metric.parts):
                    raise AssertionError(f"{metric.slug}: {len(arrays)} arrays for parts")
                pairs = zip(metric.parts, arrays, strict=True)
                found = tuple(coerce(part.type, array) for part, array in pairs)
                self._cache[key] = found
            return found

    def override(self, metric: Metric, period: str | None, arrays: Sequence[Any]) -> None:
        """Serve ``arrays`` (one per part, one value per row) for ``(metric, period)`` instead
        of the computed values: the hook for property tests of the wire format."""
        if len(arrays) != len(metric.parts):
            raise ValueError(
                f"{metric.slug} has {len(metric.parts)} parts, got {len(arrays)} arrays"
            )
        rows = self.rows(metric.object)
        coerced = []
        for part, array in zip(metric.parts, arrays, strict=True):
            arrow = array if isinstance(array, pa.Array | pa.ChunkedArray) else pa.array(array)
            if len(arrow) != rows:
                raise ValueError(
                    f"{metric.slug}: {len(arrow)} values for {rows} {metric.object} rows"
                )
            coerced.append(coerce(part.type, arrow))
        with self._lock:
            self._cache[(metric.object, metric.slug, period)] = tuple(coerced)

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = make()
            return self._memo[key]

    # -- windows ---------------------------------------------------------------------------

    def window(self, period: str, mode: str = "past") -> tuple[int | None, int | None]:
        """``vocabulary.window`` in epoch seconds; ``any_time``/``total`` are open-ended."""
        if period == "total":
            period = "any_time"
        start, end = vocab.window(
            period,
            self.as_of,
            mode=mode,  # type: ignore[arg-type]
            fiscal_year_start=self.fiscal_year_start,
        )
        return (
            None if start is None else int(start.timestamp()),
            None if end is None else int(end.timestamp()),
        )

    def _activity_slice(self, period: str, mode: str) -> slice:
        ts = self.tenant.activities_raw.ts
        start, end = self.window(period, mode)
        lo = 0 if start is None else int(np.searchsorted(ts, start, side="left"))
        hi = len(ts) if end is None else int(np.searchsorted(ts, end, side="left"))
        return slice(lo, hi)

    def activity(
        self,
        key: str,
        period: str,
        *,
        kinds: tuple[int, ...] | None = None,
        outbound: bool | None = None,
        external: bool | None = None,
        levels: tuple[int, ...] | None = None,
        agg: str = "count",
        mode: str = "past",
    ) -> Arr:
        """An aggregate of the activity log per ``key`` (account, opportunity or user)."""
        memo_key = ("activity", key, period, kinds, outbound, external, levels, agg, mode)
        found: Arr = self.memo(
            memo_key,
            lambda: self._activity(key, period, kinds, outbound, external, levels, agg, mode),
        )
        return found

    def _activity(
        self,
        key: str,
        period: str,
        kinds: tuple[int, ...] | None,
        outbound: bool | None,
        external: bool | None,
        levels: tuple[int, ...] | None,
        agg: str,
        mode: str,
    ) -> Arr:
        x = self.tenant.activities_raw
        part = self._activity_slice(period, mode)
        keys = {"account": x.account, "opportunity": x.opportunity, "user": x.user}[key][part]
        size = self.rows(key)
        mask = keys >= 0
        if kinds is not None:
            mask &= np.isin(x.type[part], kinds)
        if outbound is not None:
            mask &= x.outbound[part] == outbound
        if external is not None:
            mask &= x.external[part] == external
        contact = x.contact[part]
        if levels is not None:
            level = self.tenant.contacts_raw.level
            mask &= (contact >= 0) & np.isin(level[np.where(contact >= 0, contact, 0)], levels)
        if agg == "count":
            return np.bincount(keys[mask], minlength=size)
        if agg == "duration":
            duration = x.duration_s[part]
            mask &= duration >= 0
            return np.bincount(keys[mask], weights=duration[mask], minlength=size).astype(np.int64)
        if agg == "accepted":
            mask &= x.accepted[part] == 1
            return np.bincount(keys[mask], minlength=size)
        other = {"contacts": contact, "accounts": x.account[part]}[agg]
        mask &= other >= 0
        width = np.int64(max(1, len(self.tenant.contacts_raw.internal_id), self.rows("account")))
        pairs = np.unique(keys[mask].astype(np.int64) * width + other[mask])
        return np.bincount(pairs // width, minlength=size)

    def last_activity(self, key: str, kinds: tuple[int, ...] | None = None) -> Arr:
        """Epoch seconds of the last past activity per key (-1 when none)."""

        def make() -> Arr:
            x = self.tenant.activities_raw
            part = self._activity_slice("any_time", "past")
            keys = {"account": x.account, "opportunity": x.opportunity}[key][part]
            mask = keys >= 0
            if kinds is not None:
                mask &= np.isin(x.type[part], kinds)
            out = np.full(self.rows(key), -1, dtype=np.int64)
            np.maximum.at(out, keys[mask], x.ts[part][mask])
            return out

        found: Arr = self.memo(("last", key, kinds), make)
        return found

    def engagement(self, key: str, period: str) -> Arr:
        """A 0-100 engagement score from weighted activity in the window, scaled by the
        tenant-wide mean so the typical account sits in the middle of the range."""
        emails = self.activity(key, period, kinds=(EMAIL,))
        meetings = self.activity(key, period, kinds=(MEETING,))
        calls = self.activity(key, period, kinds=(CALL,))
        weighted = emails + 3 * meetings + 2 * calls
        start, end = self.window(period)
        days = max(1.0, ((end or self.tenant.as_of_s) - (start or 0)) / DAY)
        overall = sum(
            weight * self.activity(key, "any_time", kinds=(kind,)).sum()
            for weight, kind in ((1, EMAIL), (3, MEETING), (2, CALL))
        )
        per_day = max(overall / max(1, self.rows(key)) / self.tenant.options.history_days, 1e-9)
        score: Arr = np.round(100 * (1 - np.exp(-weighted / (2 * per_day * days))), 1)
        return score

    # -- opportunities per account / user ---------------------------------------------------

    def opp_sum(
        self,
        key: str,
        select: Arr,
        *,
        weights: Arr | None = None,
    ) -> Arr:
        o = self.tenant.opportunities_raw
        index = o.account if key == "account" else o.owner
        if weights is None:
            return np.bincount(index[select], minlength=self.rows(key))
        total = np.bincount(index[select], weights=weights[select], minlength=self.rows(key))
        return np.rint(total).astype(np.int64)

    def close_in(self, period: str, mode: str = "full") -> Arr:
        o = self.tenant.opportunities_raw
        start, end = self.window(period, mode)
        close_s = o.close_day * DAY
        inside = np.ones(len(close_s), dtype=bool)
        if start is not None:
            inside &= close_s >= start
        if end is not None:
            inside &= close_s < end
        return inside

    def created_in(self, period: str) -> Arr:
        o = self.tenant.opportunities_raw
        start, end = self.window(period)
        inside = np.ones(len(o.created_s), dtype=bool)
        if start is not None:
            inside &= o.created_s >= start
        if end is not None:
            inside &= o.created_s < end
        return inside

    # -- references --------------------------------------------------------------------------

    def user_ref(self, index: Arr) -> Values:
        u = self.tenant.users_raw
        missing = index < 0
        safe = np.where(missing, 0, index)
        return ints(u.internal_id[safe], missing), take(u.name, np.where(missing, -1, index))
