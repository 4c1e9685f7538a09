"""pandera schemas generated from the catalog, and validation with a readable summary.

>>> import pandas as pd
>>> import bspandas
>>> frame = pd.DataFrame({"ootb_account_crm_id": ["0011"], "ootb_churn_risk_score": [42.0]})
>>> bspandas.schema_for("account", list(frame.columns)).validate(frame).shape
(1, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bspandas._exceptions import InvalidColumnsError, SchemaValidationError, UnknownMetricError
from bspandas._io.dtypes import Backend, dtype_for
from bspandas.catalog import store
from bspandas.catalog.business import PRIMARY_KEYS
from bspandas.catalog.model import Metric, Part
from bspandas.catalog.resolve import parse_name, resolve

if TYPE_CHECKING:  # pandera is imported when a schema is first built (import time)
    import pandera.pandas as pa

__all__ = [
    "FAILURE_SAMPLE",
    "PRIMARY_KEYS",
    "schema_for",
    "summarize_failures",
    "validate_frame",
]

#: Failure cases kept per (column, check) by the vectorised validation of ``read_query``:
#: the first ones in row order. The exact number of failures of each check is in the
#: summary and in ``failure_cases.attrs["failure_counts"]``.
FAILURE_SAMPLE = 100


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
    checked for uniqueness. Each column carries its label and description. ``coerce=False``
    checks dtypes instead of converting (frames from ``read_query`` already have them).
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


def summarize_failures(failure_cases: pd.DataFrame, max_examples: int = 3) -> str:
    """One readable paragraph from a failure-case table (pandera's, or the sampled one of
    the vectorised pass, whose exact counts are in ``attrs["failure_counts"]``)."""
    if failure_cases.empty:
        return "Validation failed."
    counts: dict[tuple[Any, Any], int] = failure_cases.attrs.get("failure_counts", {})
    parts = []
    total = 0
    for (column, check), group in failure_cases.groupby(
        ["column", "check"], sort=False, dropna=False
    ):
        count = counts.get((column, check), len(group))
        total += count
        shown = group.head(max_examples)
        rows = [i for i in shown["index"].tolist() if i is not None and not _missing(i)]
        noun = _dtype_noun(str(check))
        if noun is not None and len(rows) == len(shown):
            cells = ", ".join(
                f"row {_label(i)}: {_show(v)}"
                for i, v in zip(rows, shown["failure_case"], strict=True)
            )
            etc = ", ..." if count > len(shown) else ""
            verb = f"value is not a {noun[:-1]}" if count == 1 else f"values are not {noun}"
            dtype = str(check).split("'")[1]
            parts.append(f"{column}: {count} {verb}, as its dtype {dtype} requires ({cells}{etc})")
            continue
        examples = ", ".join(repr(v) for v in shown["failure_case"].tolist())
        where = f" at rows {rows}" if rows else ""
        more = f" (+{count - max_examples} more)" if count > max_examples else ""
        parts.append(f"{column}: {count} failing {check} e.g. {examples}{where}{more}")
    columns = failure_cases["column"].nunique()
    sampled = any(counts.get(key, 0) > n for key, n in _group_sizes(failure_cases).items())
    see = (
        f"See .failure_cases on the error for the first {FAILURE_SAMPLE} cases of each check."
        if sampled
        else "See .failure_cases on the error for every case."
    )
    return f"{total} validation failure(s) in {columns} column(s): " + "; ".join(parts) + ". " + see


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes
        return False


def _target(name: str) -> Any:
    """The pandas dtype named in a check such as ``dtype('Int64')``, or ``None``."""
    if not name.startswith(("dtype('", "coerce_dtype('")) or name.count("'") != 2:
        return None
    try:
        return pd.api.types.pandas_dtype(name.split("'")[1])
    except (TypeError, ValueError):
        return None


def _dtype_noun(check: str) -> str | None:
    """What the cells of a failing dtype check are not ("whole numbers"), when the check is
    one whose failing cells the validation lists row by row."""
    target = _target(check)
    if target is None or pd.api.types.is_bool_dtype(target):
        return None
    if pd.api.types.is_integer_dtype(target):
        return "whole numbers"
    if pd.api.types.is_float_dtype(target):
        return "numbers"
    return None


def _label(index: Any) -> Any:
    """A row label as the frame has it (a table that mixes labels with None holds 4.0)."""
    return int(index) if isinstance(index, float) and index.is_integer() else index


def _show(value: Any) -> str:
    """A failing cell for a message: numbers and numeric text bare, other text quoted."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return repr(value)
        return value
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _not_numbers(series: pd.Series, target: Any) -> pd.Series | None:
    """Which present cells of ``series`` are not whole numbers (an integer ``target``) or
    not numbers (a float one); ``None`` when the column's dtype is not numbers or text, so
    only the column's dtype can be reported."""
    noun = _dtype_noun(f"dtype('{target}')")
    if noun is None or pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    elif pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        numbers = pd.to_numeric(series.astype(object), errors="coerce")
        values = np.asarray(numbers, dtype="float64")
    else:
        return None
    wrong = np.isnan(values)
    if noun == "whole numbers":
        with np.errstate(invalid="ignore"):
            wrong |= ~np.isfinite(values) | (np.floor(values) != values)
    present = series.notna().to_numpy(dtype=bool, na_value=False)
    return pd.Series(wrong & present, index=series.index)


