from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bspandas.catalog import vocabulary as periods

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def test_labels_follow_the_field_pattern() -> None:
    assert periods.label("last_30_days") == "Last 30 Days"
    assert periods.label("this_quarter") == "This Quarter"
    assert periods.label("any_time") == "Any Time"


def test_canonical_order_is_not_alphabetical() -> None:
    assert periods.canonical_order(["last_90_days", "last_7_days", "last_30_days"]) == [
        "last_7_days",
        "last_30_days",
        "last_90_days",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Last 30 Days", "last_30_days"),
        ("last-7-days", "last_7_days"),
        ("ANY TIME", "any_time"),
        ("soon", None),
    ],
)
def test_normalize(text: str, expected: str | None) -> None:
    assert periods.normalize(text) == expected


def test_synonyms_pair_the_two_vocabularies() -> None:
    assert periods.synonyms("this_quarter") == {"current_quarter"}
    assert periods.synonyms("last_7_days") == set()


def test_rolling_windows_nest() -> None:
    starts = [periods.window(p, NOW)[0] for p in ("last_7_days", "last_30_days", "last_90_days")]
    assert starts == sorted(starts, reverse=True)


def test_calendar_windows() -> None:
    assert periods.window("this_quarter", NOW) == (datetime(2026, 10, 1, tzinfo=UTC), NOW)
    assert periods.window("last_quarter", NOW) == (
        datetime(2026, 7, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert periods.window("this_quarter", NOW, mode="full") == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert periods.window("last_week", NOW)[1] == datetime(2026, 11, 9, tzinfo=UTC)
    assert periods.window("next_14_days", NOW)[1] == datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert periods.window("any_time", NOW) == (None, NOW)


def test_non_windows_raise() -> None:
    with pytest.raises(ValueError, match="not a time window"):
        periods.window("current", NOW)


def test_variation_suffix() -> None:
    assert periods.variation_suffix("last_90_days", doubled=True) == "_last_90_days_last_90_days"


def test_fiscal_periods_follow_the_fiscal_year_start() -> None:
    now = datetime(2025, 10, 15, tzinfo=UTC)
    full = {"mode": "full", "fiscal_year_start": 2}
    assert periods.window("this_quarter", now, **full) == (  # type: ignore[arg-type]
        datetime(2025, 8, 1, tzinfo=UTC),
        datetime(2025, 11, 1, tzinfo=UTC),
    )
    assert periods.window("this_fyear", now, **full) == (  # type: ignore[arg-type]
        datetime(2025, 2, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert periods.window("last_fyear", now, fiscal_year_start=2) == (
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2025, 2, 1, tzinfo=UTC),
    )
    assert periods.window("last_quarter", now, fiscal_year_start=2) == (
        datetime(2025, 5, 1, tzinfo=UTC),
        datetime(2025, 8, 1, tzinfo=UTC),
    )
    # January: the fiscal year that started last February
    january = datetime(2026, 1, 20, tzinfo=UTC)
    assert periods.window("this_fyear", january, fiscal_year_start=2)[0] == datetime(
        2025, 2, 1, tzinfo=UTC
    )
    assert periods.window("this_quarter", january, fiscal_year_start=2)[0] == datetime(
        2025, 11, 1, tzinfo=UTC
    )
    # months and weeks do not depend on it
    assert periods.window("this_month", now, fiscal_year_start=2) == periods.window(
        "this_month", now
    )


def test_fiscal_periods_are_named() -> None:
    assert {"this_quarter", "last_fyear", "current_year"} <= periods.FISCAL
    assert not {"this_month", "last_week", "last_90_days"} & periods.FISCAL
    with pytest.raises(ValueError, match="1-12"):
        periods.window("this_fyear", NOW, fiscal_year_start=13)
