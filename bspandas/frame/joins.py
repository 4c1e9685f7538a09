"""Opportunities joined onto their accounts (row by row, or rolled up to one row per
account) and the account's columns added to each opportunity.

>>> import pandas as pd
>>> accounts = pd.DataFrame({"ootb_account_crm_id": ["A", "B"], "region": ["EU", "US"]})
>>> opps = pd.DataFrame({"crm_account_id": ["B", "B", None]})
>>> join_account(opps, accounts)["region"].tolist()
['US', 'US', nan]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bspandas._exceptions import (
    InvalidColumnsError,
    OrphanRowsWarning,
)
from bspandas._utils import find_stacklevel
from bspandas.frame._provenance import Json, _attrs, _with_provenance
from bspandas.frame.join_keys import (
    JoinHow,
    JoinKey,
    OrphanPolicy,
    _check_unique,
    _positions,
    join_key,
)
from bspandas.frame.money import _only_currency, money_column
from bspandas.frame.pivot import _as_flat
from bspandas.frame.rollups import AggregateSpec, _rollup
from bspandas.frame.shape import _is_pivoted

__all__ = ["join_account", "join_opportunities"]

_TEMP_KEY = "__bspandas_join_key__"


def _merge(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_on: Hashable,
    right_on: Hashable,
    how: JoinHow,
    suffixes: tuple[str, str],
    opportunities_right: bool,
) -> tuple[pd.DataFrame, int]:
    """Merge so missing keys never match; return the frame and how many opportunities found
    their account."""
    lkey, rkey = left[left_on], right[right_on]
    fast = left_on != right_on and lkey.dtype == rkey.dtype and not (lkey.hasnans and rkey.hasnans)
    if fast:
        merged = left.merge(
            right, how=how, left_on=left_on, right_on=right_on, suffixes=suffixes, sort=False
        )
        matched = int((merged[left_on].notna() & merged[right_on].notna()).sum())
        return merged, matched
    if _TEMP_KEY in left.columns or _TEMP_KEY in right.columns:
        raise InvalidColumnsError(f"Rename the column {_TEMP_KEY!r} before joining.")
    accounts_key, opps_key = (lkey, rkey) if opportunities_right else (rkey, lkey)
    opp_codes = _positions(opps_key, accounts_key)  # the account row of each opportunity
    account_codes = np.where(accounts_key.isna(), -2, np.arange(len(accounts_key)))
    lcodes, rcodes = (
        (account_codes, opp_codes) if opportunities_right else (opp_codes, account_codes)
    )
    merged = left.assign(**{_TEMP_KEY: lcodes}).merge(
        right.assign(**{_TEMP_KEY: rcodes}), how=how, on=_TEMP_KEY, suffixes=suffixes, sort=False
    )
    del merged[_TEMP_KEY]
    return merged, int((opp_codes >= 0).sum())


def _report_lost(
    missing: int, total: int, key: JoinKey, how: JoinHow, policy: OrphanPolicy
) -> None:
    """Warn when a roll-up could not keep opportunities that ``how`` promised to keep."""
    if missing == 0 or policy == "ignore" or how not in ("right", "outer"):
        return
    warnings.warn(
        f"{missing} of {total} opportunities have no {key.opportunity_column}, so the roll-up "
        f"has no account row to put them in: how={how!r} keeps every opportunity, but these "
        f"were left out of the result. Fill in their {key.opportunity_column}, or join without "
        "aggregate= to keep them as rows with empty account columns. "
        "Pass orphans='ignore' to silence this.",
        OrphanRowsWarning,
        stacklevel=find_stacklevel(),
    )


def _check_how(how: str) -> None:
    if how not in ("left", "inner", "right", "outer"):
        raise InvalidColumnsError(f"how must be 'left', 'inner', 'right' or 'outer', got {how!r}.")


def join_opportunities(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    how: JoinHow = "left",
    aggregate: AggregateSpec = None,
    *,
    on: tuple[Hashable, Hashable] | None = None,
    orphans: OrphanPolicy = "warn",
    currency: str | None = None,
    by_currency: bool = False,
) -> pd.DataFrame:
    """Opportunities joined onto their accounts (account columns first).

    Parameters
    ----------
    accounts : pandas.DataFrame
        The account frame (a pivoted one is flattened first). Each account key must
        appear once.
    opportunities : pandas.DataFrame
        The opportunity frame.
    how : {"left", "inner", "right", "outer"}, default "left"
        Which rows stay (see below), as in :meth:`pandas.DataFrame.merge`.
    aggregate : bool or dict, optional
        ``True`` rolls the opportunities up to one row per account (the standard roll-up
        of :func:`aggregate_opportunities`); a dict of pandas named aggregations
        ``{name: (column, func)}`` rolls up with those instead. By default no roll-up.
    on : tuple of (hashable, hashable), optional
        ``(account_column, opportunity_column)`` to join on; by default the catalog's
        account key (:func:`join_key`).
    orphans : {"warn", "ignore"}, default "warn"
        Whether a roll-up with ``how="right"``/``"outer"`` warns about opportunities it
        cannot keep (those without an account id).
    currency : str, optional
        With ``aggregate``: roll up only the opportunities in this currency (``"EUR"``).
    by_currency : bool, default False
        With ``aggregate=True``: one money column per currency (``open_value_EUR``...).

    Returns
    -------
    pandas.DataFrame
        The default (``how="left"``, no ``aggregate``) has one row per (account,
        opportunity) pair: each opportunity of an account in the frame once, plus one row
        with empty opportunity columns for each account without any; opportunities whose
        account is not in the frame (orphans) are left out. ``"inner"`` keeps the matched
        pairs only (exactly one row per matched opportunity); ``"right"`` and ``"outer"``
        also keep orphans. For one row per account use ``aggregate=True``. Orphans are
        always counted in ``attrs["backstory"]["join"]["orphans"]``; they are what ``how``
        says they are, so they are not warned about. A roll-up cannot keep opportunities
        without an account id (they have no account row), so ``how="right"`` / ``"outer"``
        with ``aggregate`` warns with :class:`bspandas.OrphanRowsWarning` when there are any
        (``orphans="ignore"`` silences it). Duplicated account keys raise
        :class:`bspandas.SchemaValidationError` listing them. Same-named columns get
        ``_account`` / ``_opportunity`` suffixes. ``aggregate=True`` rolls the opportunities
        up to one row per account (see :func:`aggregate_opportunities`, which also explains
        ``currency=`` and ``by_currency=``; the money columns' currency is in
        ``attrs["backstory"]["money"]``); a dict of pandas named aggregations ``{name:
        (column, func)}`` rolls up with those instead.

    Raises
    ------
    bspandas.InvalidColumnsError
        If ``how`` is unknown, the frames have no account key in common, ``currency=`` or
        ``by_currency=`` come without ``aggregate``, or the roll-up lacks its columns.
    bspandas.SchemaValidationError
        If an account key appears on several account rows (they are listed).
    bspandas.MixedCurrencyError
        If the standard roll-up would add up amounts in several currencies.

    Warns
    -----
    bspandas.OrphanRowsWarning
        When a roll-up with ``how="right"``/``"outer"`` leaves out opportunities without
        an account id (``orphans="ignore"`` silences it).

    Examples
    --------
    >>> accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A", "B"], dtype="string")})
    >>> opps = pd.DataFrame({"crm_account_id": pd.array(["A", "A"], dtype="string"),
    ...                      "crm_opportunity_id": pd.array(["o1", "o2"], dtype="string")})
    >>> join_opportunities(accounts, opps)["crm_opportunity_id"].tolist()
    ['o1', 'o2', <NA>]
    """
    _check_how(how)
    accounts = _as_flat(accounts, "account") if _is_pivoted(accounts) else accounts
    key = join_key(accounts, opportunities, on)
    _check_unique(accounts, key.account_column)
    if currency is not None and aggregate is not None and aggregate is not False:
        opportunities = _only_currency(
            opportunities, money_column(opportunities, currency=currency)
        )
    total = len(opportunities)
    opp_keys = opportunities[key.opportunity_column]
    missing = int(opp_keys.isna().sum())
    info: dict[str, Json] = {
        "how": how,
        "key": key.key,
        "on": [str(key.account_column), str(key.opportunity_column)],
    }
    if aggregate is not None and aggregate is not False:
        spec = None if aggregate is True else aggregate
        rolled, sizes = _rollup(
            opportunities,
            key.opportunity_column,
            spec,
            currency=currency,
            by_currency=by_currency,
        )
        out, matched = _join_rollup(accounts, rolled, sizes, key, how, spec is None)
        orphan_count = total - matched
        _report_lost(missing, total, key, how, orphans)
        info |= {"orphans": orphan_count, "aggregate": True if spec is None else list(spec)}
        extra: dict[str, Json] = {"join": info}
        recorded = _attrs(rolled).get("money")
        if recorded is not None:
            extra["money"] = recorded
        return _with_provenance(out, _attrs(accounts), "account", **extra)
    if currency is not None or by_currency:
        raise InvalidColumnsError(
            "currency= and by_currency= choose the money of a roll-up: pass them with "
            "aggregate=True (or filter the opportunities by their currency column first)."
        )
    merged, matched = _merge(
        accounts,
        opportunities,
        key.account_column,
        key.opportunity_column,
        how,
        ("_account", "_opportunity"),
        opportunities_right=True,
    )
    info["orphans"] = total - matched
    return _with_provenance(merged, _attrs(opportunities), "opportunity", join=info)


def join_account(
    opportunities: pd.DataFrame,
    accounts: pd.DataFrame,
    how: JoinHow = "left",
    *,
    on: tuple[Hashable, Hashable] | None = None,
    orphans: OrphanPolicy = "warn",
) -> pd.DataFrame:
    """The account's columns added to each opportunity (opportunity columns first).

    Parameters
    ----------
    opportunities : pandas.DataFrame
        The opportunity frame.
    accounts : pandas.DataFrame
        The account frame (a pivoted one is flattened first). Each account key must
        appear once.
    how : {"left", "inner", "right", "outer"}, default "left"
        Which rows stay (see below), as in :meth:`pandas.DataFrame.merge`.
    on : tuple of (hashable, hashable), optional
        ``(account_column, opportunity_column)`` to join on; by default the catalog's
        account key (:func:`join_key`).
    orphans : {"warn", "ignore"}, default "warn"
        Accepted for symmetry with :func:`join_opportunities`; no join here loses rows,
        so nothing is warned about.

    Returns
    -------
    pandas.DataFrame
        ``how="left"`` keeps every opportunity (orphans get empty account columns);
        ``"inner"`` and ``"right"`` drop orphans, ``"right"`` and ``"outer"`` add accounts
        without opportunities. Keys, duplicate checks, the orphan count and suffixes as in
        :func:`join_opportunities` (no join here loses or invents rows, so none warns);
        ``on=(account_column, opportunity_column)``.

    Raises
    ------
    bspandas.InvalidColumnsError
        If ``how`` is unknown or the frames have no account key in common.
    bspandas.SchemaValidationError
        If an account key appears on several account rows (they are listed).

    Examples
    --------
    >>> accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A"], dtype="string"),
    ...                          "industry": pd.array(["Retail"], dtype="string")})
    >>> opps = pd.DataFrame({"crm_account_id": pd.array(["A", "A"], dtype="string")})
    >>> join_account(opps, accounts)["industry"].tolist()
    ['Retail', 'Retail']
    """
    _check_how(how)
    accounts = _as_flat(accounts, "account") if _is_pivoted(accounts) else accounts
    key = join_key(accounts, opportunities, on)
    _check_unique(accounts, key.account_column)
    total = len(opportunities)
    merged, matched = _merge(
        opportunities,
        accounts,
        key.opportunity_column,
        key.account_column,
        how,
        ("_opportunity", "_account"),
        opportunities_right=False,
    )
    info: dict[str, Json] = {
        "how": how,
        "key": key.key,
        "on": [str(key.account_column), str(key.opportunity_column)],
        "orphans": total - matched,
    }
    return _with_provenance(merged, _attrs(opportunities), "opportunity", join=info)


def _take(frame: pd.DataFrame, positions: npt.NDArray[np.intp]) -> pd.DataFrame:
    """Rows by position, with empty rows where the position is -1 (dtypes kept where they
    can hold missing values, as in a merge)."""
    if not len(positions) or positions.min() >= 0:
        return frame.take(positions).reset_index(drop=True)
    arrays: dict[int, Any] = {}
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if isinstance(column.dtype, np.dtype):
            arrays[i] = pd.api.extensions.take(column.to_numpy(), positions, allow_fill=True)
        else:
            arrays[i] = column.array.take(positions, allow_fill=True)
    out = pd.DataFrame(arrays, copy=False)
    out.columns = frame.columns
    return out


def _join_rollup(
    accounts: pd.DataFrame,
    rolled: pd.DataFrame,
    sizes: pd.Series,
    key: JoinKey,
    how: JoinHow,
    standard: bool,
) -> tuple[pd.DataFrame, int]:
    """Accounts with their roll-up row (the roll-up has one row per key, so this is a
    lookup, not a merge); returns the frame and how many opportunities matched."""
    column = key.account_column
    account_keys = accounts[column]
    groups = rolled.index
    if groups.dtype != account_keys.dtype:
        try:
            groups = groups.astype(account_keys.dtype)
        except (TypeError, ValueError) as error:
            raise InvalidColumnsError(
                f"Cannot match {key.opportunity_column} ({groups.dtype}) with {column} "
                f"({account_keys.dtype}): {error}"
            ) from None
    found = _positions(account_keys, pd.Series(groups))
    hit = found >= 0
    matched = int(np.asarray(sizes)[found[hit]].sum())
    right = rolled.reset_index(drop=True)
    clash = [c for c in right.columns if c in accounts.columns]
    if clash:
        right = right.rename(columns={c: f"{c}_opportunity" for c in clash})
    seen = np.zeros(len(right), dtype=bool)
    seen[found[hit]] = True
    orphan_groups = np.flatnonzero(~seen)
    if how == "left":
        left, picks, index = accounts, found, accounts.index
    elif how == "inner":
        rows = np.flatnonzero(hit)
        left, picks, index = accounts.iloc[rows], found[rows], accounts.index[rows]
    else:
        if how == "right":
            owner = np.full(len(right), -1, dtype=np.intp)
            owner[found[hit]] = np.flatnonzero(hit)
            picks = np.arange(len(right), dtype=np.intp)
        else:
            owner = np.r_[np.arange(len(accounts)), np.full(len(orphan_groups), -1)]
            picks = np.r_[found, orphan_groups].astype(np.intp)
        left = _take(accounts, owner.astype(np.intp))
        index = left.index
        keys = pd.Series(groups.take(np.maximum(picks, 0)), index=index)
        left[column] = left[column].mask(pd.Series(owner < 0, index=index), keys)
    taken = _take(right, picks)
    if standard and (picks < 0).any():
        taken = taken.fillna(dict.fromkeys(taken.columns, 0))
    taken.index = index
    left = left.set_axis(index, axis=0) if left.index is not index else left
    return pd.concat([left, taken], axis=1), matched