def _group_sizes(cases: pd.DataFrame) -> dict[tuple[Any, Any], int]:
    sizes = cases.groupby(["column", "check"], sort=False, dropna=False).size()
    return {(key[0], key[1]): int(n) for key, n in sizes.items()}  # type: ignore[index]


def _fast_eligible(frame: pd.DataFrame, schema: pa.DataFrameSchema, lazy: bool) -> bool:
    """The vectorised pass covers what ``schema_for(coerce=False)`` builds: column dtypes,
    column checks, uniqueness, required columns (no coercion, no frame-level checks)."""
    return (
        lazy
        and not schema.coerce
        and not schema.checks
        and not schema.unique
        and schema.index is None
        and frame.columns.is_unique
        and frame.index.is_unique
        and all(not c.coerce and not c.regex for c in schema.columns.values())
    )


def _sample(
    rows: list[dict[str, Any]],
    counts: dict[tuple[Any, Any], int],
    column: str,
    check: str,
    failing: pd.Series,
    values: pd.Series,
    number: int | None,
) -> None:
    """Record the exact count and the first :data:`FAILURE_SAMPLE` failing cells."""
    mask = failing.to_numpy(dtype=bool, na_value=False)
    count = int(mask.sum())
    if not count:
        return
    counts[(column, check)] = count
    positions = mask.nonzero()[0][:FAILURE_SAMPLE]
    picked = values.iloc[positions]
    for index, value in zip(picked.index.tolist(), picked.tolist(), strict=True):
        rows.append(
            {
                "schema_context": "Column",
                "column": column,
                "check": check,
                "check_number": number,
                "failure_case": value,
                "index": index,
            }
        )


