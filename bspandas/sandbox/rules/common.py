"""What the rules of several objects share: the rule type, the tables of the tenant, and
rule factories for windowed activity aggregates and stored columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bspandas.sandbox.arrays import bools, floats, ints, ratio
from bspandas.sandbox.tenant import pools as t
from bspandas.sandbox.tenant.accounts import Accounts
from bspandas.sandbox.tenant.activities import Activities
from bspandas.sandbox.tenant.contacts import Contacts
from bspandas.sandbox.tenant.opportunities import Opportunities
from bspandas.sandbox.tenant.users import Users

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

#: A rule: the engine and a period (None: the bare column) to one Arrow array per part.
Rule = Callable[["MetricEngine", str | None], Any]


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
        return floats(ratio(received, sent + received), 1)

    return rule


def _response_rate(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        sent, received = _emails(e, key, _p(period, "last_30_days"))
        return floats(ratio(received, sent, cap=100.0), 1)

    return rule


def _duration(key: str, external: bool | None = None) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        window = _p(period, "last_7_days")
        return ints(e.activity(key, window, external=external, agg="duration"))

    return rule


def _external_time_share(e: MetricEngine, period: str | None) -> Any:
    window = _p(period, "last_7_days")
    external = e.activity("user", window, external=True, agg="duration")
    return floats(ratio(external, e.activity("user", window, agg="duration")), 1)


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


def _a(e: MetricEngine) -> Accounts:
    return e.tenant.accounts_raw


def _o(e: MetricEngine) -> Opportunities:
    return e.tenant.opportunities_raw


def _u(e: MetricEngine) -> Users:
    return e.tenant.users_raw


def _x(e: MetricEngine) -> Activities:
    return e.tenant.activities_raw


def _c(e: MetricEngine) -> Contacts:
    return e.tenant.contacts_raw


def _engagement_level(key: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        window = "last_90_days" if period in (None, "current") else period
        return floats(e.engagement(key, window), 1)

    return rule
