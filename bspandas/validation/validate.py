"""Validate a frame against a schema, with a readable summary (:func:`validate_frame`).

Schemas without coercion (``schema_for(coerce=False)``, what ``read_query`` uses) are
checked in one vectorised pass; others go through pandera, whose failure cases are cleaned
of echoes and completed with the cells an integer coercion would lose.

>>> import pandas as pd
>>> from bspandas.validation import schema_for
>>> frame = pd.DataFrame({"ootb_churn_risk_score": [42.0, 140.0]})
>>> schema = schema_for("account", ["ootb_churn_risk_score"], coerce=False)
>>> validate_frame(frame, schema, on_fail="return") is frame
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from bspandas._exceptions import SchemaValidationError
from bspandas.validation.failures import (
    dtype_in_check,
    not_numbers,
    record_failures,
    summarize_failures,
)

if TYPE_CHECKING:  # pandera is imported when a frame is first validated
    import pandera.pandas as pa

__all__ = ["validate_frame"]


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


def _validate_vectorised(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Failure cases (a sample per check, exact counts in ``attrs``) of one vectorised pass
    over the frame's columns; an empty table when the frame is valid."""
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
        _dtype_failures(rows, counts, name, column, series)
        if not column.nullable:
            record_failures(rows, counts, name, "not_nullable", series.isna(), series, None)
        if column.unique:
            repeated = series.duplicated(keep=False) & series.notna()
            record_failures(rows, counts, name, "field_uniqueness", repeated, series, None)
        _check_failures(rows, counts, name, column, series)
    columns = ["schema_context", "column", "check", "check_number", "failure_case", "index"]
    cases = pd.DataFrame(rows, columns=columns)
    cases.attrs["failure_counts"] = counts
    return cases


def _dtype_failures(
    rows: list[dict[str, Any]],
    counts: dict[tuple[Any, Any], int],
    name: str,
    column: Any,
    series: pd.Series,
) -> None:
    """The column's dtype check: its failing cells when they can be named, else the dtype."""
    from pandera.engines import pandas_engine

    if column.dtype is None:
        return
    found = pandas_engine.Engine.dtype(series.dtype)
    if column.dtype.check(found):
        return
    check = f"dtype('{column.dtype}')"
    cells = not_numbers(series, dtype_in_check(check))
    if cells is not None and bool(cells.any()):  # name the rows and their values
        record_failures(rows, counts, name, check, cells, series, None)
        return
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


def _check_failures(
    rows: list[dict[str, Any]],
    counts: dict[tuple[Any, Any], int],
    name: str,
    column: pa.Column,
    series: pd.Series,
) -> None:
    """The column's own checks (range, values), run over the whole column at once."""
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
        record_failures(rows, counts, name, label, ~passed, series.loc[passed.index], number)


def _not_whole(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Cells that coercion to an integer dtype would lose: pandas 3 truncates 12.5 to 12,
    pandas 2 fails without saying which cell. Cases as the vectorised pass records them."""
    rows: list[dict[str, Any]] = []
    counts: dict[tuple[Any, Any], int] = {}
    for name, column in schema.columns.items():
        if name not in frame.columns or not column.coerce or column.dtype is None:
            continue
        check = f"coerce_dtype('{column.dtype}')"
        target = dtype_in_check(check)
        if target is None or not pd.api.types.is_integer_dtype(target):
            continue
        series = frame[name]
        if pd.api.types.is_integer_dtype(series.dtype):
            continue
        cells = not_numbers(series, target)
        if cells is not None:
            record_failures(rows, counts, name, check, cells, series, None)
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
    """Validate ``frame`` against ``schema``, with a readable summary of every failure.

    A schema without coercion or frame-level checks (``schema_for(coerce=False)``, as
    ``read_query`` uses) is checked in one vectorised pass: its failure cases are the first
    ``FAILURE_SAMPLE`` (100) of each check, with the exact counts in the summary and in
    ``failure_cases.attrs["failure_counts"]``. Other schemas go through pandera. Cells of
    a number or text column that an integer column cannot hold (12.5, "0.25") are failure
    cases with their rows, in both passes; coercion never truncates them.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame to check.
    schema : pandera.pandas.DataFrameSchema
        Usually from :func:`schema_for`.
    lazy : bool, default True
        Collect every failure (``True``) or stop at the first (``False``, through pandera).
    on_fail : {"raise", "return"}, default "raise"
        Raise :class:`SchemaValidationError`, or call ``report`` and return ``frame``
        unchanged.
    report : callable, optional
        ``report(summary, failure_cases)``, called with ``on_fail="return"`` when the frame
        fails (``read_query`` turns it into a :class:`ValidationWarning`).
    inplace : bool, default False
        Skip pandera's copy of the frame (safe with a schema that does not coerce).

    Returns
    -------
    pandas.DataFrame
        The validated frame (coerced by pandera when the schema coerces), or ``frame``
        itself when the vectorised pass ran or ``on_fail="return"`` found failures.

    Raises
    ------
    SchemaValidationError
        The frame fails (``on_fail="raise"``); ``.failure_cases`` holds the cases and
        ``.summary`` the paragraph.

    Examples
    --------
    >>> import pandas as pd
    >>> import bspandas
    >>> schema = bspandas.schema_for("account", ["ootb_churn_risk_score"], coerce=False)
    >>> frame = pd.DataFrame({"ootb_churn_risk_score": pd.array([42.0, 140.0], "Float64")})
    >>> try:
    ...     validate_frame(frame, schema)
    ... except bspandas.SchemaValidationError as error:
    ...     print(error.summary.split(":")[0])
    1 validation failure(s) in 1 column(s)
    """
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
