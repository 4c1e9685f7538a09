"""snapshot / read_snapshots / df.backstory.trend: history the API does not keep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import bspandas as bs
from bspandas.sandbox import Sandbox, serve

COLUMNS = ["ootb_account_crm_id", "ootb_account_name", "ootb_churn_risk_score",
           ("ootb_emails_sent", "last_30_days")]  # fmt: skip
METRIC = "ootb_churn_risk_score"


@pytest.fixture
def own_sandbox(sandbox_factory: Any) -> Sandbox:
    """A sandbox of its own: these tests override served values."""
    sb: Sandbox = sandbox_factory(accounts=25, users=5, seed=11)
    return sb


def test_two_snapshots_on_two_days_read_back_as_two_days(
    own_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = own_sandbox
    with sb.client() as client:
        first_day = bs.read_query("account", COLUMNS, client=client)
        assert bs.snapshot("account", COLUMNS, str(tmp_path), as_of="2026-10-14",
                           client=client) == "2026-10-14"  # fmt: skip
        changed = np.linspace(1.0, 99.0, len(first_day))
        sb.override("account", METRIC, pa.array(changed))
        second_day = bs.read_query("account", COLUMNS, client=client)
        late = datetime(2026, 10, 15, 23, 0, tzinfo=UTC)
        bs.snapshot("account", COLUMNS, str(tmp_path), as_of=late, client=client)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "snapshot=2026-10-14", "snapshot=2026-10-15",
    ]  # fmt: skip
    history = bs.read_snapshots(str(tmp_path))
    days = pd.to_datetime(["2026-10-14", "2026-10-15"], utc=True)
    assert history["snapshot"].drop_duplicates().tolist() == list(days)
    assert str(history["snapshot"].dtype) == "datetime64[ms, UTC]"
    assert len(history) == len(first_day) + len(second_day)
    for day, expected in zip(days, (first_day, second_day), strict=True):
        got = history.loc[history["snapshot"] == day].drop(columns="snapshot")
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_categorical=False)
        assert (got.dtypes == expected.dtypes).all()
    assert history.attrs["backstory"]["snapshots"] == ["2026-10-14", "2026-10-15"]

    wide = history.backstory.trend(METRIC)
    assert list(wide.columns) == list(days)
    by_id = first_day.set_index("ootb_account_crm_id")[METRIC]
    assert wide[days[0]].reindex(by_id.index).tolist() == by_id.tolist()
    served = second_day.set_index("ootb_account_crm_id")[METRIC]
    assert wide[days[1]].reindex(served.index).tolist() == served.tolist()
    assert served.tolist() == pytest.approx(changed.tolist(), abs=1e-4)  # served at 4 decimals

    only_second = bs.read_snapshots(str(tmp_path), [METRIC], start="2026-10-15")
    assert only_second["snapshot"].unique().tolist() == [days[1]]
    assert list(only_second.columns) == ["snapshot", METRIC]


def test_the_same_day_twice_replaces_that_day(own_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = own_sandbox
    with sb.client() as client:
        bs.snapshot("account", COLUMNS, str(tmp_path), as_of="2026-10-15", client=client)
        sb.override("account", METRIC, pa.array(np.full(25, 42.0)))
        bs.snapshot("account", COLUMNS, str(tmp_path), as_of="2026-10-15", client=client)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["snapshot=2026-10-15/part-0.parquet"]
    history = bs.read_snapshots(str(tmp_path))
    assert len(history) == 25
    assert (history[METRIC] == 42.0).all()


def test_the_day_comes_from_the_servers_date_header(tmp_path: Path) -> None:
    # the tenant's clock says it is still the 14th (UTC), whatever this machine's date is;
    # the sandbox sends its as_of as every answer's Date header, chunked reads included
    with serve(seed=3, accounts=12, users=3, as_of="2026-10-14T23:59:30Z") as sb, sb.client() as c:
        day = bs.snapshot("account", COLUMNS[:2], f"memory://snap-{id(tmp_path)}", client=c,
                          chunksize=5)  # fmt: skip
    assert day == "2026-10-14"


def test_trend_says_what_it_needs() -> None:
    frame = pd.DataFrame({"ootb_account_crm_id": ["001A"], METRIC: [1.0]})
    with pytest.raises(bs.InvalidColumnsError, match="read_snapshots"):
        frame.backstory.trend(METRIC)
    long = frame.assign(snapshot=pd.Timestamp("2026-10-15", tz="UTC"))
    with pytest.raises(bs.InvalidColumnsError, match="Pick one of"):
        long.backstory.trend("no_such_column")


def test_read_snapshots_of_an_empty_folder_says_how_to_take_one(tmp_path: Path) -> None:
    with pytest.raises(bs.DatasetError, match=r"bspandas\.snapshot"):
        bs.read_snapshots(str(tmp_path))
