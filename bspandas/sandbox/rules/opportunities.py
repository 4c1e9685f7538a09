"""The rules of the ``opportunity`` columns (one per catalog slug)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from bspandas.sandbox.arrays import Arr, Values, bools, dates, floats, ints, stamps, texts
from bspandas.sandbox.rules.common import (
    Rule,
    _a,
    _count,
    _duration,
    _engagement_level,
    _o,
    _stored,
    _upcoming,
)
from bspandas.sandbox.tenant import pools as t
from bspandas.sandbox.tenant.pools import DAY

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["RULES"]


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


RULES: dict[str, Rule] = {
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
    "ootb_opportunity_count_of_emails_sent": _count("opportunity", kinds=(t.EMAIL,), outbound=True),
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
    "ootb_opportunity_time_spent_with_partner_standard": _duration("opportunity", external=False),
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
}
