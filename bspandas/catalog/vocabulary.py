"""The period (time-window) vocabulary: canonical order, labels, synonyms and window math.

Two vocabularies exist. The vendor reference documents ``current``, ``current_quarter``,
``daily``, ``total``... while clients in the field saw ``this_quarter``, ``last_14_days``,
``any_time``... Both are listed here in one canonical order (short windows first, then
calendar windows, future windows, open-ended and status buckets), with the human label the
API puts in CSV headers ("Last 30 Days").

>>> from bspandas.catalog.vocabulary import label, normalize
>>> label("last_30_days")
'Last 30 Days'
>>> normalize("Last 30 days")
'last_30_days'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "FISCAL",
    "PERIODS",
    "Period",
    "canonical_order",
    "label",
    "normalize",
    "synonyms",
    "variation_suffix",
    "window",
]

Group = Literal["point", "rolling", "previous", "to_date", "bucket", "future", "open", "status"]


@dataclass(frozen=True, slots=True)
class Period:
    """One period id with its header label, group and where it was documented."""

    id: str
    label: str
    group: Group
    source: Literal["reference", "field", "both"]
    description: str = ""


# Canonical order. Do not sort alphabetically: pivots and charts use this order.
PERIODS: tuple[Period, ...] = (
    Period("current", "Current", "point", "reference", "Current/latest value"),
    Period("last_7_days", "Last 7 Days", "rolling", "both", "Rolling 7-day period"),
    Period("last_14_days", "Last 14 Days", "rolling", "field", "Rolling 14-day period"),
    Period("last_30_days", "Last 30 Days", "rolling", "both", "Rolling 30-day period"),
    Period("last_60_days", "Last 60 Days", "rolling", "field", "Rolling 60-day period"),
    Period("last_90_days", "Last 90 Days", "rolling", "both", "Rolling 90-day period"),
    Period("last_week", "Last Week", "previous", "field", "Previous calendar week"),
    Period("last_month", "Last Month", "previous", "both", "Previous calendar month"),
    Period("last_quarter", "Last Quarter", "previous", "both", "Previous fiscal quarter"),
    Period("last_year", "Last Year", "previous", "reference", "Previous fiscal year"),
    Period("last_fyear", "Last Fiscal Year", "previous", "field", "Previous fiscal year"),
    Period("current_week", "Current Week", "to_date", "reference", "Current calendar week"),
    Period("this_week", "This Week", "to_date", "field", "Current calendar week"),
    Period("current_month", "Current Month", "to_date", "reference", "Current calendar month"),
    Period("this_month", "This Month", "to_date", "field", "Current calendar month"),
    Period("current_quarter", "Current Quarter", "to_date", "reference", "Current fiscal quarter"),
    Period("this_quarter", "This Quarter", "to_date", "field", "Current fiscal quarter"),
    Period("current_year", "Current Year", "to_date", "reference", "Current fiscal year"),
    Period("this_fyear", "This Fiscal Year", "to_date", "field", "Current fiscal year"),
    Period("daily", "Daily", "bucket", "reference", "Last day"),
    Period("weekly", "Weekly", "bucket", "reference", "Last 7 days"),
    Period("monthly", "Monthly", "bucket", "reference", "Last 30 days"),
    Period("quarterly", "Quarterly", "bucket", "reference", "Last 90 days"),
    Period("yearly", "Yearly", "bucket", "reference", "Last 365 days"),
    Period("next_7_days", "Next 7 Days", "future", "field", "The coming 7 days"),
    Period("next_14_days", "Next 14 Days", "future", "field", "The coming 14 days"),
    Period("next_30_days", "Next 30 Days", "future", "field", "The coming 30 days"),
    Period("any_time", "Any Time", "open", "field", "No time limit"),
    Period("total", "Total", "status", "reference", "All opportunities"),
    Period("open", "Open", "status", "reference", "Open opportunities"),
    Period("won", "Won", "status", "reference", "Won opportunities"),
    Period("lost", "Lost", "status", "reference", "Lost opportunities"),
)

_BY_ID: dict[str, Period] = {p.id: p for p in PERIODS}
_ORDER: dict[str, int] = {p.id: i for i, p in enumerate(PERIODS)}
_BY_LABEL: dict[str, str] = {p.label.lower(): p.id for p in PERIODS}

# The documented and the field vocabularies name the same window twice. The pairs are
# equivalent by the vendor's own descriptions ("current fiscal quarter").
_SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"current_week", "this_week"}),
    frozenset({"current_month", "this_month"}),
    frozenset({"current_quarter", "this_quarter"}),
    frozenset({"current_year", "this_fyear"}),
    frozenset({"last_year", "last_fyear"}),
)

_ROLLING_DAYS = {
    "last_7_days": 7,
    "last_14_days": 14,
    "last_30_days": 30,
    "last_60_days": 60,
    "last_90_days": 90,
    "daily": 1,
    "weekly": 7,
    "monthly": 30,
    "quarterly": 90,
    "yearly": 365,
}
_FUTURE_DAYS = {"next_7_days": 7, "next_14_days": 14, "next_30_days": 30}


def get(period: str) -> Period:
    """The :class:`Period` for an id (raises ``KeyError`` for unknown ids)."""
    return _BY_ID[period]


def label(period: str) -> str:
    """The header label of a period id: ``label("any_time") == "Any Time"``."""
    return _BY_ID[period].label


def canonical_order(periods: list[str] | tuple[str, ...]) -> list[str]:
    """Sort period ids in the catalog's canonical order (unknown ids last, alphabetically).

    >>> canonical_order(["current_year", "last_7_days", "current_quarter"])
    ['last_7_days', 'current_quarter', 'current_year']
    """
    return sorted(periods, key=lambda p: (_ORDER.get(p, len(_ORDER)), p))


def synonyms(period: str) -> frozenset[str]:
    """Other ids naming the same window (``this_quarter`` for ``current_quarter``)."""
    for group in _SYNONYMS:
        if period in group:
            return group - {period}
    return frozenset()


_SPACES = re.compile(r"[\s\-]+")


def normalize(text: str) -> str | None:
    """Turn a user's spelling of a period into an id, or ``None`` when it is not one.

    Accepts ids, labels in any case ("Last 30 Days") and spaced or dashed forms.
    """
    raw = text.strip()
    if raw in _BY_ID:
        return raw
    lowered = raw.lower()
    if lowered in _BY_LABEL:
        return _BY_LABEL[lowered]
    candidate = _SPACES.sub("_", lowered)
    return candidate if candidate in _BY_ID else None


def variation_suffix(period: str, *, doubled: bool = False) -> str:
    """The suffix appended to a slug to form its variation id.

    Percentage metrics of the field vocabulary repeat it:
    ``variation_suffix("last_90_days", doubled=True) == "_last_90_days_last_90_days"``.
    """
    return f"_{period}_{period}" if doubled else f"_{period}"


def _start_of_week(day: datetime) -> datetime:
    day = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _start_of_month(day: datetime) -> datetime:
    return day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _start_of_quarter(day: datetime, first_month: int = 1) -> datetime:
    """Start of the (fiscal) quarter holding ``day``; quarters start at ``first_month``."""
    back = (day.month - first_month) % 3
    return _add_months(_start_of_month(day), -back)


def _start_of_year(day: datetime, first_month: int = 1) -> datetime:
    """Start of the (fiscal) year holding ``day``; years start at ``first_month``."""
    back = (day.month - first_month) % 12
    return _add_months(_start_of_month(day), -back)


#: Periods whose window depends on the tenant's fiscal calendar.
FISCAL = frozenset(
    {
        "last_quarter",
        "last_year",
        "last_fyear",
        "current_quarter",
        "this_quarter",
        "current_year",
        "this_fyear",
    }
)


def _add_months(day: datetime, months: int) -> datetime:
    total = day.year * 12 + (day.month - 1) + months
    return day.replace(year=total // 12, month=total % 12 + 1)


def window(
    period: str,
    now: datetime,
    *,
    mode: Literal["past", "future", "full"] = "past",
    fiscal_year_start: int = 1,
) -> tuple[datetime | None, datetime | None]:
    """The half-open UTC window ``[start, end)`` a period covers at instant ``now``.

    ``None`` means unbounded. Calendar windows ("this_quarter") run from the start of the
    unit up to ``now`` in ``"past"`` mode (activity counts), from ``now`` to the end of the
    unit in ``"future"`` mode (upcoming meetings, amounts closing) and over the whole unit in
    ``"full"`` mode (``$within`` date filters). Buckets (``daily`` ... ``yearly``) are rolling
    1/7/30/90/365 day windows. Quarters and years are fiscal: the fiscal year starts on the
    first day of month ``fiscal_year_start`` (1, January, by default). ``current`` and the
    status buckets (``total``, ``open``...) are not time windows and raise ``ValueError``.

    >>> from datetime import datetime, UTC
    >>> now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    >>> [w.date().isoformat() for w in window("this_quarter", now)]
    ['2026-10-01', '2026-11-15']
    >>> [w.date().isoformat() for w in window("this_fyear", now, fiscal_year_start=2)]
    ['2026-02-01', '2026-11-15']
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month, 1-12, got {fiscal_year_start!r}")
    if period in _ROLLING_DAYS:
        return now - timedelta(days=_ROLLING_DAYS[period]), now
    if period in _FUTURE_DAYS:
        return now, now + timedelta(days=_FUTURE_DAYS[period])
    if period == "any_time":
        return {"past": (None, now), "future": (now, None)}.get(mode, (None, None))
    starts = {
        "week": _start_of_week(now),
        "month": _start_of_month(now),
        "quarter": _start_of_quarter(now, fiscal_year_start),
        "year": _start_of_year(now, fiscal_year_start),
    }
    steps = {"week": None, "month": 1, "quarter": 3, "year": 12}
    unit = {
        "current_week": "week",
        "this_week": "week",
        "current_month": "month",
        "this_month": "month",
        "current_quarter": "quarter",
        "this_quarter": "quarter",
        "current_year": "year",
        "this_fyear": "year",
        "last_week": "week",
        "last_month": "month",
        "last_quarter": "quarter",
        "last_year": "year",
        "last_fyear": "year",
    }.get(period)
    if unit is None:
        raise ValueError(f"period {period!r} is not a time window")
    start = starts[unit]
    step = steps[unit]
    if period.startswith("last_"):
        previous = start - timedelta(days=7) if step is None else _add_months(start, -step)
        return previous, start
    if mode == "past":
        return start, now
    end = start + timedelta(days=7) if step is None else _add_months(start, step)
    return (now, end) if mode == "future" else (start, end)
