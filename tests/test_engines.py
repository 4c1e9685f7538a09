"""Other engines read an export_dataset dataset as it is: DuckDB, Dask (distributed), Spark."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas.sandbox import Sandbox

COLUMNS = [
    "ootb_activity_uid",
    "ootb_activity_timestamp",
    "ootb_activity_type",
    "ootb_activity_external",
    "ootb_activity_duration",
    "ootb_activity_account",
]
WHERE = "ootb_activity_timestamp >= '2025-09-01' and ootb_activity_timestamp < '2026-01-01'"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A dataset of four monthly windows and the read_query answer for the same rows."""
    path = tmp_path_factory.mktemp("activity")
    with Sandbox(seed=7, accounts=60, users=8) as sb, sb.client() as client:
        bs.export_dataset(
            "activity", COLUMNS, str(path), where=WHERE,
            split_by=("ootb_activity_timestamp", "month"), client=client, chunksize=200,
        )  # fmt: skip
        reference = bs.read_query("activity", COLUMNS, where=WHERE, client=client)
    return path, reference.sort_values("ootb_activity_uid").reset_index(drop=True)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("ootb_activity_uid").reset_index(drop=True)


def test_duckdb_reads_every_row_once_with_the_right_types(
    exported: tuple[Path, pd.DataFrame],
) -> None:
    duckdb = pytest.importorskip("duckdb")
    path, reference = exported
    glob = f"{path}/**/*.parquet"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        types = dict(
            con.execute(
                f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                f"read_parquet('{glob}', hive_partitioning=true))"
            ).fetchall()
        )
        rows = con.execute(
            f"SELECT count(*), count(DISTINCT ootb_activity_uid) FROM "
            f"read_parquet('{glob}', hive_partitioning=true)"
        ).fetchone()
        by_month = dict(
            con.execute(
                f"SELECT month, count(*) FROM read_parquet('{glob}', hive_partitioning=true) "
                "GROUP BY month"
            ).fetchall()
        )
        frame = con.execute(
            f"SELECT ootb_activity_uid, ootb_activity_timestamp, ootb_activity_external, "
            f"ootb_activity_account_id FROM read_parquet('{glob}') ORDER BY ootb_activity_uid"
        ).df()
    assert rows == (len(reference), len(reference))
    assert types["ootb_activity_uid"] == "VARCHAR"
    assert types["ootb_activity_timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ootb_activity_external"] == "BOOLEAN"
    assert types["ootb_activity_account_id"] == "BIGINT"
    assert types["ootb_activity_type"] == "VARCHAR"
    assert types["month"] == "VARCHAR"
    expected = reference["ootb_activity_timestamp"].dt.strftime("%Y-%m").value_counts().to_dict()
    assert by_month == expected
    assert frame["ootb_activity_uid"].tolist() == reference["ootb_activity_uid"].tolist()
    stamps = pd.to_datetime(frame["ootb_activity_timestamp"], utc=True)
    assert (stamps == reference["ootb_activity_timestamp"]).all()
    ids = reference["ootb_activity_account_id"].astype("float64")
    assert frame["ootb_activity_account_id"].astype("float64").equals(ids)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_on_two_workers_reads_the_read_query_rows_and_dtypes(
    exported: tuple[Path, pd.DataFrame], dask_client: Any
) -> None:
    import bspandas.dask

    path, reference = exported
    ddf = bspandas.dask.read_dataset(str(path))
    assert ddf.npartitions == 4  # one per monthly window
    assert (ddf.dtypes == reference.dtypes).all()
    assert len(dask_client.scheduler_info()["workers"]) == 2
    frame = _sorted(ddf.compute())
    assert (frame.dtypes == reference.dtypes).all()
    pd.testing.assert_frame_equal(frame, reference, check_categorical=False)
    assert ddf.backstory.object == "activity"
    validated = ddf.backstory.validate().compute()
    assert len(validated) == len(reference)


# dask's own read_parquet calls reset_index(inplace=True), which pandas 3.1 deprecates
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")
def test_plain_dask_read_parquet_reads_it_as_it_is(
    exported: tuple[Path, pd.DataFrame], dask_client: Any
) -> None:
    import dask.dataframe as dd

    path, reference = exported
    plain = dd.read_parquet(str(path)).compute()
    assert len(plain) == len(reference)
    assert plain["ootb_activity_uid"].is_unique
    assert sorted(plain["month"].astype(str).unique()) == [
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
    ]


def test_dask_validate_fails_on_the_bad_partition(dask_client: Any) -> None:
    import dask.dataframe as dd

    import bspandas.dask  # noqa: F401  (registers ddf.backstory)

    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(["001A", "001B", "001C", "001D"], dtype="string"),
            "ootb_churn_risk_score": pd.array([10.0, 20.0, 30.0, 150.0], dtype="Float64"),
        }
    )
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(bs.SchemaValidationError, match="ootb_churn_risk_score"):
        ddf.backstory.validate().compute()
    assert len(ddf.partitions[0].backstory.validate().compute()) == 2


def test_spark_reads_the_dataset(exported: tuple[Path, pd.DataFrame]) -> None:
    """Runs only where Java and pyspark are installed (pyspark is not a dev dependency)."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java, which is not installed")
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed")
    path, reference = exported
    spark = pyspark_sql.SparkSession.builder.master("local[1]").appName("bspandas").getOrCreate()
    try:
        frame = spark.read.parquet(str(path))
        assert frame.count() == len(reference)
        assert frame.select("ootb_activity_uid").distinct().count() == len(reference)
        assert dict(frame.dtypes)["ootb_activity_timestamp"] == "timestamp"
    finally:
        spark.stop()
