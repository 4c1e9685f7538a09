"""The tenant's contacts: the people of each account (the ``person`` object).

The raw table (Arrow and numpy columns the metric rules read), how it is drawn from the
tenant's seed, and its pandas view (:attr:`Tenant.contacts <bspandas.sandbox.Tenant.contacts>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from bspandas.sandbox.tenant.columns import categorical, internal_ids, join, people_names, seconds
from bspandas.sandbox.tenant.pools import (
    CONTACT_LEVELS,
    DAY,
)

if TYPE_CHECKING:
    from bspandas.sandbox.tenant.core import Tenant

__all__ = ["Contacts", "frame_contacts", "make_contacts"]

Arr = npt.NDArray[Any]


@dataclass(slots=True)
class Contacts:
    internal_id: Arr
    account: Arr
    name: Any
    email: Any
    level: Arr  # index into CONTACT_LEVELS
    created_s: Arr
    created_by: Arr  # user index


def make_contacts(tenant: Tenant) -> Contacts:
    """Draw the contacts table of ``tenant`` (its own random stream)."""
    rng = tenant._rng(3)
    accounts = tenant.accounts_raw
    n_acc = len(accounts.internal_id)
    counts = 1 + rng.poisson(tenant.options.contacts_per_account - 1, n_acc)
    account = np.repeat(np.arange(n_acc), counts)
    n = len(account)
    display, handle = people_names(rng, n)
    email = join(handle, "@", accounts.domain_full.take(pa.array(account)))
    n_users = len(tenant.users_raw.internal_id)
    created_by = np.where(rng.random(n) < 0.8, accounts.owner[account], rng.integers(0, n_users, n))
    return Contacts(
        internal_id=internal_ids(5_100_000_000_000, n, rng),
        account=account,
        name=display,
        email=email,
        level=rng.choice(len(CONTACT_LEVELS), n, p=(0.1, 0.15, 0.2, 0.25, 0.3)),
        created_s=tenant.as_of_s - rng.integers(DAY, 1000 * DAY, n),
        created_by=created_by,
    )


def frame_contacts(tenant: Tenant) -> pd.DataFrame:
    """The contacts table as the pandas frame :attr:`Tenant.contacts` shows."""
    c = tenant.contacts_raw
    return pd.DataFrame(
        {
            "internal_id": c.internal_id,
            "account_id": tenant.accounts_raw.internal_id[c.account],
            "name": c.name.to_pandas(),
            "email": c.email.to_pandas(),
            "level": categorical(c.level, CONTACT_LEVELS),
            "created_at": seconds(c.created_s),
            "created_by": tenant.users_raw.internal_id[c.created_by],
        }
    )
