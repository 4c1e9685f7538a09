"""The tenant's opportunities: deals per account, stages, amounts in four currencies.

The raw table (Arrow and numpy columns the metric rules read), how it is drawn from the
tenant's seed, and its pandas view
(:attr:`Tenant.opportunities <bspandas.sandbox.Tenant.opportunities>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from bspandas.sandbox.tenant.columns import (
    categorical,
    crm_ids,
    internal_ids,
    join,
    ref,
    seconds,
    strings,
    take,
)
from bspandas.sandbox.tenant.pools import (
    CURRENCIES,
    DAY,
    FORECAST,
    LOST,
    OPPORTUNITY_TYPES,
    PRODUCTS,
    RATES,
    STAGE_FORECAST,
    STAGE_PROBABILITY,
    STAGES,
    TENANT_STAGES,
    WON,
)

if TYPE_CHECKING:
    from bspandas.sandbox.tenant.core import Tenant

__all__ = ["Opportunities", "frame_opportunities", "make_opportunities"]

Arr = npt.NDArray[Any]


@dataclass(slots=True)
class Opportunities:
    internal_id: Arr
    crm_id: Any
    name: Any
    account: Arr
    owner: Arr
    original_owner: Arr
    co_owner_1: Arr  # -1 none
    co_owner_2: Arr
    type: Arr  # index into OPPORTUNITY_TYPES, -1 missing (3 = empty string)
    stage: Arr  # index into STAGES
    amount_cents: Arr
    currency: Arr  # index into CURRENCIES
    converted_cents: Arr
    created_s: Arr
    close_day: Arr
    stage_entered_s: Arr

    def stage_names(self) -> Arr:
        """Codes into :data:`TENANT_STAGES`: the stage, or the tenant's custom one."""
        custom = (self.stage == 2) & (np.arange(len(self.stage)) % 5 == 0)
        return np.where(custom, len(STAGES), self.stage)

    win_probability_score: Arr
    deal_velocity_score: Arr
    competition_risk_score: Arr
    budget_confirmed_score: Arr
    champion_identified: Arr


