"""df.backstory.fetch: more columns for the rows a frame already has, through the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas._http.client import Client
from bspandas.frame.enrich import plan_fetch
from bspandas.sandbox import Sandbox

BASE = ["ootb_account_crm_id", "ootb_account_name"]
MORE = [
    "annual_revenue",
    ("ootb_meetings_held", ["last_30_days", "this_fyear"]),
    "ootb_account_original_owner",
]


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client() as c:
        yield c


def test_fetch_matches_a_single_read(sandbox: Sandbox, client: Client) -> None:
    everything = bs.read_query("account", BASE + MORE, client=client)
    base = bs.read_query("account", BASE, client=client).sample(frac=1, random_state=3)
    exports = sandbox.count(endpoint="export")
    enriched = base.backstory.fetch(MORE, client=client, chunksize=70)
    assert sandbox.count(endpoint="export") - exports == -(-len(base) // 70)
    assert list(enriched.index) == list(base.index)  # row order and index kept
    expected = everything.set_index("ootb_account_crm_id").loc[enriched["ootb_account_crm_id"]]
    pd.testing.assert_frame_equal(
        enriched.drop(columns=BASE).reset_index(drop=True),
        expected.drop(columns="ootb_account_name").reset_index(drop=True),
    )
    assert enriched.attrs["backstory"]["fetched_columns"][0] == "annual_revenue"


def test_rows_the_server_does_not_return_are_reported(client: Client) -> None:
    base = bs.read_query("account", BASE, client=client).head(3)
    ghost = pd.DataFrame({"ootb_account_crm_id": pd.array(["001GHOST0000000"], dtype="string"),
                          "ootb_account_name": pd.array(["Gone Ltd"], dtype="string")})  # fmt: skip
    frame = pd.concat([base, ghost], ignore_index=True)
    with pytest.warns(bs.MissingRowsWarning, match="no row for 1 of the frame's ids"):
        enriched = frame.backstory.fetch(["annual_revenue"], client=client)
    assert enriched["annual_revenue"].isna().tolist() == [False, False, False, True]
    assert str(enriched["annual_revenue"].dtype) == "Float64"


def test_fetch_on_a_frame_without_attrs_or_rows(client: Client) -> None:
    empty = pd.DataFrame({"ootb_account_crm_id": pd.array([], dtype="string")})
    enriched = empty.backstory.fetch(["ootb_churn_risk_score"], client=client)
    assert list(enriched.columns) == ["ootb_account_crm_id", "ootb_churn_risk_score"]
    assert str(enriched["ootb_churn_risk_score"].dtype) == "Float64"


def test_plan_shows_the_chunks() -> None:
    frame = pd.DataFrame({"ootb_account_crm_id": [f"001{i:012d}" for i in range(5)]})
    plan = plan_fetch(frame, "account", ["industry"], chunksize=2)
    assert plan["key"] == "ootb_account_crm_id"
    assert [len(p["filter"]["clause"]["$in"]) for p in plan["payloads"]] == [2, 2, 1]
    assert plan["payloads"][0]["columns"] == [{"slug": "ootb_account_crm_id"}, {"slug": "industry"}]


@pytest.mark.parametrize(
    ("frame", "columns", "message"),
    [
        (pd.DataFrame({"ootb_account_name": ["a"]}), ["industry"], "row id"),
        (
            pd.DataFrame({"ootb_account_crm_id": ["a"], "industry": ["x"]}),
            ["industry"],
            "already in the frame",
        ),
        (
            pd.DataFrame({"ootb_account_crm_id": ["a"]}),
            ["ootb_account_crm_id"],
            "besides the row id",
        ),
    ],
)
def test_bad_fetches(frame: pd.DataFrame, columns: list[str], message: str) -> None:
    with pytest.raises(bs.InvalidColumnsError, match=message):
        frame.backstory.as_object("account").fetch(columns, chunksize=10)


def test_fetch_refuses_a_client_of_another_host(
    sandbox: Sandbox, client: Client, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = bs.read_query("account", BASE, client=client).head(5)
    other = sandbox_factory(accounts=10, users=3)  # another tenant on another port
    with other.client() as stranger:
        with pytest.raises(bs.QueryError, match=r"was read from .* but the client talks to"):
            base.backstory.fetch(["annual_revenue"], client=stranger)
        monkeypatch.setattr("bspandas.frame.enrich.default_client", lambda: stranger)
        with pytest.raises(bs.QueryError, match="another tenant"):
            base.backstory.fetch(["annual_revenue"])  # the default client is checked too
    assert other.count(endpoint="export") == 0
    monkeypatch.setattr("bspandas.frame.enrich.default_client", lambda: client)
    assert base.backstory.fetch(["annual_revenue"])["annual_revenue"].notna().all()


def test_fetched_chunks_share_one_categorical_dtype(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=12, users=3)
    rows = sb.engine.rows("account")
    values = ["rising fast", "stable", *(["declining", "stable", None] * rows)][:rows]
    values[-1] = "plateau"  # another value outside the catalog, in another chunk
    sb.override("account", "ootb_engagement_trend", values)
    with sb.client() as c:
        whole = bs.read_query("account", [*BASE, "ootb_engagement_trend"], client=c, validate=False)
        base = bs.read_query("account", BASE, client=c)
        enriched = base.backstory.fetch(
            ["ootb_engagement_trend"], client=c, chunksize=4, validate=False
        )
    got, want = enriched["ootb_engagement_trend"].dtype, whole["ootb_engagement_trend"].dtype
    assert isinstance(got, pd.CategoricalDtype)
    assert list(got.categories) == list(want.categories)
    assert list(got.categories) == ["increasing", "stable", "declining", "plateau", "rising fast"]
    by_id = whole.set_index("ootb_account_crm_id")["ootb_engagement_trend"]
    pd.testing.assert_series_equal(
        enriched["ootb_engagement_trend"],
        by_id.loc[enriched["ootb_account_crm_id"]].reset_index(drop=True),
        check_names=False,
        check_index=False,
    )


def test_plan_and_fetch_take_object_and_the_old_obj_spelling_warns() -> None:
    frame = pd.DataFrame({"ootb_account_crm_id": ["001A", "001B", "001C"]})
    new = plan_fetch(frame, object="account", columns=["industry"], chunksize=2)
    assert new["key"] == "ootb_account_crm_id"
    assert [p["filter"]["clause"]["$in"] for p in new["payloads"]] == [["001A", "001B"], ["001C"]]
    with pytest.warns(FutureWarning, match=r"plan_fetch\(obj=...\).*use object=") as record:
        old = plan_fetch(frame, obj="account", columns=["industry"], chunksize=2)
    assert old == new
    assert record[0].filename == __file__
    with pytest.raises(TypeError, match="got both obj= and object="):
        bs.frame.fetch_columns(frame, columns=["industry"], obj="account", object="account")
