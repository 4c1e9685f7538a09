"""The benchmarks compare like with like: each hand-written baseline does bspandas' work."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import bspandas  # noqa: F401  (registers df.backstory)
from benchmarks import reshape
from tests.conftest import ROOT


def test_hand_written_baselines_compute_the_same_frames() -> None:
    accounts, opps = reshape.frames(2_000)
    ours = accounts.backstory.pivot_variations()
    assert list(ours.columns) == list(reshape.hand_pivot(accounts).columns)

    long = accounts.backstory.melt_variations()
    hand = reshape.hand_melt(accounts)
    key = ["ootb_account_crm_id", "metric", "period"]
    ours_long = long.reset_index(drop=True)[[*key, "value"]].astype({"metric": str, "period": str})
    hand_long = hand[[*key, "value"]].astype({"metric": str, "period": str})
    pd.testing.assert_frame_equal(
        ours_long.sort_values(key).reset_index(drop=True),
        hand_long.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )

    joined = accounts.backstory.join_opportunities(opps, orphans="ignore")
    merged = reshape.hand_join(accounts, opps)
    assert len(joined) == len(merged)
    assert joined["ootb_opportunity_amount"].sum() == merged["ootb_opportunity_amount"].sum()


def test_quick_reshape_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "B2", "--rows", "5000", "--repeat", "1",
         "--no-save"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert "| B2 reshape 5,000 rows | join_opportunities()" in done.stdout
