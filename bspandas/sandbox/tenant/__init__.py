"""The synthetic tenant: users, accounts, contacts, opportunities and an activity log.

Everything is drawn with numpy from one seed (each table from its own stream, so the
order in which tables are first used does not matter) and generated lazily: a tenant with a
million opportunities does not build its activity log until something needs it. The raw
tables are exposed as pandas DataFrames so tests can recompute every served metric.

Tables reference each other by internal id (``account_id``, ``owner_id``...). Times are UTC;
dates are midnight UTC.

>>> t = Tenant(accounts=20, users=5, seed=1)
>>> len(t.accounts)
20
>>> t.opportunities["account_id"].isin(t.accounts["internal_id"]).all()
np.True_
>>> Tenant(accounts=20, users=5, seed=1).accounts.equals(t.accounts)
True
"""

from bspandas.sandbox.tenant.core import Tenant
from bspandas.sandbox.tenant.options import VOCABULARIES, TenantOptions, as_instant
from bspandas.sandbox.tenant.pools import (
    ACTIVITY_TYPES,
    AS_OF,
    CONTACT_LEVELS,
    CURRENCIES,
    CUSTOM_STAGE,
    STAGES,
    TENANT_STAGES,
)

__all__ = [
    "ACTIVITY_TYPES",
    "AS_OF",
    "CONTACT_LEVELS",
    "CURRENCIES",
    "CUSTOM_STAGE",
    "STAGES",
    "TENANT_STAGES",
    "VOCABULARIES",
    "Tenant",
    "TenantOptions",
    "as_instant",
]
