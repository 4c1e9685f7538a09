"""Opportunities rolled up per account (or any column): counts, pipeline, open, won and
lost money, weighted pipeline, in one currency or one column per currency.

>>> import pandas as pd
>>> opps = pd.DataFrame({
...     "ootb_opportunity_owner_id": [7, 7],
...     "ootb_opportunity_converted_amount": [10.0, 5.0],
...     "ootb_opportunity_stage": ["Proposal", "Closed Won"]})
>>> rolled = aggregate_opportunities(opps, "ootb_opportunity_owner_id")
>>> rolled[["open_value", "won_value"]].values.tolist()
[[10.0, 5.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._io.dtypes import Backend, dtype_for
from bspandas.catalog.business import DEFAULT_STAGE_PROBABILITY
from bspandas.frame.money import Money, _only_currency, money_column

__all__ = ["AggregateSpec", "aggregate_opportunities"]

#: ``True`` for the standard roll-up, or pandas named aggregations ``{name: (column, func)}``.
AggregateSpec: TypeAlias = "bool | Mapping[str, tuple[str, str | Callable[..., Any]]] | None"
_STAGE_SLUGS = ("ootb_opportunity_stage", "ootb_opportunity_current_stage")
_CLOSED_SLUG = "ootb_opportunity_is_closed"
_WON_SLUG = "ootb_opportunity_is_won"
_PROBABILITY_SLUG = "ootb_stage_probability"


def _find(frame: pd.DataFrame, slugs: Sequence[str]) -> str | None:
    return next((s for s in slugs if s in frame.columns), None)


def _need(what: str, slugs: Sequence[str]) -> InvalidColumnsError:
    return InvalidColumnsError(
        f"The standard roll-up needs {what}: fetch {' or '.join(slugs)} with the opportunities "
        "(or pass aggregate={name: (column, func)})."
    )


def aggregate_opportunities(
    opportunities: pd.DataFrame,
    by: Hashable,
    spec: Mapping[str, tuple[str, str | Callable[..., Any]]] | None = None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> pd.DataFrame:
    """Opportunities rolled up per value of column ``by`` (rows without one are left out).

    Parameters
    ----------
    opportunities : pandas.DataFrame
        The opportunity frame.
    by : hashable
        The column to group by (``crm_account_id``, an owner id...).
    spec : dict, optional
        Pandas named aggregations ``{name: (column, func)}`` replacing the standard
        roll-up described below.
    currency : str, optional
        Roll up only the opportunities in this currency (``"EUR"``).
    by_currency : bool, default False
        One value column per currency (``open_value_EUR``...); counts stay totals. Not with
        ``spec`` or ``currency``.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``by`` (the index). The standard roll-up (``spec=None``):
        ``opportunity_count``, ``pipeline_total`` (sum of amounts),
        ``open_count``/``open_value``, ``won_count``/``won_value``,
        ``lost_count``/``lost_value`` and ``weighted_pipeline`` (open amounts times the
        stage probability / 100). The amount is chosen by :func:`money_column`:
        ``ootb_opportunity_converted_amount`` (the corporate currency) when present, else
        ``ootb_opportunity_amount`` when it is in one currency, else ``opportunity_value``;
        several currencies raise :class:`bspandas.MixedCurrencyError`. ``currency="EUR"``
        rolls up the opportunities in that currency only; ``by_currency=True`` gives one
        value column per currency (``open_value_EUR``...; counts stay totals). The currency
        of every money column is in ``attrs["backstory"]["money"]``. Open, won and lost come
        from ``ootb_opportunity_is_closed`` / ``ootb_opportunity_is_won``, else from the
        stage (``Closed Won`` / ``Closed Lost``; any other stage is open; no stage, no
        status). The probability is ``ootb_stage_probability``, else (also for its missing
        values) :data:`DEFAULT_STAGE_PROBABILITY` of the stage. Missing amounts count as 0.
        ``spec`` replaces it all with pandas named aggregations ``{name: (column, func)}``
        (``currency=`` still keeps only that currency's rows).

    Raises
    ------
    bspandas.InvalidColumnsError
        If ``by`` is missing, ``spec`` is malformed, ``currency`` and ``by_currency`` are
        both given, or the standard roll-up lacks an amount, a status or a probability
        (the message says which slug to fetch).
    bspandas.MixedCurrencyError
        If the amount holds several currencies and neither ``currency`` nor
        ``by_currency`` says what to do.

    Examples
    --------
    >>> opps = pd.DataFrame({
    ...     "crm_account_id": pd.array(["A", "A", "B"], dtype="string"),
    ...     "ootb_opportunity_amount": pd.array([100.0, 50.0, 10.0], dtype="Float64"),
    ...     "ootb_opportunity_amount_currency": ["EUR", "EUR", "EUR"],
    ...     "ootb_opportunity_stage": ["Proposal", "Closed Won", "Closed Lost"],
    ... })
    >>> rolled = aggregate_opportunities(opps, "crm_account_id")
    >>> rolled.index.tolist(), rolled["opportunity_count"].tolist()
    (['A', 'B'], [2, 1])
    >>> rolled["won_value"].tolist(), rolled["weighted_pipeline"].tolist()
    ([50.0, 0.0], [50.0, 0.0])
    >>> rolled.attrs["backstory"]["money"]["currency"]
    'EUR'
    """
    return _rollup(opportunities, by, spec, currency=currency, by_currency=by_currency)[0]


_VALUE_COLUMNS = ("pipeline_total", "open_value", "won_value", "lost_value", "weighted_pipeline")


def _rollup(
    opportunities: pd.DataFrame,
    by: Hashable,
    spec: Mapping[str, tuple[str, str | Callable[..., Any]]] | None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """The roll-up and the number of opportunities in each of its rows."""
    if by not in opportunities.columns:
        raise InvalidColumnsError(f"The opportunity frame has no column {by!r} to group by.")
    if currency is not None and by_currency:
        raise InvalidColumnsError(
            "Pass currency='EUR' (one currency) or by_currency=True (one column per "
            "currency), not both."
        )
    if spec is not None:
        return _custom_rollup(opportunities, by, spec, currency=currency, by_currency=by_currency)
    return _standard_rollup(opportunities, by, currency=currency, by_currency=by_currency)


def _custom_rollup(
    opportunities: pd.DataFrame,
    by: Hashable,
    spec: Mapping[str, tuple[str, str | Callable[..., Any]]],
    *,
    currency: str | None,
    by_currency: bool,
) -> tuple[pd.DataFrame, pd.Series]:
    """The roll-up with the caller's named aggregations."""
    if by_currency:
        raise InvalidColumnsError(
            "by_currency=True works with the standard roll-up (aggregate=True); with your "
            "own aggregations group by the currency column yourself."
        )
    wrong = [
        name
        for name, item in spec.items()
        if not (isinstance(item, tuple) and len(item) == 2 and item[0] in opportunities)
    ]
    if wrong or not spec:
        raise InvalidColumnsError(
            "aggregate= must map result names to (column, function) pairs over opportunity "
            f"columns, e.g. {{'n': ('crm_opportunity_id', 'count')}}; wrong: {wrong}."
        )
    if currency is not None:
        opportunities = _only_currency(
            opportunities, money_column(opportunities, currency=currency)
        )
    grouped = opportunities.groupby(opportunities[by], sort=False, observed=True, dropna=True)
    return grouped.agg(**dict(spec)), grouped.size()


def _standard_rollup(
    opportunities: pd.DataFrame, by: Hashable, *, currency: str | None, by_currency: bool
) -> tuple[pd.DataFrame, pd.Series]:
    """The standard roll-up: counts, pipeline, open/won/lost money, weighted pipeline."""
    money = money_column(opportunities, currency=currency, by_currency=by_currency)
    if currency is not None:
        opportunities = _only_currency(opportunities, money)
    stage_column = _find(opportunities, _STAGE_SLUGS)
    stage = _stage_arrays(opportunities[stage_column]) if stage_column is not None else None
    is_open, is_won, is_lost = _status(opportunities, stage)
    raw_amount = opportunities[money.column]
    backend: Backend = (
        "pyarrow" if isinstance(raw_amount.dtype, pd.ArrowDtype) else "numpy_nullable"
    )
    amount = np.nan_to_num(_floats(raw_amount))  # a missing amount counts as 0
    weighted = amount * np.nan_to_num(_probability(opportunities, stage)) / 100.0
    values = {
        "pipeline_total": amount,
        "open_value": amount * is_open,
        "won_value": amount * is_won,
        "lost_value": amount * is_lost,
        "weighted_pipeline": weighted * is_open,
    }
    counts = {"open_count": is_open, "won_count": is_won, "lost_count": is_lost}
    data, currencies = _value_columns(opportunities, money, values, counts, by_currency)
    work = pd.DataFrame(data, index=opportunities.index, copy=False)
    grouped = work.groupby(opportunities[by], sort=False, observed=True, dropna=True)
    sums = grouped.sum()
    sizes = grouped.size()
    sums.insert(0, "opportunity_count", sizes)
    money_dtype = dtype_for("money", backend=backend)
    count = dtype_for("count", backend=backend)
    dtypes = {c: count if c.endswith("_count") else money_dtype for c in sums.columns}
    out = sums.astype(dtypes)
    out.attrs = {
        "backstory": {
            "money": {
                "amount": str(money.column),
                "currency": "by_currency" if by_currency else money.currency,
                "columns": currencies,
            }
        }
    }
    return out, sizes


def _value_columns(
    opportunities: pd.DataFrame,
    money: Money,
    values: Mapping[str, Any],
    counts: Mapping[str, Any],
    by_currency: bool,
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The per-row columns to sum (one per currency for ``by_currency``) and the currency
    of each money column."""
    order = ["pipeline_total", "open_count", "open_value", "won_count", "won_value"]
    order += ["lost_count", "lost_value", "weighted_pipeline"]
    data: dict[str, Any] = {}
    currencies: dict[str, str | None] = {}
    if by_currency:
        codes = _split_codes(opportunities, money)
        for name in order:
            if name in counts:
                data[name] = counts[name]
                continue
            for code in sorted(set(codes.tolist()) - {None}):
                data[f"{name}_{code}"] = values[name] * (codes == code)
                currencies[f"{name}_{code}"] = str(code)
    else:
        for name in order:
            data[name] = counts[name] if name in counts else values[name]
        currencies = dict.fromkeys(_VALUE_COLUMNS, money.currency)
    return data, currencies


def _split_codes(opportunities: pd.DataFrame, money: Money) -> npt.NDArray[np.object_]:
    """Each row's currency code for ``by_currency=True`` (``None`` where the row has no
    amount); an amount without a code is an error, never dropped."""
    if money.currency_column is None:  # pragma: no cover - money_column always sets it here
        raise InvalidColumnsError("by_currency=True needs a currency column.")
    codes = opportunities[money.currency_column].astype("object")
    has_amount = opportunities[money.column].notna()
    lost = has_amount & codes.isna()
    if lost.any():
        raise InvalidColumnsError(
            f"{int(lost.sum())} opportunities have an amount but no currency code in "
            f"{money.currency_column!r}; by_currency=True cannot place them. Fetch "
            "ootb_opportunity_converted_amount instead."
        )
    kept = codes.where(has_amount & codes.notna(), None)
    return np.asarray(kept.to_numpy(dtype=object), dtype=object)


BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _floats(values: pd.Series) -> npt.NDArray[np.float64]:
    return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _flags(values: pd.Series) -> tuple[BoolArray, BoolArray]:
    """A boolean column as (value, known) numpy arrays."""
    known = np.asarray(values.notna(), dtype=bool)
    value = np.asarray(values.to_numpy(dtype=object, na_value=False), dtype=bool) & known
    return value, known


@dataclass(frozen=True, slots=True)
class _Stage:
    """Per opportunity: whether the stage is known, won, lost, and its default probability."""

    known: BoolArray
    won: BoolArray
    lost: BoolArray
    probability: npt.NDArray[np.float64]


def _stage_arrays(stage: pd.Series) -> _Stage:
    """Stage facts looked up once per distinct stage (a categorical is not even hashed)."""
    codes, uniques = pd.factorize(stage)
    names = [str(u) for u in uniques]
    won = np.array([n == "Closed Won" for n in names] + [False], dtype=bool)
    lost = np.array([n == "Closed Lost" for n in names] + [False], dtype=bool)
    chance = [DEFAULT_STAGE_PROBABILITY.get(n, np.nan) for n in names] + [np.nan]
    probability = np.array(chance, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.intp)  # -1 (missing) picks the last, neutral entry
    return _Stage(codes >= 0, won[codes], lost[codes], probability[codes])


def _status(opps: pd.DataFrame, stage: _Stage | None) -> tuple[BoolArray, BoolArray, BoolArray]:
    """Open, won and lost per opportunity (unknown status counts as none of them)."""
    if _CLOSED_SLUG in opps.columns:
        closed, closed_known = _flags(opps[_CLOSED_SLUG])
        if _WON_SLUG in opps.columns:
            won, won_known = _flags(opps[_WON_SLUG])
        elif stage is not None:
            won, won_known = stage.won, stage.known
        else:
            raise _need("won/lost status", (_WON_SLUG, *_STAGE_SLUGS))
        return closed_known & ~closed, closed & won, closed & won_known & ~won
    if stage is None:
        raise _need("open/won/lost status", (_CLOSED_SLUG, *_STAGE_SLUGS))
    return stage.known & ~(stage.won | stage.lost), stage.won, stage.lost


def _probability(opps: pd.DataFrame, stage: _Stage | None) -> npt.NDArray[np.float64]:
    """The stage probability (percent) per opportunity, NaN where unknown."""
    if _PROBABILITY_SLUG in opps.columns:
        given = _floats(opps[_PROBABILITY_SLUG])
        if stage is None:
            return given
        return np.where(np.isnan(given), stage.probability, given)
    if stage is None:
        raise _need("stage probabilities", (_PROBABILITY_SLUG, *_STAGE_SLUGS))
    return stage.probability
