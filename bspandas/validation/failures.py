"""Failure-case tables and their one-paragraph summary (:func:`summarize_failures`).

A failure-case table has pandera's columns (``schema_context``, ``column``, ``check``,
``check_number``, ``failure_case``, ``index``); the vectorised pass keeps the first
:data:`FAILURE_SAMPLE` cases of each check and the exact counts in
``attrs["failure_counts"]``.

>>> import pandas as pd
>>> cases = pd.DataFrame({"column": ["score"], "check": ["in_range(0, 100)"],
...                       "failure_case": [140.0], "index": [3]})
>>> print(summarize_failures(cases))  # doctest: +NORMALIZE_WHITESPACE
1 validation failure(s) in 1 column(s): score: 1 failing in_range(0, 100) e.g. 140.0 at
rows [3]. See .failure_cases on the error for every case.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FAILURE_SAMPLE", "summarize_failures"]

#: Failure cases kept per (column, check) by the vectorised validation of ``read_query``:
#: the first ones in row order. The exact number of failures of each check is in the
#: summary and in ``failure_cases.attrs["failure_counts"]``.
FAILURE_SAMPLE = 100


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


def dtype_in_check(name: str) -> Any:
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
    target = dtype_in_check(check)
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


def not_numbers(series: pd.Series, target: Any) -> pd.Series | None:
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


def record_failures(
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
