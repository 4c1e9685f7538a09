"""The rules of the ``account`` columns (one per catalog slug)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.arrays import Values, bools, dates, floats, ints, stamps, texts
from bspandas.sandbox.rules.common import (
    Rule,
    _a,
    _count,
    _duration,
    _engagement_level,
    _inbound_share,
    _p,
    _response_rate,
    _stored,
    _upcoming,
)
from bspandas.sandbox.tenant import pools as t
from bspandas.sandbox.tenant.pools import DAY

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["RULES"]


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


RULES: dict[str, Rule] = {
    "account_domain": lambda e, p: _a(e).domain,
    "account_tier": lambda e, p: texts(t.TIERS, _a(e).tier),
    "annual_revenue": _stored("accounts", "annual_revenue", "float"),
    "company_size": _stored("accounts", "company_size", "int"),
    "crm_account_owner": lambda e, p: e.user_ref(_a(e).owner)[1],
    "industry": lambda e, p: texts(t.INDUSTRIES, _a(e).industry),
    "ootb_account_annual_revenue": _stored("accounts", "annual_revenue", "float"),
    "ootb_account_count_of_emails_received": _count("account", kinds=(t.EMAIL,), outbound=False),
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
}
