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
    """Size and seed of a synthetic tenant (the numbers are means where they say so)."""

    seed: int = 20261015
    accounts: int = 200
    opportunities_per_account: float = 5.0
    users: int = 40
    contacts_per_account: float = 6.0
    activities_per_account: float = 40.0
    as_of: datetime = AS_OF
    history_days: int = 730
    fiscal_year_start: int = 1
    #: Which period spellings are served: ``"field"`` (what live tenants serve; the
    #: documented-only ``current_*``/``last_year`` variations are dropped, query-api.md
    #: section 2) or ``"reference"`` (the vendor reference's spellings instead).
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
    """The tenant's "now" from a datetime, a date (midnight) or an ISO 8601 string; naive
    values are UTC.

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
