"""``bspandas demo``: a data scientist's first day, on the embedded sandbox.

It starts a local sandbox (or uses the real tenant when ``BACKSTORY_CLIENT_ID``,
``BACKSTORY_CLIENT_SECRET`` and ``BACKSTORY_BASE_URL`` are set), then, through the real
client over HTTP: finds at-risk accounts, compares their email and meeting activity across
periods, joins them to their open opportunities, rolls pipeline up by stage and owner,
validates every frame against the catalog, prints a compact report and writes PNG charts.

Money is summed in the corporate currency (``ootb_opportunity_converted_amount``), never
across currencies; people are grouped by id and shown by name. :func:`analyse` returns the
figures it printed (:class:`DemoFigures`) so they can be checked against another
computation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from bspandas import catalog, plots
from bspandas._exceptions import BackstoryError
from bspandas._http.client import Client
from bspandas._messages import describe_failure
from bspandas._read.reader import read_query
from bspandas._version import __version__
from bspandas.frame import money_column, person_labels

__all__ = ["DemoFigures", "analyse", "run_demo"]

RISK = 70
LOW_ENGAGEMENT = 40
TOP_OWNERS = 8
# Verified live with these periods (query-api.md appendix, "Slugs verified live": F9).
PERIODS = ["last_7_days", "last_30_days", "last_90_days", "this_quarter"]
EMAILS = "ootb_account_count_of_emails_sent"
MEETINGS = "ootb_account_count_of_meetings_standard"
ACCOUNT_COLUMNS = [
    "ootb_account_crm_id",
    "ootb_account_name",
    "industry",
    "ootb_churn_risk_score",
    "ootb_account_engagement_level",
    "ootb_engagement_trend",
    (EMAILS, PERIODS),
    (MEETINGS, PERIODS),
]
OPPORTUNITY_COLUMNS = [
    "ootb_opportunity_crm_id",
    "ootb_opportunity_name",
    "ootb_opportunity_account",
    "ootb_opportunity_amount",
    "ootb_opportunity_converted_amount",
    "ootb_opportunity_current_stage",
    "ootb_opportunity_owner",
    "ootb_opportunity_close_date",
    "ootb_opportunity_is_closed",
    "ootb_opportunity_is_won",
    "ootb_stage_probability",
]


@contextlib.contextmanager
def _connection(seed: int, accounts: int) -> Iterator[tuple[Client, str]]:
    names = ("BACKSTORY_CLIENT_ID", "BACKSTORY_CLIENT_SECRET", "BACKSTORY_BASE_URL")
    if all(os.environ.get(n) for n in names):
        with Client() as client:
            yield client, f"your tenant at {client.base_url}"
        return
    from bspandas import sandbox

    with sandbox.serve(seed=seed, accounts=accounts) as sb, sb.client() as client:
        yield client, f"the embedded sandbox at {sb.base_url} (seed {seed}, {accounts} accounts)"


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _section(out: TextIO, title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)), file=out)


@dataclasses.dataclass(slots=True)
class DemoFigures:
    """The figures the demo printed and charted, as values.

    Money is in ``currency`` (``"corporate"``: the converted amount). ``top_owners`` is
    indexed by owner id with ``label`` and ``amount`` columns; ``chart`` has one row per
    stage and one column per stacked series of the pipeline chart, as drawn.
    """

    accounts: int
    at_risk: int
    open_opportunities: int
    exposed_deals: int
    exposed: float
    currency: str | None
    worst_accounts: pd.DataFrame
    by_stage: pd.DataFrame
    top_owners: pd.DataFrame
    chart: pd.DataFrame


def run_demo(*, output: Path, seed: int = 7, accounts: int = 400, out: TextIO | None = None) -> int:
    """Run the demo; returns the process exit status."""
    stream = out or sys.stdout
    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    try:
        with _connection(seed, accounts) as (client, where):
            print(f"bspandas {__version__} demo on {where}", file=stream)
            analyse(client, output, stream)
    except BackstoryError as exc:
        print(f"\nThe demo stopped: {describe_failure(exc)}", file=sys.stderr)
        return 2
    print(f"\nDone in {time.perf_counter() - started:.1f} s. Charts are in {output}/", file=stream)
    return 0


def _bars(ax: Any) -> pd.DataFrame:
    """The heights of a stacked bar chart as drawn: one row per x label, one column per
    series (its legend label)."""
    labels = [t.get_text() for t in ax.get_xticklabels()]
    columns = {
        str(container.get_label()): [float(patch.get_height()) for patch in container.patches]
        for container in ax.containers
    }
    return pd.DataFrame(columns, index=pd.Index(labels, name="stage"))


def analyse(client: Client, output: Path, out: TextIO) -> DemoFigures:
    """The demo's analysis through ``client``: prints the report to ``out``, writes the charts
    to ``output`` and returns the figures it printed."""
    risk, engagement = RISK, LOW_ENGAGEMENT
    pd.set_option("display.width", 120)

    _section(out, "1. Accounts at risk")
    accounts = read_query("account", ACCOUNT_COLUMNS, client=client, progress=False)
    at_risk = read_query(
        "account",
        ACCOUNT_COLUMNS,
        where="ootb_churn_risk_score >= @risk and ootb_account_engagement_level < @engagement",
        sort=("ootb_churn_risk_score", "desc"),
        client=client,
        progress=False,
    )
    share = len(at_risk) / max(1, len(accounts))
    print(
        f"{len(at_risk)} of {len(accounts)} accounts ({share:.0%}) have churn risk >= {risk} "
        f"and engagement < {engagement}. Highest risk first:",
        file=out,
    )
    top = at_risk[
        [
            "ootb_account_name",
            "industry",
            "ootb_churn_risk_score",
            "ootb_account_engagement_level",
            "ootb_engagement_trend",
        ]
    ].head(8)
    print(top.rename(columns=lambda c: c.removeprefix("ootb_")).to_string(index=False), file=out)
    print("dtypes come from the catalog:", file=out)
    print(
        "  " + ", ".join(f"{c}: {t}" for c, t in at_risk.dtypes.astype(str).head(6).items()),
        file=out,
    )

    _section(out, "2. Email and meeting activity across periods (mean per account)")
    rows = {}
    for label, frame in (("at risk", at_risk), ("all accounts", accounts)):
        for metric, name in ((EMAILS, "emails sent"), (MEETINGS, "meetings")):
            wide = frame.backstory.pivot_variations(metric)
            rows[(label, name)] = wide[PERIODS].astype("Float64").mean()
    table = pd.DataFrame(rows).T.round(1)
    table.columns = [catalog.period_vocabulary.label(p) for p in table.columns]
    print(table.to_string(), file=out)

    _section(out, "3. Open pipeline of the at-risk accounts")
    opportunities = read_query(
        "opportunity",
        OPPORTUNITY_COLUMNS,
        where="ootb_opportunity_is_closed == False",
        client=client,
        progress=False,
    )
    money = money_column(opportunities)  # the converted amount: one currency
    currencies = [
        str(c) for c in opportunities["ootb_opportunity_amount_currency"].dropna().unique()
    ]
    # an inner join: opportunities of healthy accounts are meant to drop out
    deals = at_risk.backstory.join_opportunities(opportunities, how="inner", orphans="ignore")
    exposed = float(deals[money.column].sum())
    print(
        f"{len(opportunities)} open opportunities in all, in {', '.join(sorted(currencies))}; "
        f"every sum below is in the {money.label} ({money.column}).\n"
        f"{len(deals)} belong to at-risk accounts, {_money(exposed)} of open pipeline exposed.",
        file=out,
    )
    rollup = at_risk.backstory.join_opportunities(opportunities, aggregate=True, orphans="ignore")
    worst = rollup.sort_values("open_value", ascending=False).head(5).round(0)
    worst = worst[
        [
            "ootb_account_name",
            "ootb_churn_risk_score",
            "open_count",
            "open_value",
            "weighted_pipeline",
        ]
    ]
    print(worst.to_string(index=False), file=out)

    _section(out, "4. Open pipeline by stage and owner")
    by_stage = (
        opportunities.groupby("ootb_opportunity_current_stage", observed=True)[money.column]
        .agg(["count", "sum"])
        .rename(columns={"count": "deals", "sum": "amount"})
        .round(0)
    )
    print(f"(amounts in the {money.label})", file=out)
    print(by_stage.to_string(), file=out)
    labels = person_labels(opportunities, "ootb_opportunity_owner")
    owner_totals = (
        opportunities.groupby("ootb_opportunity_owner_id")[money.column]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    owners = pd.DataFrame(
        {
            "label": [str(labels[i]) for i in owner_totals.index],
            "amount": owner_totals.astype(float).to_numpy(),
        },
        index=owner_totals.index,
    )
    print("Top owners by open pipeline:", file=out)
    for label, amount in owners.head(TOP_OWNERS).itertuples(index=False):
        print(f"  {label:<30} {_money(float(amount)):>14}", file=out)

    _section(out, "5. Validation against the catalog schemas")
    for name, frame in (
        ("accounts", accounts),
        ("at-risk", at_risk),
        ("opportunities", opportunities),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame.backstory.validate()
        print(f"  {name:<14} {len(frame):>6} rows x {frame.shape[1]:>2} columns: valid", file=out)

    _section(out, "6. Charts")
    owner_ids = opportunities["ootb_opportunity_owner_id"]
    top_owners = owner_ids.isin(owners.head(TOP_OWNERS).index)
    stacked = opportunities.assign(
        owner=owner_ids.astype("object").map(labels.to_dict()).where(top_owners, "others")
    )
    pipeline = plots.pipeline_by_stage(
        stacked, by="owner", title="Open pipeline by stage and owner"
    )
    chart = _bars(pipeline)
    charts = {
        "churn_risk_distribution.png": plots.score_distribution(
            accounts, "ootb_churn_risk_score", thresholds=(risk,), object="account"
        ),
        "emails_by_period_at_risk.png": plots.metric_by_period(
            at_risk, EMAILS, object="account", how="mean"
        ),
        "pipeline_by_stage_and_owner.png": pipeline,
    }
    for filename, ax in charts.items():
        plots.save(ax, output / filename)
        print(f"  wrote {output / filename}", file=out)
    return DemoFigures(
        accounts=len(accounts),
        at_risk=len(at_risk),
        open_opportunities=len(opportunities),
        exposed_deals=len(deals),
        exposed=exposed,
        currency=money.currency,
        worst_accounts=worst,
        by_stage=by_stage,
        top_owners=owners.head(TOP_OWNERS),
        chart=chart,
    )
