"""The options of a synthetic tenant: its size, seed, "now" and fiscal calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from bspandas.sandbox.tenant.pools import AS_OF

__all__ = ["VOCABULARIES", "TenantOptions", "as_instant"]

#: The sandbox's period vocabularies (:attr:`TenantOptions.vocabulary`).
VOCABULARIES: tuple[str, ...] = ("field", "reference")


@dataclass(frozen=True, slots=True)
class TenantOptions:
    """Size, seed, "now" and fiscal calendar of a synthetic tenant.

    Parameters
    ----------
    seed : int, default 20261015
        The seed every table is drawn from (each table from its own stream).
    accounts : int, default 200
        How many accounts (at least 1).
    opportunities_per_account : float, default 5.0
        Mean opportunities per account (healthier accounts have more).
    users : int, default 40
        How many users (at least 1).
    contacts_per_account : float, default 6.0
        Mean contacts per account (at least 1).
    activities_per_account : float, default 40.0
        Mean activities per account over the history.
    as_of : datetime, date or str, default AS_OF
        The tenant's "now" (an ISO 8601 string or a date works too; naive is UTC): relative
        periods are computed from it and every answer's ``Date`` header sends it.
    history_days : int, default 730
        Days of activity history before ``as_of`` (at least 400: the last fiscal year).
    fiscal_year_start : int, default 1
        The month (1-12) the fiscal year, and so its quarters, starts in.
    vocabulary : str, default "field"
        Which period spellings are served: ``"field"`` (what live tenants serve; the
        documented-only ``current_*``/``last_year`` variations are dropped, query-api.md
        section 2) or ``"reference"`` (the vendor reference's spellings instead).

    Raises
    ------
    ValueError
        For a size out of range, an unknown vocabulary or a month outside 1-12.
    TypeError
        For an ``as_of`` that is not a datetime, a date or a string.

    Examples
    --------
    >>> options = TenantOptions(accounts=10, as_of="2026-01-31", fiscal_year_start=2)
    >>> options.as_of.isoformat(), options.fiscal_year_start
    ('2026-01-31T00:00:00+00:00', 2)
    """

    seed: int = 20261015
    accounts: int = 200
    opportunities_per_account: float = 5.0
    users: int = 40
    contacts_per_account: float = 6.0
    activities_per_account: float = 40.0
    as_of: datetime = AS_OF
    history_days: int = 730
    fiscal_year_start: int = 1
    vocabulary: str = "field"

    def __post_init__(self) -> None:
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(
                f"vocabulary must be one of {', '.join(VOCABULARIES)}, got {self.vocabulary!r}"
            )
        if self.accounts < 1 or self.users < 1:
            raise ValueError("a tenant needs at least one account and one user")
        if min(self.opportunities_per_account, self.activities_per_account) < 0:
            raise ValueError("opportunities and activities per account must not be negative")
        if self.contacts_per_account < 1:
            raise ValueError("contacts_per_account must be at least 1")
        if self.history_days < 400:
            raise ValueError("history_days must cover at least 400 days (last fiscal year)")
        object.__setattr__(self, "as_of", as_instant(self.as_of))
        month = self.fiscal_year_start
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValueError(
                f"fiscal_year_start is the month the fiscal year starts in, 1-12, got {month!r}"
            )


def as_instant(value: Any) -> datetime:
    """The tenant's "now" from a datetime, a date (midnight) or an ISO 8601 string.

    Parameters
    ----------
    value : datetime, date or str
        The instant; naive values are UTC.

    Returns
    -------
    datetime
        The instant, timezone-aware, in UTC.

    Raises
    ------
    ValueError
        For a string that is not ISO 8601.
    TypeError
        For any other type.

    Examples
    --------
    >>> as_instant("2026-10-15").isoformat(), as_instant(date(2026, 10, 15)).isoformat()
    ('2026-10-15T00:00:00+00:00', '2026-10-15T00:00:00+00:00')
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"as_of must be an ISO 8601 date or time such as '2026-10-15' or "
                f"'2026-10-15T12:00:00Z', got {value!r}"
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(
            f"as_of must be a datetime, a date or an ISO 8601 string, got {type(value).__name__}"
        )
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    instant: datetime = value
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
