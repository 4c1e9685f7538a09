"""Which amount column a sum over opportunity money adds up, and in which currency."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bspandas._exceptions import (
    InvalidColumnsError,
    MixedCurrencyError,
)
from bspandas.catalog import store

__all__ = ["CORPORATE", "Money", "money_column"]

_AMOUNT_SLUGS = (
    "ootb_opportunity_converted_amount",
    "ootb_opportunity_amount",
    "opportunity_value",
)

#: ``Money.currency`` of the converted amount: the tenant's corporate currency.
CORPORATE = "corporate"
_NO_CODE = "no currency code"


@dataclass(frozen=True, slots=True)
class Money:
    """The amount column a sum over money adds up, and the currency it is in.

    Parameters
    ----------
    column : str
        The amount column.
    currency : str or None
        An ISO code (``"EUR"``), :data:`CORPORATE` (the converted amount), or ``None``
        when nobody recorded it (a reference metric, a column the catalog does not know).
    currency_column : str, optional
        The column holding each row's ISO code, when the amount has one.

    Examples
    --------
    >>> Money("ootb_opportunity_converted_amount", CORPORATE).label
    'corporate currency'
    """

    column: str
    currency: str | None
    currency_column: str | None = None

    @property
    def label(self) -> str:
        """The currency in words, for axis labels.

        Returns
        -------
        str
            ``"corporate currency"``, the ISO code (``"EUR"``) or ``"currency unknown"``.

        Examples
        --------
        >>> Money("ootb_opportunity_amount", "EUR").label, Money("opportunity_value", None).label
        ('EUR', 'currency unknown')
        """
        if self.currency == CORPORATE:
            return "corporate currency"
        return self.currency or "currency unknown"


def _currency_part(column: str) -> tuple[str | None, str | None]:
    """Where the catalog says the currency of an opportunity amount column is."""
    metric = store.find(column, "opportunity")
    if metric is None or metric.currency is None:
        return None, None
    if metric.currency == CORPORATE:
        return CORPORATE, None
    return "row", f"{column}{metric.currency}"


def _codes_found(frame: pd.DataFrame, amount: str, codes: str) -> pd.Series:
    """How many rows with an amount each currency code has (most first; no code counted)."""
    values = frame[codes][frame[amount].notna()].astype("object")
    return values.where(values.notna(), _NO_CODE).value_counts(sort=True)


def money_column(
    frame: pd.DataFrame,
    amount: str | None = None,
    *,
    currency: str | None = None,
    by_currency: bool = False,
) -> Money:
    """The amount a sum over opportunity money may add up, checked for currencies.

    Parameters
    ----------
    frame : pandas.DataFrame
        The opportunity frame.
    amount : str, optional
        The amount column to use (its currency is checked the same way); by default the
        first present of ``ootb_opportunity_converted_amount``,
        ``ootb_opportunity_amount`` and ``opportunity_value``.
    currency : str, optional
        The currency the caller will keep (``"EUR"``): picks the amount with a per-row
        currency column; without one, it states what the amounts are in.
    by_currency : bool, default False
        The caller will split by currency: picks the amount with a per-row currency
        column.

    Returns
    -------
    Money
        The column, its currency and its currency column.

    Raises
    ------
    bspandas.InvalidColumnsError
        If there is no amount column (or not ``amount``), or the currency of the amount
        cannot be told (the message says what to fetch or pass).
    bspandas.MixedCurrencyError
        If the amount holds several currencies (the message names them, with counts).

    Notes
    -----
    ``ootb_opportunity_converted_amount`` (the corporate currency) when the frame has it, else
    ``ootb_opportunity_amount`` when its ``_currency`` column holds one currency, else
    ``opportunity_value``. Several currencies raise :class:`bspandas.MixedCurrencyError` naming
    them. ``currency="EUR"`` (or ``by_currency=True``) picks the amount with a per-row currency
    column, so the caller can keep one currency (or split by currency); without a currency
    column ``currency=`` states what the amounts are in. ``amount=`` picks the column (its
    currency is checked the same way).

    Examples
    --------
    >>> opps = pd.DataFrame({"ootb_opportunity_amount": [10.0, 20.0],
    ...                      "ootb_opportunity_amount_currency": ["EUR", "EUR"]})
    >>> money_column(opps)
    Money(column='ootb_opportunity_amount', currency='EUR', \
currency_column='ootb_opportunity_amount_currency')
    """
    candidates = _candidates(frame, amount)
    if currency is not None or by_currency:
        return _with_asked_currency(frame, candidates, currency, by_currency)
    for column in candidates:
        return _in_one_currency(frame, column)
    raise AssertionError("unreachable")  # pragma: no cover


def _candidates(frame: pd.DataFrame, amount: str | None) -> list[str]:
    """The amount columns to consider, in order of preference (or an error saying which to
    fetch)."""
    if amount is not None:
        if amount not in frame.columns:
            raise InvalidColumnsError(f"The frame has no amount column {amount!r}.")
        return [amount]
    candidates = [s for s in _AMOUNT_SLUGS if s in frame.columns]
    if not candidates:
        raise InvalidColumnsError(
            f"Summing money needs an amount: fetch {' or '.join(_AMOUNT_SLUGS)} with the "
            "opportunities."
        )
    return candidates


def _with_asked_currency(
    frame: pd.DataFrame, candidates: list[str], currency: str | None, by_currency: bool
) -> Money:
    """The amount for ``currency=``/``by_currency=``: one with a per-row currency column,
    else (``currency=`` only) one the caller says the currency of."""
    asked = f"currency={currency!r}" if currency is not None else "by_currency=True"
    for column in candidates:
        where, codes = _currency_part(column)
        if where == "row" and codes in frame.columns:
            return Money(column, currency, codes)
    for column in candidates if currency is not None else ():
        where, codes = _currency_part(column)
        if where != CORPORATE:  # no codes in the frame: the caller says what these are in
            return Money(column, currency, None)
    raise InvalidColumnsError(
        f"{asked} needs amounts with their currency: fetch ootb_opportunity_amount (it "
        "comes with ootb_opportunity_amount_currency) and keep both columns."
    )


def _in_one_currency(frame: pd.DataFrame, column: str) -> Money:
    """``column`` and its one currency, or an error naming the currencies it mixes."""
    where, codes = _currency_part(column)
    if where == CORPORATE:
        return Money(column, CORPORATE)
    if where is None or codes is None:
        return Money(column, None)
    if codes not in frame.columns:
        raise InvalidColumnsError(
            f"Cannot tell the currency of {column!r}: its currency codes are in {codes!r}, "
            "which the frame lacks. Fetch ootb_opportunity_converted_amount (the corporate "
            f"currency), keep {codes!r}, or pass currency='USD' (the currency the amounts "
            "are in)."
        )
    found = _codes_found(frame, column, codes)
    if len(found) == 0:
        return Money(column, None, codes)
    if len(found) == 1 and found.index[0] != _NO_CODE:
        return Money(column, str(found.index[0]), codes)
    listed = ", ".join(f"{code} ({count} rows)" for code, count in found.items())
    first = next((str(c) for c in found.index if c != _NO_CODE), "EUR")
    raise MixedCurrencyError(
        f"{column!r} holds amounts in several currencies: {listed}. Adding them up would "
        "mix currencies. Fetch ootb_opportunity_converted_amount (the amount in the "
        "corporate currency) with the opportunities, or pass "
        f"currency={first!r} to roll up one currency, or by_currency=True for one column "
        "per currency.",
        [str(c) for c in found.index],
    )


def _only_currency(opportunities: pd.DataFrame, money: Money) -> pd.DataFrame:
    """The rows in ``money.currency`` (all rows when no column says the currency)."""
    if money.currency_column is None or money.currency is None:
        return opportunities
    codes = opportunities[money.currency_column].astype("object")
    return opportunities[(codes == money.currency).to_numpy(dtype=bool, na_value=False)]
