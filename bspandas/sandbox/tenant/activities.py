"""The tenant's activities: the e-mail, meeting and call log, sorted by time.

The raw table (Arrow and numpy columns the metric rules read), how it is drawn from the
tenant's seed, and its pandas view (:attr:`Tenant.activities <bspandas.sandbox.Tenant.activities>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.tenant.columns import categorical, crm_ids, ref, seconds, spread
from bspandas.sandbox.tenant.pools import (
    _SUBJECT_RANGES,
    ACTIVITY_TYPES,
    CALL,
    DAY,
    EMAIL_SUBJECTS,
    MEETING,
    SUBJECTS,
)

if TYPE_CHECKING:
    from bspandas.sandbox.tenant.core import Tenant

__all__ = ["Activities", "frame_activities", "make_activities"]

Arr = npt.NDArray[Any]


@dataclass(slots=True)
class Activities:
    uid: Any
    ts: Arr  # epoch seconds, sorted ascending
    type: Arr  # index into ACTIVITY_TYPES
    subject: Arr  # index into SUBJECTS, -1 missing
    account: Arr
    opportunity: Arr  # -1 none
    user: Arr
    contact: Arr  # -1 for internal activities
    external: Arr
    outbound: Arr
    duration_s: Arr  # -1 missing (e-mails)
    accepted: Arr  # int8: 1/0 for meetings, -1 otherwise


def make_activities(tenant: Tenant) -> Activities:
    """Draw the activities table of ``tenant`` (its own random stream)."""
    rng = tenant._rng(5)
    accounts = tenant.accounts_raw
    opps = tenant.opportunities_raw
    contacts = tenant.contacts_raw
    n_acc = len(accounts.internal_id)
    n_users = len(tenant.users_raw.internal_id)
    rate = tenant.options.activities_per_account * (0.3 + 1.4 * accounts.health)
    account = np.repeat(np.arange(n_acc), rng.poisson(rate))
    n = len(account)
    future = rng.random(n) < 0.04
    kind = rng.choice(3, n, p=(0.55, 0.25, 0.2))
    kind[future] = MEETING
    trend = np.exp(rng.normal(0, 0.35, n_acc))[account]
    history = tenant.options.history_days * DAY
    back = np.floor(history * rng.random(n) ** trend).astype(np.int64)
    ts = np.where(
        future,
        tenant.as_of_s + 1 + np.floor(rng.random(n) * 45 * DAY).astype(np.int64),
        tenant.as_of_s - 1 - back,
    )
    quarter_hour = ts - ts % 900
    ts = np.where(kind == MEETING, np.where(future, quarter_hour + 900, quarter_hour), ts)
    order = np.argsort(ts, kind="stable")
    account, ts, kind = account[order], ts[order], kind[order]
    opp_counts = np.bincount(opps.account, minlength=n_acc)
    opportunity = spread(opp_counts, rng, account)
    opportunity = np.where(rng.random(n) < 0.6, opportunity, -1)
    linked = opportunity >= 0
    too_early = linked & (ts < opps.created_s[np.where(linked, opportunity, 0)])
    opportunity = np.where(too_early, -1, opportunity)
    linked = opportunity >= 0
    opp_owner = opps.owner[np.where(linked, opportunity, 0)]
    user = np.where(
        linked & (rng.random(n) < 0.8),
        opp_owner,
        np.where(rng.random(n) < 0.7, accounts.owner[account], rng.integers(0, n_users, n)),
    )
    contact_counts = np.bincount(contacts.account, minlength=n_acc)
    external = rng.random(n) < 0.92
    contact = np.where(external, spread(contact_counts, rng, account), -1)
    outbound_p = np.array([0.5, 0.85, 0.75])[kind]
    outbound = (rng.random(n) < outbound_p) | ~external
    lo = np.array([r[0] for r in _SUBJECT_RANGES])[kind]
    hi = np.array([r[1] for r in _SUBJECT_RANGES])[kind]
    subject = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
    empty = EMAIL_SUBJECTS.index("")
    subject = np.where((subject == empty) & (rng.random(n) < 0.7), 0, subject)
    subject = np.where((kind == CALL) & (rng.random(n) < 0.05), -1, subject)
    duration = np.select(
        [kind == MEETING, kind == CALL],
        [15 * 60 * rng.integers(1, 7, n), rng.integers(60, 3600, n)],
        -1,
    )
    accepted = np.where(kind == MEETING, (rng.random(n) < 0.85).astype(np.int8), -1)
    numbers = np.arange(n, dtype=np.int64) + 36**6
    uid = pc.if_else(pa.array(kind == MEETING), crm_ids("00U", numbers), crm_ids("00T", numbers))
    return Activities(
        uid=uid,
        ts=ts,
        type=kind,
        subject=subject,
        account=account,
        opportunity=opportunity,
        user=user,
        contact=contact,
        external=external,
        outbound=outbound,
        duration_s=duration,
        accepted=accepted.astype(np.int8),
    )


def frame_activities(tenant: Tenant) -> pd.DataFrame:
    """The activities table as the pandas frame :attr:`Tenant.activities` shows."""
    x = tenant.activities_raw
    duration = pd.to_timedelta(np.where(x.duration_s >= 0, x.duration_s, 0), unit="s")
    accepted = pd.array(x.accepted == 1, dtype="boolean")
    accepted[x.accepted < 0] = pd.NA
    return pd.DataFrame(
        {
            "uid": x.uid.to_pandas(),
            "timestamp": seconds(x.ts),
            "type": categorical(x.type, ACTIVITY_TYPES),
            "subject": categorical(x.subject, SUBJECTS),
            "account_id": tenant.accounts_raw.internal_id[x.account],
            "opportunity_id": ref(tenant.opportunities_raw.internal_id, x.opportunity),
            "user_id": tenant.users_raw.internal_id[x.user],
            "contact_id": ref(tenant.contacts_raw.internal_id, x.contact),
            "external": x.external,
            "outbound": x.outbound,
            "duration": duration.where(x.duration_s >= 0),
            "accepted": accepted,
        }
    )
