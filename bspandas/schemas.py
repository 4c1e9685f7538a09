"""pandera ``DataFrameModel`` classes for the core fields of each object.

They are generated from the catalog (their schema is ``bspandas.schema_for`` over the core
fields), so they never drift from it. Use them with pandera's own tools::

    import pandera.pandas as pa
    from pandera.typing import DataFrame
    from bspandas.schemas import AccountModel

    @pa.check_types
    def at_risk(accounts: DataFrame[AccountModel]) -> DataFrame[AccountModel]: ...

>>> from bspandas.schemas import AccountModel
>>> "ootb_account_crm_id" in AccountModel.to_schema().columns
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandera.pandas as pa

from bspandas.catalog import store
from bspandas.schema import schema_for

__all__ = [
    "AccountModel",
    "ActivityModel",
    "CatalogModel",
    "OpportunityModel",
    "UserModel",
    "core_columns",
]


def core_columns(obj: str) -> tuple[str, ...]:
    """Frame column names of an object's core fields (the reference's "Core ... Fields"
    tables, or every plain field for objects the reference does not cover)."""
    metrics = store.all_metrics(obj)
    core = [m for m in metrics if m.category.startswith("Core") and m.source != "custom"]
    if not core:
        core = [m for m in metrics if m.kind == "field" and m.source == "field"]
    names = (m.slug + part.suffix for m in core for part in m.parts)
    return tuple(dict.fromkeys(names))  # ootb_user_name is also ootb_user's name part


class CatalogModel(pa.DataFrameModel):
    """Base class: the schema of a subclass is the catalog schema of its columns."""

    object_name: ClassVar[str] = ""
    column_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def to_schema(cls) -> Any:
        return schema_for(cls.object_name, list(cls.column_names))


class AccountModel(CatalogModel):
    """Core account fields: CRM id, name, owner, domain, industry, size, revenue, tier."""

    object_name = "account"
    column_names = core_columns("account")


class OpportunityModel(CatalogModel):
    """Core opportunity fields: ids, names, owner, value, expected and actual close dates."""

    object_name = "opportunity"
    column_names = core_columns("opportunity")


class UserModel(CatalogModel):
    """Core user fields: CRM id, name, email, role, team, manager, hire date."""

    object_name = "user"
    column_names = core_columns("user")


class ActivityModel(CatalogModel):
    """Activity fields: uid, timestamp, type, subject, account, opportunity, flags."""

    object_name = "activity"
    column_names = core_columns("activity")
