"""The main job: `bspandas demo` on the embedded sandbox."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import bspandas as bs
from bspandas.demo import DemoFigures, analyse, run_demo
from bspandas.sandbox import EXPORT_PATH, Sandbox


def test_demo_prints_the_report_and_writes_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BACKSTORY_CLIENT_ID", "BACKSTORY_CLIENT_SECRET", "BACKSTORY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    started = time.perf_counter()
    assert run_demo(output=tmp_path, seed=3, accounts=150, out=out) == 0
    assert time.perf_counter() - started < 60
    report = out.getvalue()
    for heading in (
        "1. Accounts at risk",
        "2. Email and meeting activity across periods",
        "3. Open pipeline of the at-risk accounts",
        "4. Open pipeline by stage and owner",
        "5. Validation against the catalog schemas",
        "6. Charts",
    ):
        assert heading in report
    assert "embedded sandbox" in report
    assert report.count(": valid") == 3
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == [
        "churn_risk_distribution.png",
        "emails_by_period_at_risk.png",
        "pipeline_by_stage_and_owner.png",
    ]
    assert all((tmp_path / p).stat().st_size > 5000 for p in pngs)


# -- the demo's figures against plain pandas on the raw CSV ----------------------------------


def raw_csv(sb: Sandbox, obj: str, slugs: list[str]) -> pd.DataFrame:
    """An export read the way a user without bspandas would: requests and pd.read_csv."""
    form = {
        "grant_type": "client_credentials",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
    }
    token = requests.post(sb.token_url, data=form, timeout=30).json()["access_token"]
    answer = requests.post(
        sb.base_url + EXPORT_PATH,
        json={"object": obj, "columns": [{"slug": s} for s in slugs]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200
    return pd.read_csv(io.StringIO(answer.text), dtype={"Account": str, "CRM Id": str})


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoFigures, str, Any]]:
    output = tmp_path_factory.mktemp("demo")
    with bs.sandbox.serve(seed=7, accounts=400) as sb, sb.client() as client:
        out = io.StringIO()
        figures = analyse(client, output, out)
        accounts = raw_csv(
            sb,
            "account",
            ["ootb_account_crm_id", "ootb_churn_risk_score", "ootb_account_engagement_level"],
        )
        opps = raw_csv(
            sb,
            "opportunity",
            [
                "ootb_opportunity_account",
                "ootb_opportunity_amount",
                "ootb_opportunity_converted_amount",
                "ootb_opportunity_owner",
                "ootb_opportunity_is_closed",
                "ootb_opportunity_current_stage",
            ],
        )
        yield figures, out.getvalue(), (accounts, opps)


def test_demo_figures_equal_plain_pandas_on_the_converted_amount(
    demo_run: tuple[DemoFigures, str, Any],
) -> None:
    figures, report, (accounts, opps) = demo_run
    assert accounts.columns.tolist() == ["CRM Id", "Churn Risk Score", "Account Engagement Level"]
    at_risk = accounts[
        (accounts["Churn Risk Score"] >= 70) & (accounts["Account Engagement Level"] < 40)
    ]["CRM Id"]
    open_deals = opps[opps["Is Closed"] == False]  # noqa: E712 - a plain pandas bool column
    exposed = open_deals[open_deals["Account"].isin(set(at_risk))]
    assert figures.currency == "corporate"
    assert figures.at_risk == len(at_risk)
    assert figures.open_opportunities == len(open_deals)
    assert figures.exposed_deals == len(exposed)
    assert figures.exposed == pytest.approx(exposed["Amount (Converted)"].sum(), rel=1e-12)
    # the figure the demo printed before: every currency added up as if it were one
    mixed = float(exposed["Amount (amount)"].sum())
    assert set(exposed["Amount (currency_iso_code)"]) == {"USD", "EUR", "GBP", "JPY"}
    assert abs(mixed - figures.exposed) > 1_000_000
    assert f"{figures.exposed:,.0f} of open pipeline exposed" in report
    assert f"{mixed:,.0f}" not in report
    # per stage, per owner (by id: two owners are named Kenji Kim)
    stages = open_deals.groupby("Stage")["Amount (Converted)"].agg(["count", "sum"])
    for stage, row in figures.by_stage.iterrows():
        assert row["deals"] == stages.loc[stage, "count"]
        assert row["amount"] == round(stages.loc[stage, "sum"])
    owners = open_deals.groupby("Opportunity Owner (id)")["Amount (Converted)"].sum()
    owners = owners.sort_values(ascending=False, kind="stable")
    assert figures.top_owners.index.tolist() == owners.index[:8].tolist()
    for owner, row in figures.top_owners.iterrows():
        assert row["amount"] == pytest.approx(owners[owner], rel=1e-12)
        line = f"  {row['label']:<30} {row['amount']:>14,.0f}"
        assert line in report.splitlines()
    # the chart draws the same money: each stage's stack sums to its total
    chart = figures.chart
    assert chart.sum(axis=1).to_dict() == pytest.approx(stages["sum"].to_dict(), rel=1e-12)
    for owner, row in figures.top_owners.iterrows():
        assert chart[row["label"]].sum() == pytest.approx(owners[owner], rel=1e-12)


def test_demo_tells_namesakes_apart(demo_run: tuple[DemoFigures, str, Any]) -> None:
    figures, report, (_, opps) = demo_run
    named = opps.drop_duplicates("Opportunity Owner (id)")
    kenjis = named[named["Opportunity Owner (name)"] == "Kenji Kim"]["Opportunity Owner (id)"]
    assert len(kenjis) == 2  # the tenant's two users with one name
    open_deals = opps[opps["Is Closed"] == False]  # noqa: E712
    owners = open_deals.groupby("Opportunity Owner (id)")["Amount (Converted)"].sum()
    shown = [owner for owner in kenjis if owner in figures.top_owners.index]
    assert shown  # one of them is among the top owners of this tenant
    for owner in shown:
        label = f"Kenji Kim (…{str(owner)[-4:]})"
        assert figures.top_owners.loc[owner, "label"] == label
        assert label in report
        assert figures.chart[label].sum() == pytest.approx(owners[owner], rel=1e-12)
    assert "Kenji Kim  " not in report  # never a bare name that stands for two people
