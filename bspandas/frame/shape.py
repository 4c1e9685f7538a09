"""What shape a frame is in: flat (one column per variation), pivoted (two column levels,
``(metric, period)``) or long (``metric``, ``period``, ``value``); and keeping column labels
across reshapes.

>>> import pandas as pd
>>> from bspandas.frame.shape import is_long
>>> is_long(pd.DataFrame(columns=["ootb_account_crm_id", "metric", "period", "value"]))
True
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import pandas as pd

__all__ = ["is_long"]

_LONG_COLUMNS = ("metric", "period", "value")


def _is_pivoted(frame: pd.DataFrame) -> bool:
    return isinstance(frame.columns, pd.MultiIndex) and frame.columns.nlevels == 2


def is_long(frame: pd.DataFrame) -> bool:
    """Whether a frame is in the long form :func:`melt_variations` makes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame.

    Returns
    -------
    bool
        True when the frame has flat columns including ``metric``, ``period`` and
        ``value``.

    Examples
    --------
    >>> is_long(pd.DataFrame(columns=["ootb_account_crm_id", "ootb_emails_sent_last_7_days"]))
    False
    """
    if _is_pivoted(frame):
        return False
    columns = frame.columns
    return all(c in columns for c in _LONG_COLUMNS)


def _flat_names(columns: pd.Index, names: Mapping[tuple[str, str], str]) -> list[Hashable]:
    flat: list[Hashable] = []
    for metric, period in columns:
        if period in ("", None):
            flat.append(metric)
        else:
            flat.append(names.get((str(metric), str(period)), f"{metric}_{period}"))
    return flat


def _restore_order(current: Sequence[Hashable], recorded: object) -> list[Hashable]:
    """``current`` in the recorded order (names not recorded go last, in their order)."""
    if not isinstance(recorded, list):
        return list(current)
    present = set(current)
    ordered = [c for c in recorded if isinstance(c, Hashable) and c in present]
    seen = set(ordered)
    return ordered + [c for c in current if c not in seen]


def _json_labels(labels: Iterable[Hashable]) -> bool:
    return all(isinstance(label, str | int) for label in labels)
