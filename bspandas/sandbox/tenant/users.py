"""The tenant's users: one per seat, with roles, teams, managers and quotas.

The raw table (Arrow and numpy columns the metric rules read), how it is drawn from the
tenant's seed, and its pandas view (:attr:`Tenant.users <bspandas.sandbox.Tenant.users>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.tenant.columns import (
    categorical,
    crm_ids,
    internal_ids,
    join,
    people_names,
    ref,
    seconds,
    strings,
)
from bspandas.sandbox.tenant.pools import (
    DAY,
    OUR_DOMAIN,
    ROLES,
    TEAM_NAMES,
)

if TYPE_CHECKING:
    from bspandas.sandbox.tenant.core import Tenant

__all__ = ["Users", "frame_users", "make_users"]

Arr = npt.NDArray[Any]


@dataclass(slots=True)
class Users:
    internal_id: Arr
    crm_id: Any
    name: Any
    email: Any
    role: Arr  # index into ROLES
    team: Arr  # index into teams
    team_id: Arr
    team_name: Any  # per team
    manager: Arr  # user index, -1 for none
    hire_day: Arr  # days since epoch
    quota: Arr  # annual quota (USD), NaN when the role carries none


def make_users(tenant: Tenant) -> Users:
    """Draw the users table of ``tenant`` (its own random stream)."""
    rng = tenant._rng(1)
    n = tenant.options.users
    n_teams = max(1, min(len(TEAM_NAMES), n // 8))
    role = np.full(n, 2)
    draw = rng.random(n)
    role[draw < 0.25] = 3
    role[(draw >= 0.25) & (draw < 0.4)] = 4
    team = rng.integers(0, n_teams, n)
    manager = np.full(n, -1)
    role[0] = 0
    team[0] = 0
    leads = np.arange(1, min(n, n_teams + 1))
    role[leads] = 1
    team[leads] = np.arange(len(leads))
    manager[leads] = 0
    lead_of_team = np.full(n_teams, 0)
    lead_of_team[team[leads]] = leads
    rest = np.arange(len(leads) + 1, n)
    manager[rest] = lead_of_team[team[rest]]
    display, handle = people_names(rng, n)
    numbers = pc.cast(pa.array(np.arange(n) + 1), pa.string())
    email = join(handle, numbers, "@", OUR_DOMAIN)
    quota = np.where(
        np.isin(role, (0, 1, 2)),
        np.round(rng.uniform(0.6e6, 2.4e6, n), -4) * np.where(role == 2, 1, 4),
        np.nan,
    )
    return Users(
        internal_id=internal_ids(3_100_000_000_000, n, rng),
        crm_id=crm_ids("005", np.arange(n) + 1000),
        name=display,
        email=email,
        role=role,
        team=team,
        team_id=4_100_000_000_000 + np.arange(n_teams, dtype=np.int64) * 7919,
        team_name=strings(TEAM_NAMES[:n_teams]),
        manager=manager,
        hire_day=tenant.as_of_s // DAY - rng.integers(30, 3650, n),
        quota=quota,
    )


def frame_users(tenant: Tenant) -> pd.DataFrame:
    """The users table as the pandas frame :attr:`Tenant.users` shows."""
    u = tenant.users_raw
    return pd.DataFrame(
        {
            "internal_id": u.internal_id,
            "crm_id": u.crm_id.to_pandas(),
            "name": u.name.to_pandas(),
            "email": u.email.to_pandas(),
            "role": categorical(u.role, ROLES),
            "team_id": u.team_id[u.team],
            "team_name": u.team_name.take(pa.array(u.team)).to_pandas(),
            "manager_id": ref(u.internal_id, u.manager),
            "hire_date": seconds(u.hire_day * DAY),
            "quota": u.quota,
        }
    )
