"""The pandera schema of an object's columns, generated from the catalog (:func:`schema_for`).

Each column gets the catalog dtype, a range or value check where the catalog has one,
uniqueness for row ids, and its label and description; pandera is imported when the first
schema is built, not by ``import bspandas``.

>>> import pandas as pd
>>> from bspandas.validation import schema_for
>>> frame = pd.DataFrame({"ootb_account_crm_id": ["0011"], "ootb_churn_risk_score": [42.0]})
>>> schema_for("account", list(frame.columns)).validate(frame).shape
(1, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from bspandas._exceptions import InvalidColumnsError, UnknownMetricError
from bspandas._io.dtypes import Backend, dtype_for
from bspandas.catalog import store
from bspandas.catalog.business import PRIMARY_KEYS
from bspandas.catalog.model import Metric, Part
from bspandas.catalog.resolve import parse_name, resolve

if TYPE_CHECKING:  # pandera is imported when a schema is first built (import time)
    import pandera.pandas as pa

__all__ = ["schema_for"]


def _range_check(lo: float | None, hi: float | None, type: str) -> pa.Check:
    """A range check that tolerates values of the wrong type (those fail the dtype check
    already; comparing them again would hide the real out-of-range values)."""
    import pandera.pandas as pa

    text = (
        f"in_range({lo}, {hi})"
        if lo is not None and hi is not None
        else (
            f"greater_than_or_equal_to({lo})" if lo is not None else f"less_than_or_equal_to({hi})"
        )
    )

    def check(series: pd.Series) -> pd.Series:
        if type == "duration":
            values = (
                series
                if pd.api.types.is_timedelta64_dtype(series.dtype)
                else (pd.to_timedelta(series, errors="coerce"))
            )
            numbers = values.dt.total_seconds()
        else:
            numbers = pd.to_numeric(series, errors="coerce")
        inside = pd.Series(True, index=series.index)
        if lo is not None:
            inside &= (numbers >= lo).fillna(False)
        if hi is not None:
            inside &= (numbers <= hi).fillna(False)
        return numbers.isna() | inside

    return pa.Check(check, name=text, error=text)


def _column(
    name: str,
    metric: Metric,
    part: Part,
    period: str | None,
    backend: Backend,
    required: bool,
    coerce: bool,
) -> pa.Column:
    import pandera.pandas as pa

    checks: list[pa.Check] = []
    dtype: Any = None
    if part.type == "enumeration":
        values = part.values or metric.values
        if values and not metric.picklist:  # a CRM picklist's values are the tenant's
            checks.append(pa.Check.isin(list(values)))
        if backend == "pyarrow":
            dtype = dtype_for("enumeration", backend=backend)
    elif part.type != "list":
        dtype = dtype_for(part.type, backend=backend)
    bounds = metric.bounds if part.suffix == "" else None
    if bounds is not None and part.type not in ("enumeration", "text", "id", "list"):
        checks.append(_range_check(bounds[0], bounds[1], part.type))
    unique = (part.key or metric.key) in PRIMARY_KEYS.get(metric.object, ()) and bool(
        part.key or metric.key
    )
    label = metric.header_labels(period)[metric.parts.index(part)]
    return pa.Column(
        dtype,
        checks=checks,
        nullable=True,
        unique=unique,
        required=required,
        coerce=coerce and dtype is not None,
        title=label,
        description=metric.description,
        metadata={
            "slug": metric.slug,
            "period": period,
            "type": part.type,
            "object": metric.object,
            "source": metric.source,
        },
    )


def _all_columns(obj: str) -> Iterable[tuple[str, Metric, Part, str | None]]:
    for metric in store.all_metrics(obj):
        for part in metric.parts:
            if metric.bare:
                yield metric.slug + part.suffix, metric, part, None
            for period in metric.periods:
                yield f"{metric.slug}_{period}{part.suffix}", metric, part, period


def _named_columns(
    obj: str, columns: Sequence[Any]
) -> Iterable[tuple[str, Metric, Part, str | None]]:
    for spec in columns:
        if isinstance(spec, str):
            found = parse_name(spec, obj)
            bare_slug = found is not None and spec == found[0].slug
            if found is not None and not (bare_slug and found[0].parts[0].suffix):
                metric, period, part = found
                yield spec, metric, part, period
                continue
        try:
            resolved = resolve([spec], obj)
        except UnknownMetricError:
            if isinstance(spec, str):
                continue  # read with on_unknown="text": the catalog cannot check it
            raise
        for column in resolved:
            for output in column.outputs():
                yield output.name, column.metric, output.part, column.period


def schema_for(
    object: str,
    columns: Sequence[Any] | None = None,
    *,
    dtype_backend: Backend = "numpy_nullable",
    strict: bool = False,
    coerce: bool = True,
) -> pa.DataFrameSchema:
    """A pandera schema for ``object`` with the given columns (frame names or column specs).

    Without ``columns`` every column the catalog can produce for the object is described
    and none is required, so any selection validates. Columns are nullable (the API leaves
    cells empty), coerced to the catalog dtype, range- and value-checked; row ids are
    checked for uniqueness. Each column carries its label and description.

    Parameters
    ----------
    object : str
        The Query API object: ``"account"``, ``"opportunity"``, ``"user"``, ``"activity"``...
    columns : sequence, optional
        Frame column names (``"ootb_emails_sent_last_7_days"``) or column specs as
        ``read_query`` takes them (``("ootb_emails_sent", "last_7_days")``); every listed
        column is required. ``None`` (default) describes every catalog column, none required.
        Names the catalog does not know are skipped (a frame read with ``on_unknown="text"``).
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        The dtypes to expect, as ``read_query(dtype_backend=...)`` produces them.
    strict : bool, default False
        Refuse columns the schema does not describe.
    coerce : bool, default True
        Convert columns to the catalog dtype before checking; ``False`` checks the dtypes
        instead (frames from ``read_query`` already have them).

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Named ``backstory.<object>``, with the catalog version in its metadata.

    Raises
    ------
    UnknownObjectError
        ``object`` is not one the Query API exports.
    InvalidColumnsError
        ``columns`` is not a list (a single string, for example).
    InvalidVariationError
        A column spec asks for a period its metric does not have.

    Examples
    --------
    >>> from bspandas.validation import schema_for
    >>> schema = schema_for("account", ["ootb_account_crm_id", "ootb_churn_risk_score"])
    >>> schema.name
    'backstory.account'
    >>> schema.columns["ootb_account_crm_id"].unique
    True
    >>> [check.name for check in schema.columns["ootb_churn_risk_score"].checks]
    ['in_range(0, 100)']
    """
    import pandera.pandas as pa

    obj = store.check_object(object)
    required = columns is not None
    if columns is None:
        entries = _all_columns(obj)
    elif isinstance(columns, str) or not isinstance(columns, Sequence):
        raise InvalidColumnsError(f"columns must be a list, got {columns!r}.")
    else:
        entries = _named_columns(obj, columns)
    schema_columns = {
        name: _column(name, metric, part, period, dtype_backend, required, coerce)
        for name, metric, part, period in entries
    }
    return pa.DataFrameSchema(
        schema_columns,
        strict=strict,
        coerce=False,
        name=f"backstory.{obj}",
        description=f"Backstory {obj} columns (catalog {store.version()})",
        metadata={"object": obj, "catalog_version": store.version()},
    )
