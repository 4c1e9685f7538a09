"""Every served (object, slug, period) value column, computed from the raw tenant tables.

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
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.catalog import store
from bspandas.catalog import vocabulary as vocab
from bspandas.catalog.model import Metric
from bspandas.sandbox import tenant as t
from bspandas.sandbox.tenant import DAY, Tenant

__all__ = ["SERVED_OBJECTS", "MetricEngine", "rule_keys", "served_periods"]

Arr = npt.NDArray[Any]
Values = tuple[Any, ...]
Rule = Callable[["MetricEngine", str | None], Any]

#: Objects with rows in the sandbox (``person``: the tenant's contacts, query-api.md
#: appendix, "Slugs verified live").
SERVED_OBJECTS: tuple[str, ...] = ("account", "opportunity", "user", "activity", "person")

# -- canonical Arrow arrays ------------------------------------------------------------------


def _mask(missing: Arr | None) -> Arr | None:
    return None if missing is None or not missing.any() else missing


def ints(values: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(missing))


def floats(values: Arr, decimals: int = 2) -> Any:
    data = np.round(np.asarray(values, dtype=np.float64), decimals)
    return pa.array(data, pa.float64(), from_pandas=True)


def bools(values: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=_mask(missing))


def dates(days: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=_mask(missing))


def stamps(seconds: Arr, missing: Arr | None = None) -> Any:
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"), mask=_mask(missing))


def _pool(values: tuple[str, ...]) -> Any:
    return pa.array(list(values), pa.string())


def texts(pool: tuple[str, ...], codes: Arr) -> Any:
    return t._take(_pool(pool), codes)


def _ratio(num: Arr, den: Arr, cap: float | None = None) -> Arr:
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1), np.nan)
    return np.minimum(value, cap) if cap is not None else value


_CANON = {
    "text": pa.string(),
    "id": pa.string(),
    "enumeration": pa.string(),
    "internal_id": pa.int64(),
    "count": pa.int64(),
    "duration": pa.int64(),
    "number": pa.float64(),
    "score": pa.float64(),
    "percentage": pa.float64(),
    "money": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "list": pa.list_(pa.string()),
}


def canonical_type(part_type: str) -> Any:
    """The Arrow type the engine uses for a catalog part type."""
    return _CANON[part_type]


# -- the engine ----------------------------------------------------------------------------------


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
        return _RULES.get((obj, slug))

    def values(self, metric: Metric, period: str | None) -> Values:
        """One canonical Arrow array per part of ``metric`` for ``period`` (None: bare)."""
        key: tuple[Any, ...] = (metric.object, metric.slug, period)
        if metric.source == "custom":  # a registration may change: key on its shape
            key = (metric.object, metric.slug, period, metric.type, len(metric.parts))
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                rule = _RULES.get((metric.object, metric.slug)) or _registered_rule(metric)
                raw = rule(self, period)
                arrays = raw if isinstance(raw, tuple) else (raw,)
                if len(arrays) != len(metric.parts):
                    raise AssertionError(f"{metric.slug}: {len(arrays)} arrays for parts")
                pairs = zip(metric.parts, arrays, strict=True)
                found = tuple(_coerce(part.type, array) for part, array in pairs)
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
            coerced.append(_coerce(part.type, arrow))
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
        emails = self.activity(key, period, kinds=(t.EMAIL,))
        meetings = self.activity(key, period, kinds=(t.MEETING,))
        calls = self.activity(key, period, kinds=(t.CALL,))
        weighted = emails + 3 * meetings + 2 * calls
        start, end = self.window(period)
        days = max(1.0, ((end or self.tenant.as_of_s) - (start or 0)) / DAY)
        overall = sum(
            weight * self.activity(key, "any_time", kinds=(kind,)).sum()
            for weight, kind in ((1, t.EMAIL), (3, t.MEETING), (2, t.CALL))
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
        return ints(u.internal_id[safe], missing), t._take(u.name, np.where(missing, -1, index))


def _coerce(part_type: str, array: Any) -> Any:
    target = _CANON[part_type]
    if not isinstance(array, pa.Array | pa.ChunkedArray):
        raise TypeError(f"rule returned {type(array).__name__}, not an Arrow array")
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != target:
        array = array.cast(target)
    return array


# -- rules ---------------------------------------------------------------------------------------

_RULES: dict[tuple[str, str], Rule] = {}


def _rules(obj: str, table: dict[str, Rule]) -> None:
    for slug, rule in table.items():
        _RULES[(obj, slug)] = rule


def rule_keys() -> frozenset[tuple[str, str]]:
    """Every (object, slug) the engine can compute."""
    return frozenset(_RULES)


def _p(period: str | None, default: str = "current") -> str:
    return default if period is None else period


def _count(key: str, **kw: Any) -> Rule:
    """A windowed activity aggregate (counts, distinct people, time spent)."""

    def rule(e: MetricEngine, period: str | None) -> Any:
        window = _p(period, "last_7_days")
        value = e.activity(key, "any_time" if window == "total" else window, **kw)
        return ints(value)

    return rule


def _upcoming(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        return ints(e.activity(key, _p(period, "next_7_days"), kinds=(t.MEETING,), mode="future"))

    return rule


def _emails(e: MetricEngine, key: str, window: str) -> tuple[Any, Any]:
    """Emails sent and received per ``key`` in a window."""
    sent = e.activity(key, window, kinds=(t.EMAIL,), outbound=True)
    received = e.activity(key, window, kinds=(t.EMAIL,), outbound=False)
    return sent, received


def _inbound_share(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        sent, received = _emails(e, key, _p(period, "last_7_days"))
        return floats(_ratio(received, sent + received), 1)

    return rule


def _response_rate(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        sent, received = _emails(e, key, _p(period, "last_30_days"))
        return floats(_ratio(received, sent, cap=100.0), 1)

    return rule


def _duration(key: str, external: bool | None = None) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        window = _p(period, "last_7_days")
        return ints(e.activity(key, window, external=external, agg="duration"))

    return rule


def _external_time_share(e: MetricEngine, period: str | None) -> Any:
    window = _p(period, "last_7_days")
    external = e.activity("user", window, external=True, agg="duration")
    return floats(_ratio(external, e.activity("user", window, agg="duration")), 1)


def _stored(table: str, column: str, kind: str = "float") -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        values = getattr(getattr(e.tenant, f"{table}_raw"), column)
        if kind == "float":
            return floats(values, 1)
        if kind == "bool":
            return bools(values)
        if kind == "int":
            return ints(values)
        return values

    return rule


# account ------------------------------------------------------------------------------------


def _a(e: MetricEngine) -> t.Accounts:
    return e.tenant.accounts_raw


def _account_owner(e: MetricEngine, period: str | None) -> Values:
    return e.user_ref(_a(e).owner)


def _account_open_opps(e: MetricEngine, period: str | None) -> Any:
    o = e.tenant.opportunities_raw
    window = _p(period, "last_7_days")
    return ints(e.opp_sum("account", (o.stage < t.WON) & e.created_in(window)))


def _account_closing(e: MetricEngine, period: str | None) -> Any:
    o = e.tenant.opportunities_raw
    window = _p(period, "next_7_days")
    mode = "full" if window in ("any_time", "this_month", "this_quarter") else "future"
    select = (o.stage < t.WON) & e.close_in(window, mode)
    return floats(e.opp_sum("account", select, weights=o.converted_cents) / 100)


def _account_closed(stage: int) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        o = e.tenant.opportunities_raw
        select = (o.stage == stage) & e.close_in(_p(period, "last_7_days"), "past")
        return ints(e.opp_sum("account", select))

    return rule


def _pipeline(which: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        o = e.tenant.opportunities_raw
        select = {
            "total": np.ones(len(o.stage), dtype=bool),
            "open": o.stage < t.WON,
            "won": o.stage == t.WON,
            "lost": o.stage == t.LOST,
        }[which]
        if which in ("won", "lost"):
            select = select & e.close_in(_p(period, "this_quarter"))
        return floats(e.opp_sum("account", select, weights=o.converted_cents) / 100)

    return rule


def _opportunity_count(e: MetricEngine, period: str | None) -> Any:
    o = e.tenant.opportunities_raw
    which = _p(period, "total")
    select = {
        "total": np.ones(len(o.stage), dtype=bool),
        "open": o.stage < t.WON,
        "won": o.stage == t.WON,
        "lost": o.stage == t.LOST,
    }[which]
    return ints(e.opp_sum("account", select))


def _average_deal(e: MetricEngine, period: str | None) -> Any:
    o = e.tenant.opportunities_raw
    everything = np.ones(len(o.stage), dtype=bool)
    total = e.opp_sum("account", everything, weights=o.converted_cents) / 100
    count = e.opp_sum("account", everything)
    with np.errstate(divide="ignore", invalid="ignore"):
        return floats(np.where(count > 0, total / np.maximum(count, 1), np.nan))


def _engagement_level(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        window = "last_90_days" if period in (None, "current") else period
        return floats(e.engagement(key, window), 1)

    return rule


def _activity_frequency(e: MetricEngine, period: str | None) -> Any:
    count = e.activity("account", "last_90_days")
    mean = max(float(count.mean()), 1e-9)
    code = np.where(count >= 1.5 * mean, 0, np.where(count < 0.5 * mean, 2, 1))
    return texts(("high", "medium", "low"), code)


def _engagement_trend(e: MetricEngine, period: str | None) -> Any:
    recent = e.activity("account", "last_30_days")
    before = e.activity("account", "last_60_days") - recent
    code = np.where(recent > 1.25 * before + 1, 0, np.where(recent < 0.75 * before - 1, 2, 1))
    return texts(("increasing", "stable", "declining"), code)


def _last_activity_date(e: MetricEngine, period: str | None) -> Any:
    last = e.last_activity("account")
    return dates(np.where(last >= 0, last // DAY, 0), last < 0)


def _last_activity_days(e: MetricEngine, period: str | None) -> Any:
    last = e.last_activity("account")
    days = e.tenant.as_of_s // DAY - last // DAY
    return ints(np.where(last >= 0, days, 0), last < 0)


def _last_meeting(e: MetricEngine, period: str | None) -> Any:
    last = e.last_activity("account", (t.MEETING,))
    return stamps(np.where(last >= 0, last, 0), last < 0)


def _executive_engagement(e: MetricEngine, period: str | None) -> Any:
    return bools(e.activity("account", "last_90_days", levels=(0,)) > 0)


def _multi_threading(e: MetricEngine, period: str | None) -> Any:
    return ints(e.activity("account", "last_90_days", agg="contacts", external=True))


_rules(
    "account",
    {
        "account_domain": lambda e, p: _a(e).domain,
        "account_tier": lambda e, p: texts(t.TIERS, _a(e).tier),
        "annual_revenue": _stored("accounts", "annual_revenue", "float"),
        "company_size": _stored("accounts", "company_size", "int"),
        "crm_account_owner": lambda e, p: e.user_ref(_a(e).owner)[1],
        "industry": lambda e, p: texts(t.INDUSTRIES, _a(e).industry),
        "ootb_account_annual_revenue": _stored("accounts", "annual_revenue", "float"),
        "ootb_account_count_of_emails_received": _count(
            "account", kinds=(t.EMAIL,), outbound=False
        ),
        "ootb_account_count_of_emails_sent": _count("account", kinds=(t.EMAIL,), outbound=True),
        "ootb_account_count_of_meetings_standard": _count("account", kinds=(t.MEETING,)),
        "ootb_account_crm_id": lambda e, p: _a(e).crm_id,
        "ootb_account_domain": lambda e, p: _a(e).domain,
        "ootb_account_engagement_level": _engagement_level("account"),
        "ootb_account_executive_activities": _count("account", levels=(0,)),
        "ootb_account_executive_engaged": _count("account", levels=(0,), agg="contacts"),
        "ootb_account_id": lambda e, p: ints(_a(e).internal_id),
        "ootb_account_industry": lambda e, p: texts(t.INDUSTRIES, _a(e).industry),
        "ootb_account_closed_lost_opportunities": _account_closed(t.LOST),
        "ootb_account_closed_won_opportunities": _account_closed(t.WON),
        "ootb_account_count_of_emails": _count("account", kinds=(t.EMAIL,)),
        "ootb_account_count_of_engaged_executives_external": _count(
            "account", external=True, levels=(0,), agg="contacts"
        ),
        "ootb_account_count_of_external_people_contacted": _count(
            "account", external=True, outbound=True, agg="contacts"
        ),
        "ootb_account_description": lambda e, p: pc.binary_join_element_wise(
            _a(e).name, pa.scalar(" account"), ""
        ),
        "ootb_account_last_meeting_date": _last_meeting,
        "ootb_account_name": lambda e, p: _a(e).name,
        "ootb_account_open_opportunities": _account_open_opps,
        "ootb_account_open_opportunity_amount_closing_standard": _account_closing,
        "ootb_account_original_owner": _account_owner,
        "ootb_account_people_engaged": _count("account", external=True, agg="contacts"),
        "ootb_account_people_internal_id": lambda e, p: ints(_a(e).internal_id),
        "ootb_account_percentage_emails_inbound": _inbound_share("account"),
        "ootb_account_total_activities_time_spent_standard": _duration("account"),
        "ootb_account_type": lambda e, p: texts(t.ACCOUNT_TYPES, _a(e).type),
        "ootb_account_upcoming_meetings_standard": _upcoming("account"),
        "ootb_activity_frequency": _activity_frequency,
        "ootb_average_deal_size": _average_deal,
        "ootb_buying_intent_score": _stored("accounts", "buying_intent_score"),
        "ootb_calls_made": _count("account", kinds=(t.CALL,)),
        "ootb_churn_risk_score": _stored("accounts", "churn_risk_score"),
        "ootb_emails_received": _count("account", kinds=(t.EMAIL,), outbound=False),
        "ootb_emails_sent": _count("account", kinds=(t.EMAIL,), outbound=True),
        "ootb_engagement_trend": _engagement_trend,
        "ootb_executive_engagement": _executive_engagement,
        "ootb_last_activity_date": _last_activity_date,
        "ootb_last_activity_days": _last_activity_days,
        "ootb_lost_pipeline_value": _pipeline("lost"),
        "ootb_meetings_held": _count("account", kinds=(t.MEETING,)),
        "ootb_multi_threading_score": _multi_threading,
        "ootb_open_pipeline_value": _pipeline("open"),
        "ootb_opportunity_count": _opportunity_count,
        "ootb_relationship_strength": _stored("accounts", "relationship_strength"),
        "ootb_response_rate": _response_rate("account"),
        "ootb_total_pipeline_value": _pipeline("total"),
        "ootb_won_pipeline_value": _pipeline("won"),
    },
)

# opportunity -----------------------------------------------------------------------------------


def _o(e: MetricEngine) -> t.Opportunities:
    return e.tenant.opportunities_raw


def _stage_names(e: MetricEngine, period: str | None) -> Any:
    """The tenant's stage picklist, custom values included (they are the tenant's)."""
    return texts(t.TENANT_STAGES, _o(e).stage_names())


def _closed(e: MetricEngine) -> Arr:
    return _o(e).stage >= t.WON


def _opp_account(column: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        return getattr(_a(e), column).take(pa.array(_o(e).account))

    return rule


def _owners_list(e: MetricEngine, period: str | None) -> Any:
    o = _o(e)
    names = e.tenant.users_raw.name
    members = np.stack([o.owner, o.co_owner_1, o.co_owner_2], axis=1)
    present = members >= 0
    lengths = present.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    flat = members[present]
    return pa.ListArray.from_arrays(pa.array(offsets), names.take(pa.array(flat)))


def _days_in_stage_seconds(e: MetricEngine) -> Arr:
    return e.tenant.as_of_s - _o(e).stage_entered_s


def _sales_cycle(e: MetricEngine, period: str | None) -> Any:
    o = _o(e)
    end_day = np.where(o.stage >= t.WON, o.close_day, e.tenant.as_of_s // DAY)
    return ints(end_day - o.created_s // DAY)


def _velocity(e: MetricEngine, period: str | None) -> Any:
    o = _o(e)
    weeks = np.maximum(1.0, (e.tenant.as_of_s - o.created_s) / (7 * DAY))
    steps = np.where(o.stage == t.LOST, 1, np.minimum(o.stage, 4) + 1)
    return floats(steps / weeks, 2)


def _opp_last_meaningful(e: MetricEngine, period: str | None) -> Any:
    last = e.last_activity("opportunity", (t.MEETING, t.CALL))
    return dates(np.where(last >= 0, last // DAY, 0), last < 0)


def _opp_amount(e: MetricEngine, period: str | None) -> Values:
    o = _o(e)
    return floats(o.amount_cents / 100), texts(t.CURRENCIES, o.currency)


_rules(
    "opportunity",
    {
        "actual_close_date": lambda e, p: dates(_o(e).close_day, ~_closed(e)),
        "crm_account_id": _opp_account("crm_id"),
        "crm_account_name": _opp_account("name"),
        "crm_opportunity_id": lambda e, p: _o(e).crm_id,
        "crm_opportunity_name": lambda e, p: _o(e).name,
        "expected_close_date": lambda e, p: dates(_o(e).close_day),
        "ootb_budget_confirmed_score": _stored("opportunities", "budget_confirmed_score"),
        "ootb_champion_identified": _stored("opportunities", "champion_identified", "bool"),
        "ootb_competition_risk_score": _stored("opportunities", "competition_risk_score"),
        "ootb_days_in_current_stage": lambda e, p: ints(_days_in_stage_seconds(e) // DAY),
        "ootb_deal_velocity_score": _stored("opportunities", "deal_velocity_score"),
        "ootb_emails_sent_opp": _count("opportunity", kinds=(t.EMAIL,), outbound=True),
        "ootb_last_meaningful_activity_date": _opp_last_meaningful,
        "ootb_meetings_held_opp": _count("opportunity", kinds=(t.MEETING,)),
        "ootb_opportunity_account": _opp_account("crm_id"),
        "ootb_opportunity_account_name": _opp_account("name"),
        "ootb_opportunity_amount": _opp_amount,
        "ootb_opportunity_close_date": lambda e, p: dates(_o(e).close_day),
        "ootb_opportunity_converted_amount": lambda e, p: floats(_o(e).converted_cents / 100),
        "ootb_opportunity_count_of_emails_received": _count(
            "opportunity", kinds=(t.EMAIL,), outbound=False
        ),
        "ootb_opportunity_count_of_emails_sent": _count(
            "opportunity", kinds=(t.EMAIL,), outbound=True
        ),
        "ootb_opportunity_count_of_meetings_standard": _count("opportunity", kinds=(t.MEETING,)),
        "ootb_opportunity_created_at": lambda e, p: stamps(_o(e).created_s),
        "ootb_opportunity_crm_id": lambda e, p: _o(e).crm_id,
        "ootb_opportunity_current_stage": _stage_names,
        "ootb_opportunity_days_in_stage": lambda e, p: ints(_days_in_stage_seconds(e)),
        "ootb_opportunity_engagement_level": _engagement_level("opportunity"),
        "ootb_opportunity_executive_activities": _count("opportunity", levels=(0,)),
        "ootb_opportunity_meetings_with_director_vp_exec": _count(
            "opportunity", kinds=(t.MEETING,), levels=(0, 1, 2)
        ),
        "ootb_opportunity_time_spent_with_partner_standard": _duration(
            "opportunity", external=False
        ),
        "ootb_opportunity_total_activities_count": _count("opportunity"),
        "ootb_opportunity_forecast_category": lambda e, p: texts(
            t.FORECAST, t.STAGE_FORECAST[_o(e).stage]
        ),
        "ootb_opportunity_id": lambda e, p: ints(_o(e).internal_id),
        "ootb_opportunity_is_closed": lambda e, p: bools(_closed(e)),
        "ootb_opportunity_is_won": lambda e, p: bools(_o(e).stage == t.WON),
        "ootb_opportunity_name": lambda e, p: _o(e).name,
        "ootb_opportunity_original_owner": lambda e, p: e.user_ref(_o(e).original_owner),
        "ootb_opportunity_owner": lambda e, p: e.user_ref(_o(e).owner),
        "ootb_opportunity_owners": _owners_list,
        "ootb_opportunity_people_engaged": _count("opportunity", external=True, agg="contacts"),
        "ootb_opportunity_people_internal_id": lambda e, p: ints(_o(e).internal_id),
        "ootb_opportunity_stage": _stage_names,
        "ootb_opportunity_type": lambda e, p: texts(t.OPPORTUNITY_TYPES, _o(e).type),
        "ootb_opportunity_upcoming_meetings_standard": _upcoming("opportunity"),
        "ootb_stage_probability": lambda e, p: floats(t.STAGE_PROBABILITY[_o(e).stage], 1),
        "ootb_stage_progression_velocity": _velocity,
        "ootb_stakeholder_engagement_count": lambda e, p: ints(
            e.activity("opportunity", "any_time", external=True, agg="contacts")
        ),
        "ootb_total_sales_cycle_days": _sales_cycle,
        "ootb_win_probability_score": _stored("opportunities", "win_probability_score"),
        "opportunity_owner": lambda e, p: e.user_ref(_o(e).owner)[1],
        "opportunity_value": lambda e, p: floats(_o(e).amount_cents / 100),
    },
)

# user ------------------------------------------------------------------------------------------


def _u(e: MetricEngine) -> t.Users:
    return e.tenant.users_raw


def _manager(column: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        manager = _u(e).manager
        return t._take(getattr(_u(e), column), manager)

    return rule


def _user_opps(which: str) -> Rule:
    """Performance from the opportunities a user owns (created or closed in the window)."""

    def rule(e: MetricEngine, period: str | None) -> Any:
        o = _o(e)
        window = _p(period, "quarterly")
        if which in ("created", "pipeline"):
            select = e.created_in(window)
        else:
            select = (o.stage == t.WON) & e.close_in(window)
        if which in ("created", "won"):
            return ints(e.opp_sum("user", select))
        return floats(e.opp_sum("user", select, weights=o.converted_cents) / 100)

    return rule


def _quota_attainment(e: MetricEngine, period: str | None) -> Any:
    o = _o(e)
    window = _p(period, "quarterly")
    revenue = e.opp_sum("user", (o.stage == t.WON) & e.close_in(window), weights=o.converted_cents)
    start, end = e.window(window)
    days = ((end or 0) - (start or 0)) / DAY
    target = _u(e).quota * days / 365
    with np.errstate(divide="ignore", invalid="ignore"):
        return floats(np.where(target > 0, revenue / 100 / target * 100, np.nan), 1)


def _win_rate(e: MetricEngine, period: str | None) -> Any:
    o = _o(e)
    inside = e.close_in(_p(period, "quarterly"))
    won = e.opp_sum("user", (o.stage == t.WON) & inside)
    lost = e.opp_sum("user", (o.stage == t.LOST) & inside)
    return floats(_ratio(won, won + lost), 1)


def _acceptance(e: MetricEngine, period: str | None) -> Any:
    window = _p(period, "monthly")
    meetings = e.activity("user", window, kinds=(t.MEETING,))
    accepted = e.activity("user", window, kinds=(t.MEETING,), agg="accepted")
    return floats(_ratio(accepted, meetings), 1)


def _new_contacts(e: MetricEngine, period: str | None) -> Any:
    c = e.tenant.contacts_raw
    start, end = e.window(_p(period, "monthly"))
    inside = (c.created_s >= (start or 0)) & (c.created_s < (end or 0))
    return ints(np.bincount(c.created_by[inside], minlength=e.rows("user")))


_rules(
    "user",
    {
        "crm_user_id": lambda e, p: _u(e).crm_id,
        "hire_date": lambda e, p: dates(_u(e).hire_day),
        "manager_name": _manager("name"),
        "ootb_account_penetration": _count("user", agg="accounts"),
        "ootb_activities_logged": _count("user"),
        "ootb_calls_made_user": _count("user", kinds=(t.CALL,)),
        "ootb_deals_won": _user_opps("won"),
        "ootb_emails_received_user": _count("user", kinds=(t.EMAIL,), outbound=False),
        "ootb_emails_sent_user": _count("user", kinds=(t.EMAIL,), outbound=True),
        "ootb_meeting_acceptance_rate": _acceptance,
        "ootb_meetings_booked": _count("user", kinds=(t.MEETING,)),
        "ootb_new_contact_creation": _new_contacts,
        "ootb_opportunities_created": _user_opps("created"),
        "ootb_pipeline_generated": _user_opps("pipeline"),
        "ootb_quota_attainment": _quota_attainment,
        "ootb_response_rate_user": _response_rate("user"),
        "ootb_revenue_generated": _user_opps("revenue"),
        "ootb_user": lambda e, p: (ints(_u(e).internal_id), _u(e).name),
        "ootb_user_count_accounts_engaged_standard": _count("user", agg="accounts"),
        "ootb_user_count_emails_received": _count("user", kinds=(t.EMAIL,), outbound=False),
        "ootb_user_count_emails_sent": _count("user", kinds=(t.EMAIL,), outbound=True),
        "ootb_user_count_of_upcoming_meetings_standard": _upcoming("user"),
        "ootb_user_email": lambda e, p: _u(e).email,
        "ootb_user_manager": _manager("name"),
        "ootb_user_manager_email": _manager("email"),
        "ootb_user_meetings_with_director_vp_exec": _count(
            "user", kinds=(t.MEETING,), levels=(0, 1, 2)
        ),
        "ootb_user_external_meetings_matched": _count("user", kinds=(t.MEETING,), external=True),
        "ootb_user_name": lambda e, p: _u(e).name,
        "ootb_user_opportunity_created_standard": _user_opps("created"),
        "ootb_user_percentage_time_spent_external": _external_time_share,
        "ootb_user_time_spent_activities_matched": _duration("user", external=True),
        "ootb_user_percentage_emails_inbound": _inbound_share("user"),
        "ootb_user_primary_key": lambda e, p: _u(e).crm_id,
        "ootb_user_role": lambda e, p: texts(t.ROLES, _u(e).role),
        "ootb_user_team": lambda e, p: (
            ints(_u(e).team_id[_u(e).team]),
            _u(e).team_name.take(pa.array(_u(e).team)),
        ),
        "ootb_user_total_external_matched_activities_count": _count("user", external=True),
        "ootb_win_rate": _win_rate,
        "team_name": lambda e, p: _u(e).team_name.take(pa.array(_u(e).team)),
        "user_email": lambda e, p: _u(e).email,
        "user_name": lambda e, p: _u(e).name,
        "user_role": lambda e, p: texts(t.ROLES, _u(e).role),
    },
)

# activity --------------------------------------------------------------------------------------


def _x(e: MetricEngine) -> t.Activities:
    return e.tenant.activities_raw


def _activity_opportunity(e: MetricEngine, period: str | None) -> Values:
    index = _x(e).opportunity
    missing = index < 0
    o = _o(e)
    return (
        ints(o.internal_id[np.where(missing, 0, index)], missing),
        t._take(o.name, index),
    )


def _not_served(e: MetricEngine, period: str | None) -> Any:
    """Narrative AI fields: the export sends the column with every cell empty (appendix)."""
    return pa.nulls(e.rows("activity"), pa.string())


def _activity_originator(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    users = e.tenant.users_raw.name.take(pa.array(x.user))
    contacts = t._take(e.tenant.contacts_raw.name, x.contact)
    return pc.if_else(pa.array(x.outbound | (x.contact < 0)), users, contacts)


def _activity_email_from(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    users = e.tenant.users_raw.email.take(pa.array(x.user))
    contacts = t._take(e.tenant.contacts_raw.email, x.contact)
    sender = pc.if_else(pa.array(x.outbound | (x.contact < 0)), users, contacts)
    return pc.if_else(pa.array(x.type == t.EMAIL), sender, pa.scalar(None, pa.string()))


_rules(
    "activity",
    {
        "ootb_activity_account": lambda e, p: (
            ints(_a(e).internal_id[_x(e).account]),
            _a(e).name.take(pa.array(_x(e).account)),
        ),
        "ootb_activity_account_engagement_level": lambda e, p: floats(
            e.engagement("account", "last_90_days")[_x(e).account], 1
        ),
        "ootb_activity_account_name": lambda e, p: _a(e).name.take(pa.array(_x(e).account)),
        "ootb_activity_action_items": _not_served,
        "ootb_activity_created_at": lambda e, p: stamps(_x(e).ts),
        "ootb_activity_key_topics": _not_served,
        "ootb_activity_duration": lambda e, p: ints(
            np.maximum(_x(e).duration_s, 0), _x(e).duration_s < 0
        ),
        "ootb_activity_email_from": _activity_email_from,
        "ootb_activity_external": lambda e, p: bools(_x(e).external),
        "ootb_activity_is_meeting": lambda e, p: bools(_x(e).type == t.MEETING),
        "ootb_activity_opportunity": _activity_opportunity,
        "ootb_activity_opportunity_name": lambda e, p: t._take(_o(e).name, _x(e).opportunity),
        "ootb_activity_opportunity_stage": lambda e, p: t._take(
            texts(t.TENANT_STAGES, _o(e).stage_names()), _x(e).opportunity
        ),
        "ootb_activity_originator": _activity_originator,
        "ootb_activity_outbound": lambda e, p: bools(_x(e).outbound),
        "ootb_activity_owner": lambda e, p: e.user_ref(_x(e).user),
        "ootb_activity_sentiment": _not_served,
        "ootb_activity_subject": lambda e, p: texts(t.SUBJECTS, _x(e).subject),
        "ootb_activity_summary": _not_served,
        "ootb_activity_timestamp": lambda e, p: stamps(_x(e).ts),
        "ootb_activity_transcript_status": _not_served,
        "ootb_activity_type": lambda e, p: texts(t.ACTIVITY_TYPES, _x(e).type),
        "ootb_activity_uid": lambda e, p: _x(e).uid,
    },
)


# person (the tenant's contacts) ---------------------------------------------------------------


def _c(e: MetricEngine) -> t.Contacts:
    return e.tenant.contacts_raw


DEPARTMENTS = ("Executive", "Finance", "IT", "Operations", "Sales", "Marketing", "Legal")
BUYING_POWER = ("High", "Medium", "Low")


def _by_level(pool: tuple[str, ...]) -> Rule:
    """A text per contact that follows its seniority level (C-Level first)."""

    def rule(e: MetricEngine, period: str | None) -> Any:
        level = _c(e).level
        return texts(pool, np.minimum(level * len(pool) // len(t.CONTACT_LEVELS), len(pool) - 1))

    return rule


def _person_engagement(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    size = e.rows("person")
    start, _ = e.window("last_90_days")
    mask = (x.contact >= 0) & (x.ts >= (start or 0)) & (x.ts < e.tenant.as_of_s)
    count = np.bincount(x.contact[mask], minlength=size)
    mean = max(float(count.mean()), 1e-9)
    return floats(100 * (1 - np.exp(-count / (2 * mean))), 1)


def _person_code(prefix: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        ids = _c(e).internal_id
        return pa.array([f"{prefix}{i:012d}" for i in ids.tolist()], pa.string())

    return rule


_rules(
    "person",
    {
        "ootb_person_department": lambda e, p: texts(
            DEPARTMENTS, _c(e).internal_id % len(DEPARTMENTS)
        ),
        "ootb_person_email": lambda e, p: _c(e).email,
        "ootb_person_engagement_level": _person_engagement,
        "ootb_person_external_participant": lambda e, p: bools(
            np.ones(e.rows("person"), dtype=bool)
        ),
        "ootb_person_job_title": _by_level(t.CONTACT_LEVELS),
        "ootb_person_max_buying_power": _by_level(BUYING_POWER),
        "ootb_person_min_buying_power": _by_level(BUYING_POWER[1:]),
        "ootb_person_phone": lambda e, p: pa.array(
            [f"+1 555 {i % 10_000:04d}" for i in _c(e).internal_id.tolist()], pa.string()
        ),
        "ootb_person_primary_key": _person_code("003"),
        "ootb_person_seniority": _by_level(t.CONTACT_LEVELS),
        "ootb_person_seniority_level": _by_level(("Executive", "Senior", "Mid", "Junior")),
        "ootb_person_win_rate_level": _by_level(BUYING_POWER),
    },
)


#: The vendor reference's spelling of a window the field spells otherwise (section 2).
REFERENCE_SPELLING = {
    "this_week": "current_week",
    "this_month": "current_month",
    "this_quarter": "current_quarter",
    "this_fyear": "current_year",
    "last_fyear": "last_year",
}


def served_periods(metric: Metric, vocabulary: str = "field") -> tuple[str, ...]:
    """The periods served for a metric: the catalog's (the field's spellings) by default;
    with ``vocabulary="reference"`` the reference's spellings of the documented windows of
    documented metrics (``current_quarter``, ``last_year``, ``current`` for bare ones)."""
    if vocabulary != "reference" or metric.source not in ("reference", "both"):
        return metric.periods
    spelled = tuple(REFERENCE_SPELLING.get(p, p) for p in metric.periods)
    return ("current", *spelled) if metric.bare and metric.kind == "metric" else spelled


def _registered_rule(metric: Metric) -> Rule:
    """Deterministic values for a registered custom field (a tenant's own CRM field), one
    array per part: lookups (``type="reference"``) give a user's ``(id)``/``(name)``."""
    seed = sum(metric.slug.encode()) + 7 * len(metric.slug)

    def rule(e: MetricEngine, period: str | None) -> Any:
        rows = e.rows(metric.object)
        rng = np.random.default_rng(seed)
        missing = rng.random(rows) < 0.1
        if metric.type == "reference":
            users = rng.integers(0, e.rows("user"), rows)
            return e.user_ref(np.where(missing, -1, users))
        kind = metric.parts[0].type
        if kind in ("count", "internal_id", "duration"):
            return ints(rng.integers(0, 50, rows), missing)
        if kind in ("number", "score", "percentage", "money"):
            return floats(np.where(missing, np.nan, rng.random(rows) * 100), 1)
        if kind == "boolean":
            return bools(rng.random(rows) < 0.5, missing)
        if kind == "date":
            return dates(e.tenant.as_of_s // DAY - rng.integers(0, 365, rows), missing)
        if kind == "timestamp":
            return stamps(e.tenant.as_of_s - rng.integers(0, 365 * DAY, rows), missing)
        pool = metric.values or metric.parts[0].values or ("Alpha", "Beta", "Gamma", "Delta")
        return texts(tuple(pool), np.where(missing, -1, rng.integers(0, len(pool), rows)))

    return rule


def served(obj: str, slug: str) -> Metric | None:
    """The catalog entry of a slug the sandbox serves for ``obj``: shipped entries with a
    rule, and custom fields you registered (served with their expansions, section 3)."""
    metric = store.find(slug, obj)
    if metric is None:
        return None
    if metric.source == "custom":
        return metric if obj in SERVED_OBJECTS else None
    return metric if (obj, slug) in _RULES else None
