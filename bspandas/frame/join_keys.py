"""Which columns an account frame and an opportunity frame are joined on, checks on
those keys, and matching key values by position."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from bspandas._exceptions import (
    InvalidColumnsError,
    SchemaValidationError,
)
from bspandas.catalog.business import ACCOUNT_KEYS
from bspandas.frame.columns import catalog_columns

__all__ = ["JoinHow", "JoinKey", "OrphanPolicy", "join_key"]

JoinHow: TypeAlias = Literal["left", "inner", "right", "outer"]
OrphanPolicy: TypeAlias = Literal["warn", "ignore"]


@dataclass(frozen=True, slots=True)
class JoinKey:
    """The columns an account frame and an opportunity frame are joined on.

    Parameters
    ----------
    key : str
        What the values identify (``"account.crm_id"``, ``"account.internal_id"``,
        ``"account.name"``), or ``"explicit"`` for columns the caller named.
    account_column : hashable
        The key column of the account frame.
    opportunity_column : hashable
        The key column of the opportunity frame.

    Examples
    --------
    >>> JoinKey("explicit", "id", "account_ref").opportunity_column
    'account_ref'
    """

    key: str
    account_column: Hashable
    opportunity_column: Hashable


def _keys(frame: pd.DataFrame, obj: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, info in catalog_columns(frame.columns, obj).items():
        if info.key in ACCOUNT_KEYS:
            found.setdefault(info.key, []).append(name)
    return found


def join_key(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    on: tuple[Hashable, Hashable] | None = None,
) -> JoinKey:
    """The columns an account frame and an opportunity frame are joined on.

    Parameters
    ----------
    accounts : pandas.DataFrame
        The account frame (flat columns).
    opportunities : pandas.DataFrame
        The opportunity frame.
    on : tuple of (hashable, hashable), optional
        ``(account_column, opportunity_column)``, overriding the catalog. By default the
        account CRM id (``ootb_account_crm_id`` with ``crm_account_id`` or
        ``ootb_opportunity_account``), else the internal id, else the account name,
        whichever both frames have first.

    Returns
    -------
    JoinKey
        The key and the column of each frame.

    Raises
    ------
    bspandas.InvalidColumnsError
        If a column named in ``on`` is missing, or if the frames have no account key in
        common (the message lists the keys each frame has and what to fetch).

    Examples
    --------
    >>> join_key(pd.DataFrame(columns=["ootb_account_crm_id", "ootb_account_name"]),
    ...          pd.DataFrame(columns=["ootb_opportunity_account_name", "crm_account_id"]))
    JoinKey(key='account.crm_id', account_column='ootb_account_crm_id', \
opportunity_column='crm_account_id')
    """
    if on is not None:
        left, right = on
        missing = [
            f"{side} has no column {c!r}"
            for side, c, f in (
                ("accounts", left, accounts),
                ("opportunities", right, opportunities),
            )
            if c not in f.columns
        ]
        if missing:
            raise InvalidColumnsError(f"on={on!r}: {'; '.join(missing)}.")
        return JoinKey("explicit", left, right)
    mine, theirs = _keys(accounts, "account"), _keys(opportunities, "opportunity")
    for key in ACCOUNT_KEYS:
        if key in mine and key in theirs:
            return JoinKey(key, mine[key][0], theirs[key][0])

    def listed(found: Mapping[str, list[str]]) -> str:
        return ", ".join(f"{k}: {', '.join(v)}" for k, v in found.items()) or "none"

    raise InvalidColumnsError(
        "No common account key. The account frame has "
        f"{listed(mine)}; the opportunity frame has {listed(theirs)}. Fetch "
        "ootb_account_crm_id on the accounts and crm_account_id (or ootb_opportunity_account) "
        "on the opportunities, or pass on=(account_column, opportunity_column)."
    )


def _check_unique(accounts: pd.DataFrame, column: Hashable) -> None:
    keys = accounts[column]
    if keys.is_unique:
        return
    present = keys.dropna()
    dup = present[present.duplicated(keep=False)]
    if dup.empty:
        return  # only missing keys repeat; they match nothing
    counts = dup.value_counts(sort=False)
    shown = ", ".join(f"{k!r} ({n} rows)" for k, n in list(counts.items())[:10])
    more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
    cases = pd.DataFrame(
        {
            "schema_context": "Column",
            "column": str(column),
            "check": "field_uniqueness",
            "check_number": None,
            "failure_case": dup.astype(object).to_numpy(),
            "index": dup.index.to_numpy(),
        }
    )
    raise SchemaValidationError(
        f"The account frame has {len(counts)} duplicated key value(s) in {column!r}: "
        f"{shown}{more}. Each account must appear once to join its opportunities; drop the "
        "duplicates (e.g. accounts.drop_duplicates(subset=...)) or join on another key.",
        cases,
    )


def _positions(keys: pd.Series, targets: pd.Series) -> npt.NDArray[np.intp]:
    """For each key, the position of the equal value in ``targets`` (unique apart from
    missing values), -1 when there is none; a missing key matches nothing."""
    parts = [keys.reset_index(drop=True), targets.reset_index(drop=True)]
    if keys.dtype != targets.dtype:  # compare values, whatever their dtypes
        parts = [part.astype(object) for part in parts]
    both = pd.concat(parts, ignore_index=True)
    codes = np.asarray(pd.factorize(both)[0], dtype=np.intp)
    mine, theirs = codes[: len(keys)], codes[len(keys) :]
    lookup = np.full(int(codes.max(initial=-1)) + 2, -1, dtype=np.intp)
    present = theirs >= 0
    lookup[theirs[present]] = np.flatnonzero(present)
    return lookup[mine]  # -1 (missing) reads the last entry, which no code reaches
