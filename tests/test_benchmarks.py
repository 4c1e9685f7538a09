"""The benchmarks compare like with like: each hand-written baseline does bspandas' work."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import bspandas  # noqa: F401  (registers df.backstory)
from benchmarks import reshape
from tests.paths import ROOT


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


def test_field_shaped_read_is_correct_at_100k_rows() -> None:
    """B6's data and read, checked against plain pandas on the raw bytes (never timed)."""
    import io
    import warnings

    from benchmarks import field

    data = field.generate(100_000, invalid_share=0.2, cache=None)
    client = field.StandIn(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = field.read(client)
    assert client.exports == 1  # one download, whatever the cells hold
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert len(frame) == len(raw) == 100_000
    outs = field.outputs()
    assert len(outs) == 14
    assert list(raw.columns) == [o.label for o in outs]
    # field-shaped: unique ids, quoted names, time-part dates, ~5% missing, tenant stage
    assert frame["ootb_opportunity_crm_id"].is_unique
    names = raw["Opportunity Name"]
    assert (names.str.contains(",") | (names == "")).all()
    assert names.str.contains('"').any()
    assert raw["Close Date"].replace("", None).dropna().str.endswith(" 00:00:00+00:00").all()
    missing = (raw.drop(columns="CRM Id") == "").mean()
    assert missing.between(0.04, 0.06).all()
    tenant = int((raw["Stage"] == field.TENANT_STAGE).sum())
    assert 0.15 < tenant / len(raw) < 0.19
    # values equal plain pandas parsing of the same bytes
    for o in outs:
        cells = raw[o.label].replace("", None)
        got = frame[o.name]
        if o.part.type in ("date", "timestamp"):
            want = pd.to_datetime(cells, utc=True, format="ISO8601")
            pd.testing.assert_series_equal(
                got.astype("datetime64[ns, UTC]"),
                want.astype("datetime64[ns, UTC]"),
                check_names=False,
            )
        elif o.part.type in ("money", "score", "count", "internal_id"):
            want_numbers = pd.to_numeric(cells)
            assert (got.astype(float).to_numpy() == want_numbers.to_numpy())[
                want_numbers.notna().to_numpy()
            ].all(), o.name
            assert got.isna().sum() == want_numbers.isna().sum()
        else:
            want_text = cells.astype(object).where(cells.notna(), None).tolist()
            assert got.astype(object).where(got.notna(), None).tolist() == want_text, o.name
    # validation reports the exact counts of plain pandas
    messages = " ".join(str(w.message) for w in caught)
    scores = pd.to_numeric(raw["Opportunity Engagement Level"].replace("", None))
    # the stage is a tenant picklist: its own values are kept without a validation failure
    assert "ootb_opportunity_current_stage" not in messages
    assert (frame["ootb_opportunity_current_stage"] == field.TENANT_STAGE).sum() == tenant
    assert f"ootb_opportunity_engagement_level: {int((scores > 100).sum())} failing" in messages
