"""The rules of the ``user`` columns (one per catalog slug)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from bspandas.sandbox.arrays import dates, floats, ints, ratio, texts
from bspandas.sandbox.rules.common import (
    Rule,
    _count,
    _duration,
    _external_time_share,
    _inbound_share,
    _o,
    _p,
    _response_rate,
    _u,
    _upcoming,
)
from bspandas.sandbox.tenant import pools as t
from bspandas.sandbox.tenant.columns import take
from bspandas.sandbox.tenant.pools import DAY

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["RULES"]


def _manager(column: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        manager = _u(e).manager
        return take(getattr(_u(e), column), manager)

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
    return floats(ratio(won, won + lost), 1)


def _acceptance(e: MetricEngine, period: str | None) -> Any:
    window = _p(period, "monthly")
    meetings = e.activity("user", window, kinds=(t.MEETING,))
    accepted = e.activity("user", window, kinds=(t.MEETING,), agg="accepted")
    return floats(ratio(accepted, meetings), 1)


def _new_contacts(e: MetricEngine, period: str | None) -> Any:
    c = e.tenant.contacts_raw
    start, end = e.window(_p(period, "monthly"))
    inside = (c.created_s >= (start or 0)) & (c.created_s < (end or 0))
    return ints(np.bincount(c.created_by[inside], minlength=e.rows("user")))


RULES: dict[str, Rule] = {
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
}
