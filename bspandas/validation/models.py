"""pandera ``DataFrameModel`` classes for the columns ``read_query`` gives each object.

Each model describes every plain ``ootb_*`` column of its object (the slugs the README and
the notebooks read: ``ootb_account_crm_id``, ``ootb_opportunity_amount`` and its
``_currency`` column, ``ootb_opportunity_owner_id``...), none of them required, so a frame
with any selection of them validates and a wrong value fails. The schema is
``bspandas.schema_for`` over those columns, so it never drifts from the catalog. Failures
raise :class:`bspandas.SchemaValidationError` (never pandera's raw ``SchemaError``), also
through pandera's own tools::

    import pandera.pandas as pa
    from pandera.typing import DataFrame
    from bspandas.validation.models import AccountModel

    @pa.check_types
    def at_risk(accounts: DataFrame[AccountModel]) -> DataFrame[AccountModel]: ...

>>> from bspandas.validation.models import AccountModel
>>> "ootb_account_crm_id" in AccountModel.to_schema().columns
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from bspandas.catalog import store
from bspandas.validation.builder import schema_for
from bspandas.validation.validate import validate_frame

__all__ = [
    "AccountModel",
    "ActivityModel",
    "CatalogModel",
    "OpportunityModel",
    "UserModel",
    "core_columns",
    "field_columns",
]


def core_columns(obj: str) -> tuple[str, ...]:
    """Frame column names of an object's core fields in the vendor reference.

    The "Core ... Fields" tables, or every plain field for objects the reference does not
    cover.

    Parameters
    ----------
    obj : str
        The Query API object (``"account"``, ``"opportunity"``...).

    Returns
    -------
    tuple of str
        Column names in catalog order, each once.

    Raises
    ------
    UnknownObjectError
        ``obj`` is not an object the catalog knows.

    Examples
    --------
    >>> core_columns("opportunity")[:3]
    ('actual_close_date', 'crm_account_id', 'crm_account_name')
    """
    metrics = store.all_metrics(obj)
    core = [m for m in metrics if m.category.startswith("Core") and m.source != "custom"]
    if not core:
        core = [m for m in metrics if m.kind == "field" and m.source == "field"]
    names = (m.slug + part.suffix for m in core for part in m.parts)
    return tuple(dict.fromkeys(names))  # ootb_user_name is also ootb_user's name part


def field_columns(obj: str) -> tuple[str, ...]:
    """Frame column names of every ``ootb_*`` slug of ``obj`` that is read without a period.

    Expanded slugs give each of their columns: ``ootb_opportunity_amount`` and
    ``ootb_opportunity_amount_currency``.

    Parameters
    ----------
    obj : str
        The Query API object (``"account"``, ``"opportunity"``...).

    Returns
    -------
    tuple of str
        Column names in catalog order, each once.

    Raises
    ------
    UnknownObjectError
        ``obj`` is not an object the catalog knows.

    Examples
    --------
    >>> cols = field_columns("opportunity")
    >>> cols.index("ootb_opportunity_amount_currency") - cols.index("ootb_opportunity_amount")
    1
    """
    metrics = store.all_metrics(obj)
    chosen = [m for m in metrics if m.slug.startswith("ootb_") and m.bare and m.source != "custom"]
    names = (m.slug + part.suffix for m in chosen for part in m.parts)
    return tuple(dict.fromkeys(names))


class _CatalogSchema(pa.DataFrameSchema):
    """A pandera schema whose failures are :class:`bspandas.SchemaValidationError`."""

    @classmethod
    def get_backend(cls, check_obj: Any | None = None, check_type: type | None = None) -> Any:
        """pandera's backend for ``DataFrameSchema`` (its registry is keyed by class)."""
        return pa.DataFrameSchema.get_backend(check_obj, check_type)

    def validate(self, check_obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().validate(check_obj, *args, **kwargs)
        except (SchemaError, SchemaErrors):  # again, lazily, for every failure at once
            plain = pa.DataFrameSchema(self.columns, strict=self.strict, name=self.name)
            return validate_frame(check_obj, plain, lazy=True)


class CatalogModel(pa.DataFrameModel):
    """Base class: the schema of a subclass is the catalog schema of its columns.

    A subclass sets ``object_name`` and ``column_names``; none of the columns is required,
    and validation failures raise :class:`bspandas.SchemaValidationError`.

    Examples
    --------
    >>> import pandas as pd
    >>> class Scores(CatalogModel):
    ...     object_name = "account"
    ...     column_names = ("ootb_churn_risk_score",)
    >>> Scores.validate(pd.DataFrame({"ootb_churn_risk_score": [12.0]})).shape
    (1, 1)
    """

    object_name: ClassVar[str] = ""
    column_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def to_schema(cls) -> Any:
        """The pandera schema of the model: :func:`schema_for` over its columns, none required.

        Returns
        -------
        pandera.pandas.DataFrameSchema
            Named ``"<Model> (backstory.<object>)"``; its failures raise
            :class:`bspandas.SchemaValidationError`.

        Examples
        --------
        >>> schema = AccountModel.to_schema()
        >>> schema.name
        'AccountModel (backstory.account)'
        >>> schema.columns["ootb_account_crm_id"].required
        False
        """
        schema = schema_for(cls.object_name, list(cls.column_names))
        optional = schema.update_columns({name: {"required": False} for name in schema.columns})
        return _CatalogSchema(
            optional.columns,
            strict=False,
            coerce=False,
            name=f"{cls.__name__} (backstory.{cls.object_name})",
            description=schema.description,
            metadata=schema.metadata,
        )

    @classmethod
    def validate(
        cls,
        check_obj: pd.DataFrame,
        head: int | None = None,
        tail: int | None = None,
        sample: int | None = None,
        random_state: int | None = None,
        lazy: bool = False,
        inplace: bool = False,
    ) -> Any:
        """Validate ``check_obj``; every failure at once in a :class:`SchemaValidationError`.

        Parameters
        ----------
        check_obj : pandas.DataFrame
            The frame to check; columns the model does not describe are left alone.
        head, tail, sample, random_state : optional
            Accepted for pandera's signature and ignored: every row is checked.
        lazy : bool, default False
            Accepted for pandera's signature; every failure is always collected.
        inplace : bool, default False
            Skip the copy of the frame.

        Returns
        -------
        pandas.DataFrame
            ``check_obj`` when it is valid.

        Raises
        ------
        SchemaValidationError
            Any cell fails its column's dtype, range, value or uniqueness check.

        Examples
        --------
        >>> import pandas as pd
        >>> import bspandas
        >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001", "001"]})
        >>> try:
        ...     AccountModel.validate(frame)
        ... except bspandas.SchemaValidationError as error:
        ...     print(error.failure_cases["check"].tolist())
        ['field_uniqueness', 'field_uniqueness']
        """
        plain = pa.DataFrameSchema(cls.to_schema().columns, coerce=False)
        return validate_frame(check_obj, plain, lazy=True, inplace=inplace)


class AccountModel(CatalogModel):
    """Plain ``ootb_account_*`` (and other ``ootb_*``) account columns."""

    object_name = "account"
    column_names = field_columns("account")


class OpportunityModel(CatalogModel):
    """Plain ``ootb_opportunity_*`` columns: ids, name, account, amount and its currency,
    converted amount, stage, owner id and name, close date, status."""

    object_name = "opportunity"
    column_names = field_columns("opportunity")


class UserModel(CatalogModel):
    """Plain ``ootb_user_*`` columns: the user reference, name, email, role, team, manager."""

    object_name = "user"
    column_names = field_columns("user")


class ActivityModel(CatalogModel):
    """Plain ``ootb_activity_*`` columns: uid, timestamp, type, subject, account, opportunity."""

    object_name = "activity"
    column_names = field_columns("activity")
