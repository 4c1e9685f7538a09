"""Header labels mapped back to the requested columns (moved from tests/test_parse.py)."""

from __future__ import annotations

import pytest

from bspandas._exceptions import HeaderMismatchError, MissingColumnsError
from bspandas._io.align import match_header
from bspandas.catalog import resolve


def test_dropped_columns_are_found_by_label() -> None:
    columns = resolve(
        [
            "ootb_account_name",
            ("ootb_account_count_of_meetings_standard", "last_30_days"),
            ("ootb_account_count_of_emails_sent", "last_30_days"),
        ],
        "account",
    )
    plan = match_header(["Account Name", "Emails Sent (Last 30 Days)"], columns)
    assert [c.name for c in plan.missing] == [
        "ootb_account_count_of_meetings_standard_last_30_days"
    ]
    assert [o.name for o in plan.outputs] == [
        "ootb_account_name",
        "ootb_account_count_of_emails_sent_last_30_days",
    ]


def test_ambiguous_drops_name_every_candidate() -> None:
    columns = resolve([("ootb_emails_sent", ["last_7_days", "last_30_days"])], "account")
    with pytest.raises(MissingColumnsError) as info:
        match_header(["Total emails"], columns)
    assert info.value.ambiguous
    assert info.value.missing == ["ootb_emails_sent_last_7_days", "ootb_emails_sent_last_30_days"]


def test_period_in_label_resolves_unknown_labels() -> None:
    columns = resolve([("ootb_emails_sent", ["last_7_days", "last_30_days"])], "account")
    plan = match_header(["Total emails (Last 30 Days)"], columns)
    assert [c.name for c in plan.missing] == ["ootb_emails_sent_last_7_days"]


def test_more_columns_than_asked_is_an_error() -> None:
    with pytest.raises(HeaderMismatchError, match="3 columns but 1"):
        match_header(["a", "b", "c"], resolve(["industry"], "account"))


def test_renamed_known_label_is_reported_not_fatal() -> None:
    plan = match_header(["Company"], resolve(["ootb_account_name"], "account"))
    assert [(o.name, label) for o, label in plan.mismatched] == [("ootb_account_name", "Company")]
