"""The tenant's accounts: companies with an owner, a latent health and stored scores.

The raw table (Arrow and numpy columns the metric rules read), how it is drawn from the
tenant's seed, and its pandas view (:attr:`Tenant.accounts <bspandas.sandbox.Tenant.accounts>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.tenant.columns import categorical, crm_ids, internal_ids, join, strings, take
from bspandas.sandbox.tenant.pools import (
    ACCOUNT_TYPE_P,
    ACCOUNT_TYPES,
    COMPANY_CORES,
    COMPANY_MIDDLES,
    COMPANY_SUFFIXES,
    INDUSTRIES,
    TIERS,
)

if TYPE_CHECKING:
    from bspandas.sandbox.tenant.core import Tenant

__all__ = ["Accounts", "frame_accounts", "make_accounts"]

Arr = npt.NDArray[Any]


@dataclass(slots=True)
class Accounts:
    internal_id: Arr
    crm_id: Any
    name: Any
    domain: Any  # missing for a few
    domain_full: Any  # always present (contact e-mails)
    type: Arr  # index into ACCOUNT_TYPES
    industry: Arr  # index into INDUSTRIES, -1 missing
    tier: Arr  # index into TIERS
    company_size: Arr
    annual_revenue: Arr  # NaN missing
    owner: Arr  # user index
    health: Arr  # latent 0-1: drives activity and scores
    relationship_strength: Arr
    buying_intent_score: Arr
    churn_risk_score: Arr


def make_accounts(tenant: Tenant) -> Accounts:
    """Draw the accounts table of ``tenant`` (its own random stream)."""
    rng = tenant._rng(2)
    n = tenant.options.accounts
    users = tenant.users_raw
    core = rng.integers(0, len(COMPANY_CORES), n)
    middle = rng.integers(0, len(COMPANY_MIDDLES), n)
    suffix = rng.integers(0, len(COMPANY_SUFFIXES), n)
    name = join(
        take(strings(c for c, _ in COMPANY_CORES), core),
        take(strings(m for m, _ in COMPANY_MIDDLES), middle),
        take(strings(s for s, _ in COMPANY_SUFFIXES), suffix),
    )
    serial = pc.cast(pa.array(np.arange(n) % 97), pa.string())
    domain_full = join(
        take(strings(a for _, a in COMPANY_CORES), core),
        take(strings(a for _, a in COMPANY_MIDDLES), middle),
        serial,
        take(strings(a for _, a in COMPANY_SUFFIXES), suffix),
    )
    hidden = pa.array(rng.random(n) < 0.04)
    domain = pc.if_else(hidden, pa.scalar(None, pa.string()), domain_full)
    size = np.maximum(5, np.round(rng.lognormal(6.0, 1.6, n))).astype(np.int64)
    tier = np.where(size >= 2000, 0, np.where(size >= 200, 1, 2))
    revenue = np.round(size * rng.lognormal(np.log(180_000), 0.5, n), -3)
    revenue[rng.random(n) < 0.03] = np.nan
    industry = rng.integers(0, len(INDUSTRIES), n)
    industry[rng.random(n) < 0.05] = -1
    sellers = np.flatnonzero(np.isin(users.role, (1, 2)))
    if len(sellers) == 0:
        sellers = np.arange(len(users.role))
    health = rng.beta(2.0, 2.0, n)

    def score(center: Arr, spread: float, missing: float) -> Arr:
        value = np.round(np.clip(center + rng.normal(0, spread, n), 0, 100), 1)
        value[rng.random(n) < missing] = np.nan
        return value

    return Accounts(
        internal_id=internal_ids(1_100_000_000_000, n, rng),
        crm_id=crm_ids("001", np.arange(n) + 36**4),
        name=name,
        domain=domain,
        domain_full=domain_full,
        type=rng.choice(len(ACCOUNT_TYPES), n, p=ACCOUNT_TYPE_P),
        industry=industry,
        tier=tier,
        company_size=size,
        annual_revenue=revenue,
        owner=sellers[rng.integers(0, len(sellers), n)],
        health=health,
        relationship_strength=score(100 * health, 10, 0.02),
        buying_intent_score=score(30 + 50 * health, 18, 0.02),
        churn_risk_score=score(100 - 100 * health, 12, 0.02),
    )


def frame_accounts(tenant: Tenant) -> pd.DataFrame:
    """The accounts table as the pandas frame :attr:`Tenant.accounts` shows."""
    a = tenant.accounts_raw
    return pd.DataFrame(
        {
            "internal_id": a.internal_id,
            "crm_id": a.crm_id.to_pandas(),
            "name": a.name.to_pandas(),
            "domain": a.domain.to_pandas(),
            "type": categorical(a.type, ACCOUNT_TYPES),
            "industry": categorical(a.industry, INDUSTRIES),
            "tier": categorical(a.tier, TIERS),
            "company_size": a.company_size,
            "annual_revenue": a.annual_revenue,
            "owner_id": tenant.users_raw.internal_id[a.owner],
            "health": a.health,
            "relationship_strength": a.relationship_strength,
            "buying_intent_score": a.buying_intent_score,
            "churn_risk_score": a.churn_risk_score,
        }
    )
