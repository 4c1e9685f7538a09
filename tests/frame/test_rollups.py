"""Opportunities rolled up per account, alone and joined onto accounts."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import bspandas
import bspandas.frame.accessor
from bspandas import frame as reshape
from tests.frame.frames import join_accounts, no_warnings, opportunities_frame, typed

# -- aggregation -----------------------------------------------------------------------------


def test_standard_rollup_per_account() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        rolled = reshape.join_opportunities(accounts, opps, aggregate=True)
    assert rolled.attrs["backstory"]["join"]["orphans"] == 2
    assert rolled.columns.tolist() == [
        *accounts.columns,
        "opportunity_count",
        "pipeline_total",
        "open_count",
        "open_value",
        "won_count",
        "won_value",
        "lost_count",
        "lost_value",
        "weighted_pipeline",
    ]
    by = rolled.set_index("ootb_account_name")
    assert by["opportunity_count"].tolist() == [1, 2, 0, 1]
    assert by["pipeline_total"].tolist() == [250.0, 100.0, 0.0, 500.0]
    assert by.loc["Bolt", "open_count"] == 2
    assert by.loc["Bolt", "open_value"] == 100.0  # the other amount is missing
    # Proposal 50 % of 100 plus Negotiation 75 % of a missing amount
    assert by.loc["Bolt", "weighted_pipeline"] == 50.0
    assert (by.loc["Acme", "won_count"], by.loc["Acme", "won_value"]) == (1, 250.0)
    assert (by.loc["Dune", "lost_count"], by.loc["Dune", "lost_value"]) == (1, 500.0)
    assert str(by["opportunity_count"].dtype) == "Int64"
    assert str(by["weighted_pipeline"].dtype) == "Float64"
    assert rolled.attrs["backstory"]["object"] == "account"
    assert rolled.attrs["backstory"]["join"]["orphans"] == 2


def test_rollup_prefers_converted_amount_and_given_probabilities() -> None:
    opps = opportunities_frame().assign(
        ootb_opportunity_converted_amount=typed(
            "opportunity", "ootb_opportunity_converted_amount", [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
        ),
        ootb_stage_probability=typed(
            "opportunity", "ootb_stage_probability", [10.0, None, None, 100.0, None, None]
        ),
    )
    rolled = reshape.aggregate_opportunities(opps, "crm_account_id")
    assert rolled.loc["0010001", "pipeline_total"] == 5.0
    # 10 % of 1 plus (no probability given: Negotiation 75 %) of 4
    assert rolled.loc["0010001", "weighted_pipeline"] == pytest.approx(0.1 + 3.0)
    assert rolled.loc["0019999", "weighted_pipeline"] == 8.0
    assert "<NA>" not in map(str, rolled.index)  # the opportunity without account is left out


def test_rollup_status_from_stage_when_flags_are_missing() -> None:
    opps = opportunities_frame().drop(columns=["ootb_opportunity_is_closed"])
    rolled = reshape.aggregate_opportunities(opps, "crm_account_id")
    assert rolled.loc["0010000", "won_count"] == 1
    assert rolled.loc["0010003", "lost_count"] == 1
    flags = opportunities_frame().drop(columns=["ootb_opportunity_stage"])
    flags["ootb_opportunity_is_won"] = typed(
        "opportunity", "ootb_opportunity_is_won", [False, True, False, False, False, False]
    )
    flags["ootb_stage_probability"] = typed("opportunity", "ootb_stage_probability", [50.0] * 6)
    rolled = reshape.aggregate_opportunities(flags, "crm_account_id")
    assert rolled.loc["0010000", "won_value"] == 250.0
    assert rolled.loc["0010003", "lost_value"] == 500.0
    assert rolled.loc["0010001", "weighted_pipeline"] == 50.0


@pytest.mark.parametrize(
    ("drop", "slug"),
    [
        (["ootb_opportunity_amount"], "ootb_opportunity_converted_amount"),
        (["ootb_opportunity_stage", "ootb_opportunity_is_closed"], "ootb_opportunity_is_closed"),
        (["ootb_opportunity_stage"], "ootb_opportunity_is_won"),
    ],
)
def test_rollup_says_which_slug_to_fetch(drop: list[str], slug: str) -> None:
    opps = opportunities_frame().drop(columns=drop)
    with pytest.raises(bspandas.InvalidColumnsError, match=slug):
        reshape.join_opportunities(join_accounts(), opps, aggregate=True, orphans="ignore")


def test_custom_aggregations_and_pyarrow_rollup() -> None:
    spec: dict[str, tuple[str, Any]] = {
        "deals": ("crm_opportunity_id", "count"),
        "biggest": ("ootb_opportunity_amount", "max"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a left roll-up leaves out orphans as asked
        rolled = reshape.join_opportunities(join_accounts(), opportunities_frame(), aggregate=spec)
    assert rolled["deals"].tolist()[:2] == [1, 2]
    assert rolled["biggest"].tolist()[:2] == [250.0, 100.0]
    assert rolled.attrs["backstory"]["join"]["aggregate"] == ["deals", "biggest"]
    with pytest.raises(bspandas.InvalidColumnsError, match="wrong"):
        reshape.join_opportunities(
            join_accounts(), opportunities_frame(), aggregate={"x": ("no", "sum")}
        )
    arrow = reshape.aggregate_opportunities(opportunities_frame("pyarrow"), "crm_account_id")
    assert str(arrow["opportunity_count"].dtype) == "int64[pyarrow]"
    assert str(arrow["pipeline_total"].dtype) == "double[pyarrow]"


def test_rollup_outer_keeps_orphan_accounts_keys() -> None:
    with pytest.warns(bspandas.OrphanRowsWarning, match="1 of 6 opportunities have no crm_acc"):
        rolled = reshape.join_opportunities(
            join_accounts(), opportunities_frame(), how="outer", aggregate=True
        )
    orphan = rolled[rolled["ootb_account_crm_id"] == "0019999"]
    assert len(orphan) == 1
    assert pd.isna(orphan["ootb_account_name"].iloc[0])
    assert orphan["opportunity_count"].iloc[0] == 1
    assert rolled["opportunity_count"].sum() == 5  # the opportunity without a key is left out


def test_pivoted_accounts_join_like_flat_ones() -> None:
    accounts = join_accounts().assign(
        ootb_emails_sent_last_7_days=typed("account", "ootb_emails_sent_last_7_days", [1, 2, 3, 4])
    )
    wide = reshape.pivot_variations(accounts, "account")
    flat = reshape.join_opportunities(accounts, opportunities_frame(), orphans="ignore")
    pivoted = reshape.join_opportunities(wide, opportunities_frame(), orphans="ignore")
    assert_frame_equal(pivoted, flat)
