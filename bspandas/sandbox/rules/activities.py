"""The rules of the ``activity`` columns (one per catalog slug)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.arrays import Values, bools, floats, ints, stamps, texts
from bspandas.sandbox.rules.common import (
    Rule,
    _a,
    _o,
    _x,
)
from bspandas.sandbox.tenant import pools as t
from bspandas.sandbox.tenant.columns import take

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["RULES"]


def _activity_opportunity(e: MetricEngine, period: str | None) -> Values:
    index = _x(e).opportunity
    missing = index < 0
    o = _o(e)
    return (
        ints(o.internal_id[np.where(missing, 0, index)], missing),
        take(o.name, index),
    )


def _not_served(e: MetricEngine, period: str | None) -> Any:
    """Narrative AI fields: the export sends the column with every cell empty (appendix)."""
    return pa.nulls(e.rows("activity"), pa.string())


def _activity_originator(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    users = e.tenant.users_raw.name.take(pa.array(x.user))
    contacts = take(e.tenant.contacts_raw.name, x.contact)
    return pc.if_else(pa.array(x.outbound | (x.contact < 0)), users, contacts)


def _activity_email_from(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    users = e.tenant.users_raw.email.take(pa.array(x.user))
    contacts = take(e.tenant.contacts_raw.email, x.contact)
    sender = pc.if_else(pa.array(x.outbound | (x.contact < 0)), users, contacts)
    return pc.if_else(pa.array(x.type == t.EMAIL), sender, pa.scalar(None, pa.string()))


RULES: dict[str, Rule] = {
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
    "ootb_activity_opportunity_name": lambda e, p: take(_o(e).name, _x(e).opportunity),
    "ootb_activity_opportunity_stage": lambda e, p: take(
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
}
