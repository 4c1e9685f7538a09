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

from bspandas._messages import robust_repr
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
    """A deterministic synthetic tenant: users, accounts, contacts, opportunities, activities.

    Tables are generated on first use and cached (thread-safe); the same options always give
    the same tables.

    Parameters
    ----------
    options : TenantOptions or None, default None
        Size, seed, "now" and fiscal calendar (``None``: the defaults).
    **changes
        Fields of :class:`TenantOptions` to change in ``options``.

    Raises
    ------
    TypeError
        For a keyword that is not a field of :class:`TenantOptions`.
    ValueError
        For an invalid option value.

    Examples
    --------
    >>> tenant = Tenant(accounts=4, users=2, seed=9)
    >>> tenant.size("account"), tenant.options.seed
    (4, 9)
    """

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
        """The users as raw arrays (what the metric rules read).

        Examples
        --------
        >>> len(Tenant(accounts=4, users=3).users_raw.internal_id)
        3
        """
        found: Users = self._raw("users")
        return found

    @property
    def accounts_raw(self) -> Accounts:
        """The accounts as raw arrays (what the metric rules read).

        Examples
        --------
        >>> len(Tenant(accounts=4, users=3).accounts_raw.internal_id)
        4
        """
        found: Accounts = self._raw("accounts")
        return found

    @property
    def contacts_raw(self) -> Contacts:
        """The contacts as raw arrays (what the metric rules read).

        Examples
        --------
        >>> t = Tenant(accounts=4, users=3)
        >>> len(t.contacts_raw.internal_id) == len(t.contacts)
        True
        """
        found: Contacts = self._raw("contacts")
        return found

    @property
    def opportunities_raw(self) -> Opportunities:
        """The opportunities as raw arrays (what the metric rules read).

        Examples
        --------
        >>> t = Tenant(accounts=4, users=3)
        >>> len(t.opportunities_raw.internal_id) == t.size("opportunity")
        True
        """
        found: Opportunities = self._raw("opportunities")
        return found

    @property
    def activities_raw(self) -> Activities:
        """The activity log as raw arrays, sorted by time (what the metric rules read).

        Examples
        --------
        >>> ts = Tenant(accounts=4, users=3).activities_raw.ts
        >>> bool((ts[1:] >= ts[:-1]).all())
        True
        """
        found: Activities = self._raw("activities")
        return found

    def size(self, obj: str) -> int:
        """Number of rows of an object.

        Parameters
        ----------
        obj : str
            ``"account"``, ``"user"``, ``"opportunity"``, ``"activity"`` or ``"person"``
            (the contacts).

        Returns
        -------
        int
            Its rows (0 for an object the tenant has no rows of).

        Examples
        --------
        >>> t = Tenant(accounts=4, users=3)
        >>> t.size("account"), t.size("user"), t.size("person") == len(t.contacts)
        (4, 3, True)
        """
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
        """The users: internal_id, crm_id, name, email, role, team_id, team_name, manager_id
        (Int64), hire_date, quota (annual, USD; NaN for roles without one).

        Examples
        --------
        >>> Tenant(accounts=4, users=3).users["manager_id"].isna().sum()  # the top manager
        np.int64(1)
        """
        return self._frame("users")

    @property
    def accounts(self) -> pd.DataFrame:
        """The accounts: internal_id, crm_id, name, domain, type, industry, tier, company_size,
        annual_revenue, owner_id, health (latent 0-1) and the three stored scores.

        Examples
        --------
        >>> t = Tenant(accounts=4, users=3)
        >>> bool(t.accounts["owner_id"].isin(t.users["internal_id"]).all())
        True
        """
        return self._frame("accounts")

    @property
    def contacts(self) -> pd.DataFrame:
        """The contacts: internal_id, account_id, name, email, level, created_at, created_by
        (user id).

        Examples
        --------
        >>> t = Tenant(accounts=4, users=3)
        >>> bool(t.contacts["account_id"].isin(t.accounts["internal_id"]).all())
        True
        """
        return self._frame("contacts")

    @property
    def opportunities(self) -> pd.DataFrame:
        """The opportunities: internal_id, crm_id, name, account_id, owner_id,
        original_owner_id, co_owner_ids, type, stage, amount, currency, converted_amount,
        created_at, close_date, stage_entered_at and the stored scores.

        Examples
        --------
        >>> o = Tenant(accounts=4, users=3).opportunities
        >>> bool((o["is_won"] <= o["is_closed"]).all())
        True
        """
        return self._frame("opportunities")

    @property
    def activities(self) -> pd.DataFrame:
        """The activity log: uid, timestamp, type, subject, account_id, opportunity_id (Int64),
        user_id, contact_id (Int64), external, outbound, duration (timedelta, NaT for
        e-mails), accepted (boolean, meetings only).

        Examples
        --------
        >>> x = Tenant(accounts=4, users=3).activities
        >>> bool(x.loc[x["type"] == "email", "duration"].isna().all())
        True
        """
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
