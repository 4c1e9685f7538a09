"""Charts: titles, labelled axes, canonical period order, files written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bspandas import plots
from bspandas._exceptions import InvalidColumnsError


def emails() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ootb_emails_sent_current_year": pd.array([40, 60], dtype="Int64"),
            "ootb_emails_sent_last_30_days": pd.array([5, 9], dtype="Int64"),
            "ootb_emails_sent_last_7_days": pd.array([1, None], dtype="Int64"),
        }
    )


def test_metric_by_period_orders_periods_and_labels_axes() -> None:
    ax = plots.metric_by_period(emails(), "ootb_emails_sent", object="account", how="sum")
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Last 7 Days",
        "Last 30 Days",
        "Current Year",
    ]
    assert [p.get_height() for p in ax.patches] == [1.0, 14.0, 100.0]
    assert ax.get_title().startswith("Emails Sent by period")
    assert ax.get_xlabel() == "Period"
    assert ax.get_ylabel() == "Emails Sent (sum)"
    plots.close(ax)


def test_metric_by_period_needs_period_columns() -> None:
    with pytest.raises(InvalidColumnsError, match="no period columns"):
        plots.metric_by_period(emails(), "ootb_meetings_held", object="account")
    with pytest.raises(InvalidColumnsError, match="object="):
        plots.metric_by_period(emails(), "ootb_emails_sent")


def test_pipeline_by_stage_follows_stage_order_and_stacks() -> None:
    stages = pd.Categorical(
        ["Negotiation", "Prospecting", "Negotiation", "Closed Won"],
        categories=["Prospecting", "Proposal", "Negotiation", "Closed Won"],
        ordered=True,
    )
    opps = pd.DataFrame(
        {
            "ootb_opportunity_amount": [100.0, 50.0, 25.0, 10.0],
            "ootb_opportunity_amount_currency": ["USD"] * 4,
            "ootb_opportunity_current_stage": stages,
            "owner": ["a", "b", "b", "a"],
        }
    )
    ax = plots.pipeline_by_stage(opps)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Prospecting",
        "Negotiation",
        "Closed Won",
    ]
    assert [p.get_height() for p in ax.patches] == [50.0, 125.0, 10.0]
    assert ax.get_ylabel() == "Amount (USD)"
    plots.close(ax)
    stacked = plots.pipeline_by_stage(opps, by="owner")
    assert stacked.get_legend() is not None
    assert stacked.get_title() == "Pipeline by stage and owner"
    plots.close(stacked)
    with pytest.raises(InvalidColumnsError, match="ootb_opportunity_amount"):
        plots.pipeline_by_stage(opps.drop(columns="ootb_opportunity_amount"))


def test_score_distribution_marks_thresholds(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"ootb_churn_risk_score": pd.array([10.0, 75.0, 90.0, None], dtype="Float64")}
    )
    ax = plots.score_distribution(
        frame, "ootb_churn_risk_score", thresholds=(70, 85), object="account"
    )
    assert [t.get_text() for t in ax.texts] == [">= 70: 67%", ">= 85: 33%"]
    assert ax.get_title() == "Distribution of Churn Risk Score (3 rows)"
    assert ax.get_xlabel() == "Churn Risk Score"
    path = tmp_path / "churn.png"
    plots.save(ax, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_short_number_ticks() -> None:
    assert [plots._short_number(v) for v in (950, 1500, 2_500_000, 3e9)] == [
        "950",
        "1.5k",
        "2.5M",
        "3B",
    ]


def test_pipeline_by_owner_groups_ids_and_labels_namesakes() -> None:
    opps = pd.DataFrame(
        {
            "ootb_opportunity_converted_amount": [100.0, 50.0, 25.0, 10.0],
            "ootb_opportunity_current_stage": ["Proposal", "Proposal", "Proposal", "Negotiation"],
            "ootb_opportunity_owner_id": pd.array([3100000021723, 3100000033579, 7, 7], "Int64"),
            "ootb_opportunity_owner_name": ["Kenji Kim", "Kenji Kim", "Ana", "Ana"],
            "crm_account_id": ["A", "A", "B", "B"],
        }
    )
    for by in ("ootb_opportunity_owner", "ootb_opportunity_owner_name"):
        ax = plots.pipeline_by_stage(opps, by=by)
        drawn = {str(c.get_label()): [p.get_height() for p in c.patches] for c in ax.containers}
        assert [t.get_text() for t in ax.get_xticklabels()] == ["Negotiation", "Proposal"]
        assert drawn == {
            "Ana": [10.0, 25.0],
            "Kenji Kim (…1723)": [0.0, 100.0],
            "Kenji Kim (…3579)": [0.0, 50.0],
        }
        plots.close(ax)
    ax = plots.pipeline_by_stage(opps, by="crm_account_id")  # an id without names: as is
    assert sorted(str(c.get_label()) for c in ax.containers) == ["A", "B"]
    plots.close(ax)
