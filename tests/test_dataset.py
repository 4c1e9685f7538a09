"""export_dataset / read_dataset against the sandbox: windows, resume, atomic landing, dtypes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest

import bspandas as bs
from bspandas.frame.dataset import MANIFEST, WindowDone
from bspandas.frame.dataset.pushdown import _expression
from bspandas.query import parse_filter
from bspandas.sandbox import Sandbox

COLUMNS = [
    "ootb_activity_uid",
    "ootb_activity_timestamp",
    "ootb_activity_type",
    "ootb_activity_subject",
    "ootb_activity_external",
    "ootb_activity_outbound",
    "ootb_activity_duration",
    "ootb_activity_account",
    "ootb_activity_opportunity",
]
HALF_YEAR = "ootb_activity_timestamp >= '2025-07-01' and ootb_activity_timestamp < '2026-01-01'"
SPLIT = ("ootb_activity_timestamp", "month")


class StopError(Exception):
    """Stands in for a kill: raised from the on_window hook."""


def _by_uid(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("ootb_activity_uid").reset_index(drop=True)


def _same(dataset: pd.DataFrame, reference: pd.DataFrame) -> None:
    """The same rows and dtypes (unordered categories compare as sets, as pandas does)."""
    assert list(dataset.columns) == list(reference.columns)
    assert (dataset.dtypes == reference.dtypes).all(), (dataset.dtypes, reference.dtypes)
    pd.testing.assert_frame_equal(_by_uid(dataset), _by_uid(reference), check_categorical=False)


@pytest.fixture
def memory_path() -> Any:
    path = f"memory://bspandas-test/{id(object())}"
    yield path
    fs = fsspec.filesystem("memory")
    if fs.exists(path):
        fs.rm(path, recursive=True)


def test_export_reads_back_as_read_query_gives(sandbox: Sandbox, tmp_path: Path) -> None:
    with sandbox.client() as client:
        plan = bs.export_dataset(
            "activity", COLUMNS, str(tmp_path), where=HALF_YEAR, split_by=SPLIT, client=client,
            chunksize=97,
        )  # fmt: skip
        reference = bs.read_query("activity", COLUMNS, where=HALF_YEAR, client=client)
    assert [r.window.key for r in plan.results] == [f"2025-{m:02d}" for m in range(7, 13)]
    # independent count: plain pandas on the reference's timestamps, month by month
    months = reference["ootb_activity_timestamp"].dt.strftime("%Y-%m").value_counts()
    assert {r.window.key: r.rows for r in plan.results} == months.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [MANIFEST] + [f"month=2025-{m:02d}" for m in range(7, 13)]
    )
    frame = bs.read_dataset(str(tmp_path))
    _same(frame, reference)
    assert reference["ootb_activity_duration"].isna().any()  # messy data: missing durations
    assert reference["ootb_activity_opportunity_id"].isna().any()
    categories = list(frame["ootb_activity_type"].cat.categories)
    assert categories[:3] == list(bs.catalog.get("ootb_activity_type", "activity").values)
    assert frame.attrs["backstory"]["object"] == "activity"
    assert frame.attrs["backstory"]["rows"] == len(reference)
    assert (
        frame.attrs["backstory"]["payload"]["columns"]
        == reference.attrs["backstory"]["payload"]["columns"]
    )
    assert frame.backstory.object == "activity"
    frame.backstory.validate()
    arrow = bs.read_dataset(str(tmp_path), dtype_backend="pyarrow")
    with sandbox.client() as client:
        arrow_reference = bs.read_query(
            "activity", COLUMNS, where=HALF_YEAR, client=client, dtype_backend="pyarrow"
        )
    _same(arrow, arrow_reference)


def test_killed_after_first_window_resumes_and_third_run_sends_nothing(
    sandbox: Sandbox, memory_path: str
) -> None:
    def stop_after_first(done: WindowDone) -> None:
        if not done.skipped:
            raise StopError(done.window.key)

    with sandbox.client() as client:
        with pytest.raises(StopError, match="2025-07"):
            bs.export_dataset(
                "activity", COLUMNS, memory_path, where=HALF_YEAR, split_by=SPLIT, client=client,
                on_window=stop_after_first,
            )  # fmt: skip
        assert sandbox.count(endpoint="export") == 1
        manifest = json.loads(fsspec.open(f"{memory_path}/{MANIFEST}", "r").open().read())
        assert list(manifest["windows"]) == ["2025-07"]

        second = bs.export_dataset(
            "activity", COLUMNS, memory_path, where=HALF_YEAR, split_by=SPLIT, client=client
        )
        assert sandbox.count(endpoint="export") == 6
        assert [r.skipped for r in second.results] == [True] + [False] * 5

        third = bs.export_dataset(
            "activity", COLUMNS, memory_path, where=HALF_YEAR, split_by=SPLIT, client=client
        )
        assert sandbox.count(endpoint="export") == 6  # nothing sent
        assert all(r.skipped for r in third.results)
        assert "nothing to send" in third.describe()
        reference = bs.read_query("activity", COLUMNS, where=HALF_YEAR, client=client)
    _same(bs.read_dataset(memory_path), reference)
    leftovers = [p for p in fsspec.filesystem("memory").find(memory_path) if "inprogress" in p]
    assert leftovers == []


def test_cut_window_is_read_again_and_lands_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_faults(cut_mid_row=1, reset=1)
    where = "ootb_activity_timestamp >= '2025-11-01' and ootb_activity_timestamp < '2026-01-01'"
    with sandbox.client() as client:
        plan = bs.export_dataset(
            "activity", COLUMNS, str(tmp_path), where=where, split_by=SPLIT, client=client,
            chunksize=50,
        )  # fmt: skip
        assert sandbox.count(endpoint="export") == 4  # two windows, two damaged answers
        reference = bs.read_query("activity", COLUMNS, where=where, client=client)
    assert sum(r.rows for r in plan.results) == len(reference)
    _same(bs.read_dataset(str(tmp_path)), reference)
    assert not list(tmp_path.rglob(".*inprogress"))


def test_answer_without_terminator_needs_a_second_agreeing_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.set_faults(missing_terminator=2)
    where = "ootb_activity_timestamp >= '2025-12-01' and ootb_activity_timestamp < '2026-01-01'"
    with sandbox.client() as client:
        plan = bs.export_dataset(
            "activity", COLUMNS, str(tmp_path), where=where, split_by=SPLIT, client=client
        )
        assert sandbox.count(endpoint="export") == 2
        reference = bs.read_query("activity", COLUMNS, where=where, client=client)
    assert plan.results[0].rows == len(reference)


def test_windows_come_from_a_first_request_when_no_range_is_given(
    sandbox_factory: Any, memory_path: str
) -> None:
    sb = sandbox_factory(accounts=12, users=4, seed=5, activities_per_account=6)
    with sb.client() as client:
        plan = bs.export_dataset(
            "activity", ["ootb_activity_uid", "ootb_activity_timestamp"], memory_path,
            split_by=("ootb_activity_timestamp", "quarter"), client=client,
        )  # fmt: skip
        assert plan.scanned
        assert sb.count(endpoint="export") == 1 + len(plan.windows)
        reference = bs.read_query(
            "activity", ["ootb_activity_uid", "ootb_activity_timestamp"], client=client
        )
        again = bs.export_dataset(
            "activity", ["ootb_activity_uid", "ootb_activity_timestamp"], memory_path,
            split_by=("ootb_activity_timestamp", "quarter"), client=client,
        )  # fmt: skip
        assert sb.count(endpoint="export") == 2 + len(plan.windows)  # the reference only
        assert not again.scanned
    first = reference["ootb_activity_timestamp"].min()
    assert plan.windows[0].start <= first < plan.windows[0].end
    _same(bs.read_dataset(memory_path), reference)


def test_dry_run_lists_windows_and_sends_nothing(sandbox: Sandbox, memory_path: str) -> None:
    with sandbox.client(hourly_budget=3) as client:
        plan = bs.export_dataset(
            "activity", COLUMNS, memory_path, split_by="ootb_activity_timestamp:month",
            start="2025-01-15", end="2025-07-01", client=client, dry_run=True,
        )  # fmt: skip
    assert sandbox.count() == 0
    assert [w.key for w in plan.windows] == [f"2025-{m:02d}" for m in range(1, 7)]
    assert plan.requests == 6
    assert plan.pacing_seconds == pytest.approx(3 * 3600 / 3)
    assert "6 export request(s)" in plan.describe()
    assert "60 min" in plan.describe()
    assert plan.to_frame()["done"].tolist() == [False] * 6
    assert not fsspec.filesystem("memory").exists(memory_path)


def test_another_query_at_the_same_path_is_refused_unless_overwrite(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    where = "ootb_activity_timestamp >= '2025-12-01' and ootb_activity_timestamp < '2026-01-01'"
    with sandbox.client() as client:
        bs.export_dataset("activity", COLUMNS, str(tmp_path), where=where, split_by=SPLIT,
                          client=client)  # fmt: skip
        with pytest.raises(bs.DatasetError, match=r"different query.*overwrite=True"):
            bs.export_dataset("activity", COLUMNS[:3], str(tmp_path), where=where,
                              split_by=SPLIT, client=client)  # fmt: skip
        sent = sandbox.count(endpoint="export")
        bs.export_dataset("activity", COLUMNS[:3], str(tmp_path), where=where, split_by=SPLIT,
                          client=client, overwrite=True)  # fmt: skip
        assert sandbox.count(endpoint="export") == sent + 1
    assert list(bs.read_dataset(str(tmp_path)).columns) == COLUMNS[:3]


def test_files_carry_types_and_provenance_but_no_credential(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    where = "ootb_activity_timestamp >= '2025-12-01' and ootb_activity_timestamp < '2026-01-01'"
    with sandbox.client() as client:
        bs.export_dataset("activity", COLUMNS, str(tmp_path), where=where, split_by=SPLIT,
                          client=client)  # fmt: skip
        token = client._token
    file = tmp_path / "month=2025-12" / "part-0.parquet"
    schema = pq.read_schema(file)
    meta = json.loads(schema.metadata[b"bspandas"])
    assert meta["object"] == "activity"
    assert meta["host"] == sandbox.base_url
    assert meta["window"]["key"] == "2025-12"
    assert meta["payload"]["filter"]["clause"] == {"$gte": 1764547200000, "$lt": 1767225600000}
    assert str(schema.field("ootb_activity_timestamp").type) == "timestamp[ms, tz=UTC]"
    assert str(schema.field("ootb_activity_duration").type) == "duration[s]"
    assert str(schema.field("ootb_activity_external").type) == "bool"
    assert str(schema.field("ootb_activity_type").type) == "string"
    with sandbox.client() as client:  # the storage types do not depend on the dtype backend
        bs.export_dataset("activity", COLUMNS, str(tmp_path / "arrow"), where=where,
                          split_by=SPLIT, client=client, dtype_backend="pyarrow")  # fmt: skip
    arrow_schema = pq.read_schema(tmp_path / "arrow" / "month=2025-12" / "part-0.parquet")
    assert arrow_schema.types == schema.types
    assert token is not None
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert sandbox.client_secret.encode() not in data, path
            assert token.encode() not in data, path


def test_where_is_pushed_down_and_applied_exactly(sandbox: Sandbox, tmp_path: Path) -> None:
    with sandbox.client() as client:
        bs.export_dataset("activity", COLUMNS, str(tmp_path), where=HALF_YEAR, split_by=SPLIT,
                          client=client)  # fmt: skip
        reference = bs.read_query("activity", COLUMNS, where=HALF_YEAR, client=client)
    where = (
        "ootb_activity_timestamp >= '2025-10-15' and ootb_activity_external == True "
        "and ootb_activity_type in ['email', 'call']"
    )
    node = parse_filter(where, "activity")
    assert _expression(node) is not None
    frame = bs.read_dataset(str(tmp_path), ["ootb_activity_uid", "ootb_activity_type"],
                            where=where)  # fmt: skip
    stamps = reference["ootb_activity_timestamp"]
    expected = reference.loc[
        (stamps >= pd.Timestamp("2025-10-15", tz="UTC")).to_numpy()
        & reference["ootb_activity_external"].fillna(False).to_numpy()
        & reference["ootb_activity_type"].isin(["email", "call"]).to_numpy(),
        ["ootb_activity_uid", "ootb_activity_type"],
    ]
    assert 0 < len(frame) < len(reference)
    _same(frame, expected)
    assert frame.attrs["backstory"]["where"] is not None
    with pytest.raises(bs.QueryError, match="not in the dataset"):
        bs.read_dataset(str(tmp_path), ["ootb_activity_owner"])


def test_reading_a_missing_dataset_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(bs.DatasetError, match="export_dataset"):
        bs.read_dataset(str(tmp_path / "nothing"))


def test_one_file_without_split_keeps_dates_lists_money_and_stages(
    sandbox: Sandbox, memory_path: str
) -> None:
    columns = [
        "ootb_opportunity_crm_id", "ootb_opportunity_name", "ootb_opportunity_owners",
        "ootb_opportunity_close_date", "ootb_opportunity_amount",
        "ootb_opportunity_current_stage", "ootb_last_meaningful_activity_date",
    ]  # fmt: skip
    with sandbox.client() as client:
        plan = bs.export_dataset("opportunity", columns, memory_path, client=client,
                                 chunksize=300)  # fmt: skip
        reference = bs.read_query("opportunity", columns, client=client)
    assert [r.window.key for r in plan.results] == ["all"]
    assert plan.results[0].rows == len(reference)
    frame = bs.read_dataset(memory_path)
    assert list(frame.columns) == list(reference.columns)
    assert (frame.dtypes == reference.dtypes).all()
    pd.testing.assert_frame_equal(frame, reference, check_categorical=False)
    assert reference["ootb_last_meaningful_activity_date"].isna().any()
    assert str(frame["ootb_opportunity_owners"].dtype) == "list<item: string>[pyarrow]"
    with fsspec.open(f"{memory_path}/part-0.parquet", "rb") as handle:
        schema = pq.read_schema(handle)
    # dates are stored as read_query types them: UTC timestamps in both backends
    assert str(schema.field("ootb_opportunity_close_date").type) == "timestamp[ms, tz=UTC]"


def test_a_half_written_file_left_by_a_kill_is_removed_and_progress_is_shown(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = "ootb_activity_timestamp >= '2025-12-01' and ootb_activity_timestamp < '2026-01-01'"
    stale = tmp_path / "month=2025-12" / ".part-0.parquet.0123abcd.inprogress"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"PAR1 half a file")
    with sandbox.client() as client:
        plan = bs.export_dataset("activity", COLUMNS, str(tmp_path), where=where,
                                 split_by=SPLIT, client=client, progress=True)  # fmt: skip
    assert not stale.exists()
    err = capsys.readouterr().err
    assert "1 of 1 windows to export" in err
    assert f"month=2025-12: {plan.results[0].rows:,} rows" in err


def test_missing_values_match_ne_and_nin_when_pushed_down(sandbox: Sandbox, tmp_path: Path) -> None:
    where = "ootb_activity_timestamp >= '2025-12-01' and ootb_activity_timestamp < '2026-01-01'"
    with sandbox.client() as client:
        bs.export_dataset("activity", COLUMNS, str(tmp_path), where=where, split_by=SPLIT,
                          client=client)  # fmt: skip
        reference = bs.read_query("activity", COLUMNS, where=where, client=client)
    ids = reference["ootb_activity_opportunity_id"]
    some = int(ids.dropna().iloc[0])
    assert ids.isna().any()
    for text in (
        f"ootb_activity_opportunity_id != {some}",
        f"ootb_activity_opportunity_id not in [{some}]",
        f"ootb_activity_opportunity_id == {some}",
        "ootb_activity_type != 'email'",
    ):
        frame = bs.read_dataset(str(tmp_path), where=text)
        # the oracle is plain pandas: DataFrame.query's rules for missing values
        _same(frame, reference.query(text))
