"""B2: pivot, melt and join on a million rows against hand-written pandas doing the same."""

from __future__ import annotations

import numpy as np
import pandas as pd

import bspandas as bs  # noqa: F401  (registers df.backstory)
from benchmarks.common import Figure, best_of

METRICS = ["ootb_emails_sent", "ootb_emails_received", "ootb_meetings_held"]
PERIODS = ["last_7_days", "last_30_days", "current_quarter", "current_year"]


def frames(rows: int, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = pd.array([f"001{i:012d}" for i in range(rows)], dtype="string")
    accounts = pd.DataFrame({"ootb_account_crm_id": ids, "ootb_account_name": ids})
    for metric in METRICS:
        for period in PERIODS:
            accounts[f"{metric}_{period}"] = pd.array(rng.integers(0, 50, rows), dtype="Int64")
    owners = rng.integers(0, rows, rows)
    opps = pd.DataFrame(
        {
            "crm_opportunity_id": pd.array([f"006{i:012d}" for i in range(rows)], dtype="string"),
            "crm_account_id": ids.take(owners),
            "ootb_opportunity_amount": pd.array(rng.random(rows) * 1e5, dtype="Float64"),
        }
    )
    return accounts, opps


def hand_pivot(accounts: pd.DataFrame) -> pd.DataFrame:
    tuples = []
    for name in accounts.columns:
        for metric in METRICS:
            if name.startswith(metric + "_"):
                tuples.append((metric, name[len(metric) + 1 :]))
                break
        else:
            tuples.append((name, ""))
    return accounts.set_axis(pd.MultiIndex.from_tuples(tuples), axis=1)


def hand_melt(accounts: pd.DataFrame) -> pd.DataFrame:
    """df.melt, then metric and period as categoricals (mapped through the codes of the
    variable column, the efficient way to write it by hand)."""
    ids = ["ootb_account_crm_id", "ootb_account_name"]
    value_vars = [c for c in accounts.columns if c not in ids]
    long = accounts.melt(id_vars=ids, value_vars=value_vars, var_name="column")
    codes, uniques = pd.factorize(long.pop("column"))
    split = [next((m, c[len(m) + 1 :]) for m in METRICS if c.startswith(m + "_")) for c in uniques]
    metric_codes = pd.Index(METRICS).get_indexer([m for m, _ in split])
    period_codes = pd.Index(PERIODS).get_indexer([p for _, p in split])
    long["metric"] = pd.Categorical.from_codes(metric_codes[codes], categories=METRICS)
    long["period"] = pd.Categorical.from_codes(period_codes[codes], categories=PERIODS)
    return long


def hand_join(accounts: pd.DataFrame, opps: pd.DataFrame) -> pd.DataFrame:
    return accounts.merge(
        opps, left_on="ootb_account_crm_id", right_on="crm_account_id", how="left",
        validate="one_to_many",
    )  # fmt: skip


def run(rows: int, repeat: int) -> list[Figure]:
    accounts, opps = frames(rows)
    tag = f"B2 reshape {rows:,} rows"
    cases = [
        ("pivot_variations() vs set_axis(MultiIndex)",
         lambda: accounts.backstory.pivot_variations(), lambda: hand_pivot(accounts)),
        ("melt_variations() vs melt + metric/period categoricals",
         lambda: accounts.backstory.melt_variations(), lambda: hand_melt(accounts)),
        ("join_opportunities() vs merge(validate='one_to_many')",
         lambda: accounts.backstory.join_opportunities(opps, orphans="ignore"),
         lambda: hand_join(accounts, opps)),
    ]  # fmt: skip
    figures = []
    for name, ours, theirs in cases:
        runs = repeat * 10 if name.startswith("pivot") else repeat  # a millisecond: more runs
        theirs_s, _ = best_of(runs, theirs)
        ours_s, _ = best_of(runs, ours)
        ratio = ours_s / theirs_s
        figures.append(Figure(tag, name, ratio, "x", "<= 1.2x", ratio <= 1.2))
    return figures
