"""pandera schemas generated from the catalog, and validation with a readable summary.

>>> import pandas as pd
>>> import bspandas
>>> frame = pd.DataFrame({"ootb_account_crm_id": ["0011"], "ootb_churn_risk_score": [42.0]})
>>> bspandas.schema_for("account", list(frame.columns)).validate(frame).shape
(1, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from bspandas.catalog import store
from bspandas.catalog.model import Metric, Part
from bspandas.catalog.resolve import parse_name, resolve
from bspandas.dtypes import Backend, dtype_for
from bspandas.errors import InvalidColumnsError, SchemaValidationError, UnknownMetricError

__all__ = ["PRIMARY_KEYS", "schema_for", "summarize_failures", "validate_frame"]

#: The key that identifies a row of each object (its column must be unique).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "account": ("account.crm_id", "account.internal_id"),
    "opportunity": ("opportunity.crm_id", "opportunity.internal_id"),
    "user": ("user.crm_id", "user.internal_id", "user.email"),
    "activity": ("activity.uid",),
}


def _range_check(lo: float | None, hi: float | None, type: str) -> pa.Check:
    """A range check that tolerates values of the wrong type (those fail the dtype check
    already; comparing them again would hide the real out-of-range values)."""
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
    checked for uniqueness. Each column carries its label and description. ``coerce=False``
    checks dtypes instead of converting (frames from ``read_query`` already have them).
    """
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


def summarize_failures(failure_cases: pd.DataFrame, max_examples: int = 3) -> str:
    """One readable paragraph from pandera's failure-case table."""
    if failure_cases.empty:
        return "Validation failed."
    parts = []
    total = len(failure_cases)
    for (column, check), group in failure_cases.groupby(
        ["column", "check"], sort=False, dropna=False
    ):
        examples = ", ".join(repr(v) for v in group["failure_case"].head(max_examples).tolist())
        rows = [i for i in group["index"].head(max_examples).tolist() if i is not None]
        where = f" at rows {rows}" if rows else ""
        more = f" (+{len(group) - max_examples} more)" if len(group) > max_examples else ""
        parts.append(f"{column}: {len(group)} failing {check} e.g. {examples}{where}{more}")
    columns = failure_cases["column"].nunique()
    return (
        f"{total} validation failure(s) in {columns} column(s): " + "; ".join(parts) + ". "
        "See .failure_cases on the error for every case."
    )


def _drop_echoes(cases: pd.DataFrame) -> pd.DataFrame:
    """pandera reports a value that cannot be coerced twice (coerce_dtype, then dtype);
    keep the first report only."""
    if "check" not in cases or cases.empty:
        return cases
    checks = cases["check"].astype(str)
    coerced = cases[checks.str.startswith("coerce_dtype")]
    if coerced.empty:
        return cases
    seen = set(zip(coerced["column"], coerced["index"], strict=True))
    echoed = pd.Series(
        [(c, i) in seen for c, i in zip(cases["column"], cases["index"], strict=True)],
        index=cases.index,
        dtype=bool,
    )
    return cases[~(checks.str.startswith("dtype(") & echoed)].reset_index(drop=True)


def validate_frame(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    lazy: bool = True,
    on_fail: Literal["raise", "return"] = "raise",
    report: Callable[[str, pd.DataFrame], None] | None = None,
    inplace: bool = False,
) -> pd.DataFrame:
    """Validate ``frame``; on failure raise :class:`SchemaValidationError` (or report and
    return the frame unchanged when ``on_fail="return"``). ``inplace=True`` skips pandera's
    copy of the frame (safe with a schema that does not coerce)."""
    try:
        validated: pd.DataFrame = schema.validate(frame, lazy=lazy, inplace=inplace)
        return validated
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:
        cases = pd.DataFrame(
            {
                "schema_context": [getattr(error.schema, "__class__", type(None)).__name__],
                "column": [getattr(error.schema, "name", None)],
                "check": [str(error.check)],
                "check_number": [None],
                "failure_case": [
                    error.failure_cases if error.failure_cases is not None else str(error)
                ],
                "index": [None],
            }
        )
    cases = _drop_echoes(cases)
    summary = summarize_failures(cases)
    if on_fail == "return":
        if report is not None:
            report(summary, cases)
        return frame
    raise SchemaValidationError(summary, cases) from None
