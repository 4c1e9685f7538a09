"""Datasets: defects a new user hit (relative periods, reversed windows, half-written paths)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import bspandas as bs
from bspandas.frame.dataset import MANIFEST
from bspandas.frame.dataset.storage import META_KEY
from bspandas.sandbox import Sandbox, serve

COLUMNS = ["ootb_activity_uid", "ootb_activity_timestamp"]
RANGE = "ootb_activity_timestamp >= '2025-10-01' and ootb_activity_timestamp < '2026-05-01'"
SPLIT = ("ootb_activity_timestamp", "month")


@pytest.fixture(scope="module")
def past() -> Iterator[Sandbox]:
    """A tenant whose clock stands months before this machine's."""
    with serve(seed=5, accounts=30, users=5, as_of="2026-04-15", hourly_budget=0) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def exported(past: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("ds") / "activity")
    with past.client() as client:
        bs.export_dataset("activity", COLUMNS, path, where=RANGE, split_by=SPLIT, client=client)
    return path


@pytest.mark.parametrize("period", ["last_90_days", "this_month", "last_7_days"])
def test_read_dataset_judges_relative_periods_at_the_exports_server_date(
    past: Sandbox, exported: str, period: str
) -> None:
    where = f"ootb_activity_timestamp.within('{period}')"
    with past.client() as client:
        everything = bs.read_query("activity", COLUMNS, where=RANGE, client=client)
        served = bs.read_query("activity", COLUMNS, where=where, client=client)
    frame = bs.read_dataset(exported, where=where)
    assert len(served) > 0
    assert sorted(frame["ootb_activity_uid"]) == sorted(served["ootb_activity_uid"])
    # independently: the rows of the whole range inside the period's window at 2026-04-15
    stamps = everything["ootb_activity_timestamp"]
    as_of = pd.Timestamp("2026-04-15", tz="UTC")
    if period == "this_month":
        inside = (stamps >= pd.Timestamp("2026-04-01", tz="UTC")) & (
            stamps < pd.Timestamp("2026-05-01", tz="UTC")
        )
        assert int(inside.sum()) == len(frame)
    assert frame["ootb_activity_timestamp"].max() <= as_of + pd.Timedelta(days=31)
    assert frame.attrs["backstory"]["server_date"].startswith("2026-04-15")
    manifest = json.loads(Path(exported, MANIFEST).read_text())
    assert all(r["server_date"].startswith("2026-04-15") for r in manifest["windows"].values())


def test_read_dataset_refuses_relative_periods_without_a_recorded_server_date(
    exported: str, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(exported, copy)
    manifest_path = copy / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    for record in manifest["windows"].values():
        record.pop("server_date", None)
        file = copy / record["file"]
        table = pq.read_table(file)
        meta = json.loads(table.schema.metadata[META_KEY])
        meta.pop("server_date", None)
        metadata = {**table.schema.metadata, META_KEY: json.dumps(meta).encode()}
        pq.write_table(table.replace_schema_metadata(metadata), file)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(bs.DatasetError, match="records no server date"):
        bs.read_dataset(str(copy), where="ootb_activity_timestamp.within('last_90_days')")
    absolute = bs.read_dataset(str(copy), where="ootb_activity_timestamp >= '2026-04-01'")
    assert len(absolute) > 0  # explicit dates still work


@pytest.mark.parametrize(
    "bounds",
    [
        {"start": "2026-05-01", "end": "2026-01-01"},
        {"start": "2026-03-01", "end": "2026-03-01"},
        {
            "where": "ootb_activity_timestamp >= '2026-05-01' and "
            "ootb_activity_timestamp < '2026-01-01'"
        },
        {"split_by": ("ootb_activity_timestamp", [("2026-05-01", "2026-01-01")])},
    ],
    ids=["reversed", "empty", "contradictory-where", "reversed-range"],
)
def test_a_reversed_window_is_refused_before_anything_is_written(
    past: Sandbox, tmp_path: Path, bounds: dict[str, object]
) -> None:
    path = tmp_path / "act"
    options = {"split_by": SPLIT, **bounds}
    with past.client() as client:
        with pytest.raises(bs.DatasetError, match="nothing was written"):
            bs.export_dataset("activity", COLUMNS, str(path), client=client, **options)  # type: ignore[arg-type]
        assert not path.exists()
        plan = bs.export_dataset(  # the corrected run on the same path is not blocked
            "activity", COLUMNS, str(path), split_by=SPLIT, start="2026-01-01",
            end="2026-03-01", client=client,
        )  # fmt: skip
    assert [w.key for w in plan.windows] == ["2026-01", "2026-02"]


def test_another_querys_dataset_names_the_cli_flag_too(past: Sandbox, exported: str) -> None:
    with past.client() as client, pytest.raises(bs.DatasetError) as info:
        bs.export_dataset("activity", COLUMNS[:1], exported, split_by=SPLIT, client=client)
    assert "overwrite=True (--overwrite on the command line)" in str(info.value)


def test_read_dataset_on_a_manifest_without_a_finished_window_says_so(
    past: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "act"

    class StopError(Exception):
        pass

    def stop(done: object) -> None:
        raise StopError

    with past.client() as client, pytest.raises(StopError):
        bs.export_dataset(
            "activity", COLUMNS, str(path), split_by=SPLIT, start="2026-01-01",
            end="2026-03-01", client=client, on_window=stop,
        )  # fmt: skip
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["windows"] = {}  # as if killed before the first window landed
    (path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(bs.DatasetError, match="manifest but no finished window") as info:
        bs.read_dataset(str(path))
    assert "no manifest" not in str(info.value)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--split-by", "ootb_activity_timestamp:month"], "--split-by"),
        (["--start", "2026-01-01", "--end", "2026-02-01"], "--start and --end"),
    ],
)
def test_cli_window_flags_without_dataset_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], named: str
) -> None:
    from bspandas.cli import main

    out = tmp_path / "x.csv"
    code = main(["export", "activity", *COLUMNS, "--sandbox", *flags, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{named} only apply with --dataset PATH" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