def _validate_vectorised(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Failure cases (a sample per check, exact counts in ``attrs``) of one vectorised pass
    over the frame's columns; an empty table when the frame is valid."""
    from pandera.engines import pandas_engine

    rows: list[dict[str, Any]] = []
    counts: dict[tuple[Any, Any], int] = {}
    for name, column in schema.columns.items():
        if name not in frame.columns:
            if column.required:
                rows.append(
                    {
                        "schema_context": "DataFrameSchema",
                        "column": schema.name,
                        "check": "column_in_dataframe",
                        "check_number": None,
                        "failure_case": name,
                        "index": None,
                    }
                )
                counts[(schema.name, "column_in_dataframe")] = (
                    counts.get((schema.name, "column_in_dataframe"), 0) + 1
                )
            continue
        series = frame[name]
        if column.dtype is not None:
            found = pandas_engine.Engine.dtype(series.dtype)
            if not column.dtype.check(found):
                check = f"dtype('{column.dtype}')"
                cells = _not_numbers(series, _target(check))
                if cells is not None and bool(cells.any()):  # name the rows and their values
                    _sample(rows, counts, name, check, cells, series, None)
                else:
                    rows.append(
                        {
                            "schema_context": "Column",
                            "column": name,
                            "check": check,
                            "check_number": None,
                            "failure_case": str(found),
                            "index": None,
                        }
                    )
                    counts[(name, check)] = 1
        if not column.nullable:
            _sample(rows, counts, name, "not_nullable", series.isna(), series, None)
        if column.unique:
            repeated = series.duplicated(keep=False) & series.notna()
            _sample(rows, counts, name, "field_uniqueness", repeated, series, None)
        for number, check in enumerate(column.checks):
            result = check(series)
            passed = result.check_output
            if not isinstance(passed, pd.Series):
                passed = pd.Series(bool(passed), index=series.index)
            passed = passed.fillna(False).astype(bool)
            if len(passed) == len(series) and check.ignore_na:
                passed = passed | series.isna().to_numpy()
            # pandera may check the non-missing values only (ignore_na): its output then has
            # their index labels, which are unique here (see _fast_eligible)
            label = str(check.error) if check.error else str(check.name)
            _sample(rows, counts, name, label, ~passed, series.loc[passed.index], number)
    columns = ["schema_context", "column", "check", "check_number", "failure_case", "index"]
    cases = pd.DataFrame(rows, columns=columns)
    cases.attrs["failure_counts"] = counts
    return cases


def _not_whole(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Cells that coercion to an integer dtype would lose: pandas 3 truncates 12.5 to 12,
    pandas 2 fails without saying which cell. Cases as the vectorised pass records them."""
    rows: list[dict[str, Any]] = []
    counts: dict[tuple[Any, Any], int] = {}
    for name, column in schema.columns.items():
        if name not in frame.columns or not column.coerce or column.dtype is None:
            continue
        check = f"coerce_dtype('{column.dtype}')"
        target = _target(check)
        if target is None or not pd.api.types.is_integer_dtype(target):
            continue
        series = frame[name]
        if pd.api.types.is_integer_dtype(series.dtype):
            continue
        cells = _not_numbers(series, target)
        if cells is not None:
            _sample(rows, counts, name, check, cells, series, None)
    columns = ["schema_context", "column", "check", "check_number", "failure_case", "index"]
    cases = pd.DataFrame(rows, columns=columns)
    cases.attrs["failure_counts"] = counts
    return cases


def _with_early(cases: pd.DataFrame, early: pd.DataFrame) -> pd.DataFrame:
    """pandera's cases with the cells :func:`_not_whole` found in place of its own reports
    of those columns' dtypes."""
    if early.empty:
        return cases
    checks = cases["check"].astype(str)
    echoed = cases["column"].isin(set(early["column"])) & checks.str.startswith(
        ("dtype(", "coerce_dtype(")
    )
    merged = pd.concat([early, cases[~echoed]], ignore_index=True)
    merged.attrs["failure_counts"] = dict(early.attrs["failure_counts"])
    return merged


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
    copy of the frame (safe with a schema that does not coerce).

    A schema without coercion or frame-level checks (``schema_for(coerce=False)``, as
    ``read_query`` uses) is checked in one vectorised pass: its failure cases are the first
    :data:`FAILURE_SAMPLE` of each check, with the exact counts in the summary and in
    ``failure_cases.attrs["failure_counts"]``. Cells of a number or text column that an
    integer column cannot hold (12.5, "0.25") are failure cases with their rows, in both
    passes; coercion never truncates them."""
    from pandera.errors import SchemaError, SchemaErrors

    if _fast_eligible(frame, schema, lazy):
        cases = _validate_vectorised(frame, schema)
        if cases.empty:
            return frame
        summary = summarize_failures(cases)
        if on_fail == "return":
            if report is not None:
                report(summary, cases)
            return frame
        raise SchemaValidationError(summary, cases) from None
    early = _not_whole(frame, schema)
    try:
        validated: pd.DataFrame = schema.validate(frame, lazy=lazy, inplace=inplace)
        if early.empty:
            return validated
        cases = early
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
    cases = _with_early(_drop_echoes(cases), early)
    summary = summarize_failures(cases)
    if on_fail == "return":
        if report is not None:
            report(summary, cases)
        return frame
    raise SchemaValidationError(summary, cases) from None
