"""The pandera models of each object's columns, public as ``bspandas.schemas``.

The models live in :mod:`bspandas.validation.models`; this module is their public name, so
``bs.schemas.AccountModel`` and ``from bspandas.schemas import AccountModel`` both work
without a warning (0.1 code keeps working as it was written).

>>> from bspandas.schemas import OpportunityModel
>>> "ootb_opportunity_amount" in OpportunityModel.to_schema().columns
True
"""

from __future__ import annotations

from bspandas.validation.models import (
    AccountModel,
    ActivityModel,
    CatalogModel,
    OpportunityModel,
    UserModel,
    core_columns,
    field_columns,
)

__all__ = [
    "AccountModel",
    "ActivityModel",
    "CatalogModel",
    "OpportunityModel",
    "UserModel",
    "core_columns",
    "field_columns",
]