def make_opportunities(tenant: Tenant) -> Opportunities:
    """Draw the opportunities table of ``tenant`` (its own random stream)."""
    rng = tenant._rng(4)
    accounts = tenant.accounts_raw
    users = tenant.users_raw
    n_acc = len(accounts.internal_id)
    n_users = len(users.internal_id)
    rate = tenant.options.opportunities_per_account * (0.6 + 0.8 * accounts.health)
    counts = rng.poisson(rate)
    account = np.repeat(np.arange(n_acc), counts)
    n = len(account)
    health = accounts.health[account]
    sellers = np.flatnonzero(np.isin(users.role, (1, 2)))
    if len(sellers) == 0:
        sellers = np.arange(n_users)
    owner = np.where(
        rng.random(n) < 0.7, accounts.owner[account], sellers[rng.integers(0, len(sellers), n)]
    )
    original = np.where(rng.random(n) < 0.88, owner, rng.integers(0, n_users, n))
    co1 = np.where(rng.random(n) < 0.35, rng.integers(0, n_users, n), -1)
    co2 = np.where((co1 >= 0) & (rng.random(n) < 0.3), rng.integers(0, n_users, n), -1)
    co1 = np.where(co1 == owner, -1, co1)
    co2 = np.where((co2 == owner) | (co2 == co1), -1, co2)
    as_of_day = tenant.as_of_s // DAY
    age = rng.uniform(0, 900, n)
    created_s = tenant.as_of_s - np.floor(age * DAY).astype(np.int64) - 1
    created_day = created_s // DAY
    closed = (rng.random(n) < np.clip(age / 365, 0.05, 0.92)) & (age >= 2)
    won = closed & (rng.random(n) < 0.3 + 0.3 * health)
    open_stage = np.minimum(4, np.floor(rng.random(n) * 5 * (0.5 + age / 600))).astype(int)
    stage = np.where(closed, np.where(won, WON, LOST), open_stage)
    span = np.minimum(240, as_of_day - created_day)
    closed_day = created_day + np.floor(rng.random(n) * span).astype(np.int64)
    open_day = as_of_day + rng.integers(-15, 300, n)
    close_day = np.where(closed, closed_day, open_day)
    entered_open = created_s + np.floor(rng.random(n) * (tenant.as_of_s - created_s))
    stage_entered = np.where(
        closed, np.maximum(close_day * DAY + 9 * 3600, created_s), entered_open
    ).astype(np.int64)
    currency = rng.choice(len(CURRENCIES), n, p=(0.7, 0.15, 0.1, 0.05))
    tier_factor = np.array([4.0, 1.0, 0.3])[accounts.tier[account]]
    usd = np.round(rng.lognormal(np.log(30_000), 0.9, n) * tier_factor, -2)
    cents = np.round(usd / RATES[currency] * 100).astype(np.int64)
    cents = np.where(currency == 3, (cents // 100) * 100, cents)  # no yen cents
    cents = np.where((currency == 0) & (rng.random(n) < 0.1), cents + 50, cents)
    converted = np.round(cents * RATES[currency]).astype(np.int64)
    opp_type = rng.choice(4, n, p=(0.5, 0.25, 0.17, 0.08))
    opp_type[(opp_type == 3) & (rng.random(n) < 0.5)] = -1
    products = rng.integers(0, len(PRODUCTS), n)
    name = join(accounts.name.take(pa.array(account)), " - ", take(strings(PRODUCTS), products))
    stage_p = STAGE_PROBABILITY[stage]

    def score(center: Arr, spread: float, missing: float) -> Arr:
        value = np.round(np.clip(center + rng.normal(0, spread, n), 0, 100), 1)
        value[rng.random(n) < missing] = np.nan
        return value

    return Opportunities(
        internal_id=internal_ids(2_100_000_000_000, n, rng),
        crm_id=crm_ids("006", np.arange(n) + 36**5),
        name=name,
        account=account,
        owner=owner,
        original_owner=original,
        co_owner_1=co1,
        co_owner_2=co2,
        type=opp_type,
        stage=stage,
        amount_cents=cents,
        currency=currency,
        converted_cents=converted,
        created_s=created_s,
        close_day=close_day,
        stage_entered_s=stage_entered,
        win_probability_score=np.where(closed, stage_p, score(stage_p * (0.5 + health), 12, 0.0)),
        deal_velocity_score=score(40 + 30 * health, 20, 0.05),
        competition_risk_score=score(60 - 30 * health, 20, 0.05),
        budget_confirmed_score=score(stage_p, 20, 0.1),
        champion_identified=rng.random(n) < 0.2 + 0.6 * stage_p / 100,
    )


def frame_opportunities(tenant: Tenant) -> pd.DataFrame:
    """The opportunities table as the pandas frame :attr:`Tenant.opportunities` shows."""
    o = tenant.opportunities_raw
    uid = tenant.users_raw.internal_id
    return pd.DataFrame(
        {
            "internal_id": o.internal_id,
            "crm_id": o.crm_id.to_pandas(),
            "name": o.name.to_pandas(),
            "account_id": tenant.accounts_raw.internal_id[o.account],
            "owner_id": uid[o.owner],
            "original_owner_id": uid[o.original_owner],
            "co_owner_1_id": ref(uid, o.co_owner_1),
            "co_owner_2_id": ref(uid, o.co_owner_2),
            "type": take(strings(OPPORTUNITY_TYPES), o.type).to_pandas(),
            "stage": categorical(o.stage_names(), TENANT_STAGES),
            "is_closed": o.stage >= WON,
            "is_won": o.stage == WON,
            "forecast_category": categorical(STAGE_FORECAST[o.stage], FORECAST),
            "amount": o.amount_cents / 100,
            "currency": categorical(o.currency, CURRENCIES),
            "converted_amount": o.converted_cents / 100,
            "created_at": seconds(o.created_s),
            "close_date": seconds(o.close_day * DAY),
            "stage_entered_at": seconds(o.stage_entered_s),
            "win_probability_score": o.win_probability_score,
            "deal_velocity_score": o.deal_velocity_score,
            "competition_risk_score": o.competition_risk_score,
            "budget_confirmed_score": o.budget_confirmed_score,
            "champion_identified": o.champion_identified,
        }
    )
