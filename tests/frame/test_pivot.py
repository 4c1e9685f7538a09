"""Periods as columns (pivot_variations) and back (flatten_variations)."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

import bspandas
import bspandas.frame.accessor
from bspandas import frame as reshape
from bspandas._io.dtypes import Backend
from tests.frame.frames import BACKENDS, accounts_frame, drop_attrs

# -- pivot -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_pivot_one_metric_gives_periods_in_canonical_order(backend: Backend) -> None:
    frame = accounts_frame(backend)
    frame.index = pd.Index(list("wxyz"), name="row")
    wide = reshape.pivot_variations(frame, "account", "ootb_emails_sent")
    # every other column stays, other metrics' period columns included, in frame order
    plain = [c for c in frame.columns if not c.startswith("ootb_emails_sent_")]
    assert "ootb_account_percentage_emails_inbound_last_90_days" in plain
    assert wide.columns.tolist() == [*plain, "last_7_days", "last_30_days", "current_quarter"]
    assert_series_equal(
        wide["last_30_days"], frame["ootb_emails_sent_last_30_days"], check_names=False
    )
    assert (wide.dtypes[plain] == frame.dtypes[plain]).all()
    assert wide.index.equals(frame.index)
    assert wide.attrs["backstory"]["pivot"]["metric"] == "ootb_emails_sent"
    assert_frame_equal(wide[plain], frame[plain])
    assert_frame_equal(reshape.flatten_variations(wide), frame)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pivot_all_metrics_uses_metric_period_levels_and_round_trips(backend: Backend) -> None:
    frame = accounts_frame(backend)
    wide = reshape.pivot_variations(frame, "account")
    assert wide.columns.names == ["metric", "period"]
    assert wide.columns.tolist()[:5] == [
        ("ootb_account_crm_id", ""),
        ("ootb_emails_sent", "last_7_days"),
        ("ootb_emails_sent", "last_30_days"),
        ("ootb_emails_sent", "current_quarter"),
        ("ootb_account_name", ""),
    ]
    name = wide["ootb_account_name"]
    assert isinstance(name, pd.Series)
    assert name.tolist() == frame["ootb_account_name"].tolist()
    emails = wide["ootb_emails_sent"]
    assert emails.columns.tolist() == ["last_7_days", "last_30_days", "current_quarter"]
    assert emails.dtypes.map(str).tolist() == [str(frame["ootb_emails_sent_last_7_days"].dtype)] * 3
    inbound = wide[("ootb_account_percentage_emails_inbound", "last_90_days")]
    assert inbound.isna().tolist() == [False, True, False, False]
    assert_frame_equal(reshape.flatten_variations(wide), frame)


def test_flatten_without_attrs_keeps_the_grouped_order() -> None:
    frame = accounts_frame()
    wide = drop_attrs(reshape.pivot_variations(frame, "account"))
    flat = reshape.flatten_variations(wide)
    grouped = [
        "ootb_account_crm_id",
        "ootb_emails_sent_last_7_days",
        "ootb_emails_sent_last_30_days",
        "ootb_emails_sent_current_quarter",
        "ootb_account_name",
        "ootb_account_percentage_emails_inbound_last_30_days",
        "ootb_account_percentage_emails_inbound_last_90_days",
        "ootb_account_original_owner_id",
        "ootb_account_original_owner_name",
        "ootb_churn_risk_score",
    ]
    assert_frame_equal(flat, frame[grouped])
    single = drop_attrs(reshape.pivot_variations(frame, "account", "ootb_emails_sent"))
    assert "last_7_days" in reshape.flatten_variations(single).columns  # cannot tell alone
    restored = reshape.flatten_variations(single, metric="ootb_emails_sent")
    assert "ootb_emails_sent_last_7_days" in restored.columns
    assert "last_7_days" not in restored.columns


def test_pivot_errors_name_what_is_there() -> None:
    frame = accounts_frame()
    with pytest.raises(bspandas.InvalidColumnsError, match="ootb_emails_sent"):
        reshape.pivot_variations(frame, "account", "ootb_meetings_held")
    with pytest.raises(bspandas.InvalidColumnsError, match="nothing to pivot"):
        reshape.pivot_variations(frame[["ootb_account_name"]], "account")
    clash = frame.assign(last_7_days=1)
    with pytest.raises(bspandas.InvalidColumnsError, match="already columns"):
        reshape.pivot_variations(clash, "account", "ootb_emails_sent")


def test_pivot_of_a_long_frame_is_the_pivot_of_the_original() -> None:
    frame = accounts_frame()
    long = reshape.melt_variations(frame, "account")
    assert_frame_equal(
        reshape.pivot_variations(long, metric="ootb_emails_sent"),
        reshape.pivot_variations(frame, "account", "ootb_emails_sent"),
    )
