"""The :class:`Tenant`: options, one seeded random stream per table, and the tables,
generated on first use and cached (thread-safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from bspandas._exceptions import robust_repr
from bspandas.sandbox.tenant.accounts import Accounts, frame_accounts, make_accounts
from bspandas.sandbox.tenant.activities import Activities, frame_activities, make_activities
from bspandas.sandbox.tenant.contacts import Contacts, frame_contacts, make_contacts
from bspandas.sandbox.tenant.opportunities import (
    Opportunities,
    frame_opportunities,
    make_opportunities,
)
from bspandas.sandbox.tenant.options import TenantOptions
from bspandas.sandbox.tenant.users import Users, frame_users, make_users

__all__ = ["Tenant"]


@dataclass(slots=True)
class _Cache:
    lock: threading.RLock = field(default_factory=threading.RLock)
    raw: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


class Tenant:
    """A deterministic synthetic tenant. Build with options or keywords of
    :class:`TenantOptions`; tables are generated on first use and cached (thread-safe)."""

    def __init__(self, options: TenantOptions | None = None, **changes: Any) -> None:
        base = options or TenantOptions()
        self.options = replace(base, **changes) if changes else base
        self.as_of = self.options.as_of
        self.as_of_s = int(self.as_of.timestamp())
        self._cache = _Cache()

    @robust_repr
    def __repr__(self) -> str:
        o = self.options
        return (
            f"<Tenant seed={o.seed} accounts={o.accounts} users={o.users} "
            f"as_of={self.as_of.isoformat()} fiscal_year_start={o.fiscal_year_start}>"
        )

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.options.seed, stream])

    def _raw(self, name: str) -> Any:
        with self._cache.lock:
            if name not in self._cache.raw:
                self._cache.raw[name] = _MAKERS[name](self)
            return self._cache.raw[name]

    # raw arrays (used by the metric engine)
    @property
    def users_raw(self) -> Users:
        found: Users = self._raw("users")
        return found

    @property
    def accounts_raw(self) -> Accounts:
        found: Accounts = self._raw("accounts")
        return found

    @property
    def contacts_raw(self) -> Contacts:
        found: Contacts = self._raw("contacts")
        return found

    @property
    def opportunities_raw(self) -> Opportunities:
        found: Opportunities = self._raw("opportunities")
        return found

    @property
    def activities_raw(self) -> Activities:
        found: Activities = self._raw("activities")
        return found

    def size(self, obj: str) -> int:
        """Number of rows of an object (``person``: the contacts)."""
        if obj == "account":
            return self.options.accounts
        if obj == "user":
            return self.options.users
        if obj == "opportunity":
            return len(self.opportunities_raw.internal_id)
        if obj == "activity":
            return len(self.activities_raw.ts)
        if obj == "person":
            return len(self.contacts_raw.internal_id)
        return 0

    # -- public frames ---------------------------------------------------------------------

    def _frame(self, name: str) -> pd.DataFrame:
        with self._cache.lock:
            if name not in self._cache.frames:
                self._cache.frames[name] = _FRAMES[name](self)
            return self._cache.frames[name]

    @property
    def users(self) -> pd.DataFrame:
        """internal_id, crm_id, name, email, role, team_id, team_name, manager_id (Int64),
        hire_date, quota (annual, USD; NaN for roles without one)."""
        return self._frame("users")

    @property
    def accounts(self) -> pd.DataFrame:
        """internal_id, crm_id, name, domain, type, industry, tier, company_size,
        annual_revenue, owner_id, health (latent 0-1) and the three stored scores."""
        return self._frame("accounts")

    @property
    def contacts(self) -> pd.DataFrame:
        """internal_id, account_id, name, email, level, created_at, created_by (user id)."""
        return self._frame("contacts")

    @property
    def opportunities(self) -> pd.DataFrame:
        """internal_id, crm_id, name, account_id, owner_id, original_owner_id, co_owner_ids,
        type, stage, amount, currency, converted_amount, created_at, close_date,
        stage_entered_at and the stored scores."""
        return self._frame("opportunities")

    @property
    def activities(self) -> pd.DataFrame:
        """uid, timestamp, type, subject, account_id, opportunity_id (Int64), user_id,
        contact_id (Int64), external, outbound, duration (timedelta, NaT for e-mails),
        accepted (boolean, meetings only)."""
        return self._frame("activities")


_MAKERS: dict[str, Callable[[Tenant], Any]] = {
    "users": make_users,
    "accounts": make_accounts,
    "contacts": make_contacts,
    "opportunities": make_opportunities,
    "activities": make_activities,
}
_FRAMES: dict[str, Callable[[Tenant], pd.DataFrame]] = {
    "users": frame_users,
    "accounts": frame_accounts,
    "contacts": frame_contacts,
    "opportunities": frame_opportunities,
    "activities": frame_activities,
}
