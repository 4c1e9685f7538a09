"""Money is summed in one currency; people are grouped by id and labelled by name.

Checked on hand-made frames with several currencies and missing values, and on the sandbox
tenant (deals in USD, EUR, GBP and JPY, two users named Kenji Kim) against plain pandas over
the tenant's own raw tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import bspandas as bs
from bspandas import frame as reshape
from bspandas import plots
from bspandas._io.dtypes import Backend
from bspandas.sandbox import Sandbox

BACKENDS: tuple[Backend, ...] = ("numpy_nullable", "pyarrow")


def deals(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    """Six opportunities of three accounts in three currencies (one amount missing)."""
    text = "string[pyarrow]" if backend == "pyarrow" else "string"
    money = "double[pyarrow]" if backend == "pyarrow" else "Float64"
    flag = "bool[pyarrow]" if backend == "pyarrow" else "boolean"
    return pd.DataFrame(
        {
            "crm_account_id": pd.array(["A", "A", "B", "B", "C", None], dtype=text),
            "ootb_opportunity_amount": pd.array(
                [100.0, 200.0, 10_000.0, None, 50.0, 7.0], dtype=money
            ),
            "ootb_opportunity_amount_currency": pd.array(
                ["EUR", "USD", "JPY", "EUR", "EUR", "USD"], dtype=text
            ),
            "ootb_opportunity_stage": ["Proposal", "Closed Won", "Negotiation"] * 2,
            "ootb_opportunity_is_closed": pd.array(
                [False, True, False, False, False, False], dtype=flag
            ),
        }
    )


# -- choosing the amount ---------------------------------------------------------------------


def test_mixed_currencies_raise_naming_them_and_the_ways_out() -> None:
    with pytest.raises(bs.MixedCurrencyError) as caught:
        reshape.aggregate_opportunities(deals(), "crm_account_id")
    message = str(caught.value)
    assert "EUR (2 rows), USD (2 rows), JPY (1 rows)" in message
    assert "ootb_opportunity_converted_amount" in message
    assert "currency='EUR'" in message
    assert "by_currency=True" in message
    assert caught.value.currencies == ["EUR", "USD", "JPY"]
    assert isinstance(caught.value, bs.InvalidColumnsError)
    accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A", "B"], dtype="string")})
    with pytest.raises(bs.MixedCurrencyError):
        accounts.backstory.join_opportunities(deals(), aggregate=True, orphans="ignore")
    with pytest.raises(bs.MixedCurrencyError, match="JPY"):
        plots.pipeline_by_stage(deals(), stage="ootb_opportunity_stage")


def test_one_currency_is_summed_and_named() -> None:
    one = deals()[deals()["ootb_opportunity_amount_currency"] == "EUR"]
    rolled = reshape.aggregate_opportunities(one, "crm_account_id")
    assert rolled["pipeline_total"].to_dict() == {"A": 100.0, "B": 0.0, "C": 50.0}
    assert rolled.attrs["backstory"]["money"] == {
        "amount": "ootb_opportunity_amount",
        "currency": "EUR",
        "columns": dict.fromkeys(
            ["pipeline_total", "open_value", "won_value", "lost_value", "weighted_pipeline"], "EUR"
        ),
    }


def test_an_amount_without_its_currency_column_is_not_guessed() -> None:
    bare = deals().drop(columns="ootb_opportunity_amount_currency")
    with pytest.raises(bs.InvalidColumnsError, match="Cannot tell the currency"):
        reshape.aggregate_opportunities(bare, "crm_account_id")
    said = reshape.aggregate_opportunities(bare, "crm_account_id", currency="USD")
    assert said.attrs["backstory"]["money"]["currency"] == "USD"
    assert said.loc["A", "pipeline_total"] == 300.0  # the caller said they are all USD


@pytest.mark.parametrize("backend", BACKENDS)
def test_converted_amount_wins_over_mixed_amounts(backend: Backend) -> None:
    frame = deals(backend)
    converted = pd.array([108.0, 200.0, 67.0, None, 54.0, 7.0], dtype=frame.dtypes.iloc[1])
    frame["ootb_opportunity_converted_amount"] = converted
    assert reshape.money_column(frame) == reshape.Money(
        "ootb_opportunity_converted_amount", reshape.CORPORATE
    )
    rolled = reshape.aggregate_opportunities(frame, "crm_account_id")
    expected = (
        pd.DataFrame(
            {"k": frame["crm_account_id"], "v": frame["ootb_opportunity_converted_amount"]}
        )
        .dropna(subset=["k"])
        .groupby("k")["v"]
        .sum()
    )
    assert rolled["pipeline_total"].astype(float).to_dict() == expected.astype(float).to_dict()
    assert rolled.attrs["backstory"]["money"]["currency"] == "corporate"
    ax = plots.pipeline_by_stage(frame, stage="ootb_opportunity_stage")
    assert ax.get_ylabel() == "Amount (corporate currency)"
    plots.close(ax)


@pytest.mark.parametrize("backend", BACKENDS)
def test_currency_keeps_the_deals_in_that_currency(backend: Backend) -> None:
    frame = deals(backend)
    rolled = reshape.aggregate_opportunities(frame, "crm_account_id", currency="EUR")
    eur = frame[frame["ootb_opportunity_amount_currency"] == "EUR"]
    assert rolled["opportunity_count"].to_dict() == {"A": 1, "B": 1, "C": 1}
    expected = eur.groupby("crm_account_id")["ootb_opportunity_amount"].sum()
    assert rolled["pipeline_total"].astype(float).to_dict() == expected.astype(float).to_dict()
    assert rolled.attrs["backstory"]["money"]["currency"] == "EUR"
    accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A", "B", "D"], dtype="string")})
    joined = accounts.backstory.join_opportunities(
        frame, aggregate=True, orphans="ignore", currency="EUR"
    )
    assert joined["open_value"].astype(float).tolist() == [100.0, 0.0, 0.0]
    assert joined.attrs["backstory"]["money"]["currency"] == "EUR"
    assert joined.attrs["backstory"]["join"]["orphans"] == 1  # C's EUR deal
    ax = plots.pipeline_by_stage(frame, stage="ootb_opportunity_stage", currency="JPY")
    assert [p.get_height() for p in ax.patches] == [10_000.0]
    assert ax.get_ylabel() == "Amount (JPY)"
    plots.close(ax)


@pytest.mark.parametrize("backend", BACKENDS)
def test_by_currency_gives_one_column_per_currency(backend: Backend) -> None:
    frame = deals(backend)
    rolled = reshape.aggregate_opportunities(frame, "crm_account_id", by_currency=True)
    assert rolled.columns.tolist()[:4] == [
        "opportunity_count",
        "pipeline_total_EUR",
        "pipeline_total_JPY",
        "pipeline_total_USD",
    ]
    plain = frame.dropna(subset=["crm_account_id"])
    expected = (
        plain.pivot_table(
            index="crm_account_id",
            columns="ootb_opportunity_amount_currency",
            values="ootb_opportunity_amount",
            aggfunc="sum",
            fill_value=0,
            observed=True,
        )
        .astype(float)
        .reindex(columns=["EUR", "JPY", "USD"], fill_value=0.0)
    )
    for code in ("EUR", "JPY", "USD"):
        got = rolled[f"pipeline_total_{code}"].astype(float)
        assert got.to_dict() == expected[code].reindex(got.index, fill_value=0.0).to_dict()
    assert rolled["opportunity_count"].tolist() == [2, 2, 1]
    assert rolled.attrs["backstory"]["money"]["columns"]["open_value_JPY"] == "JPY"
    with pytest.raises(bs.InvalidColumnsError, match="not both"):
        reshape.aggregate_opportunities(frame, "crm_account_id", by_currency=True, currency="EUR")
    lost = frame.assign(
        ootb_opportunity_amount_currency=frame["ootb_opportunity_amount_currency"].where(
            frame.index != 0
        )
    )
    with pytest.raises(bs.InvalidColumnsError, match="no currency code"):
        reshape.aggregate_opportunities(lost, "crm_account_id", by_currency=True)


def test_a_missing_code_beside_a_currency_counts_as_another_currency() -> None:
    frame = deals()
    frame = frame[frame["ootb_opportunity_amount_currency"] == "EUR"].copy()
    frame.loc[frame.index[0], "ootb_opportunity_amount_currency"] = None
    with pytest.raises(bs.MixedCurrencyError, match=r"no currency code \(1 rows\)"):
        reshape.money_column(frame)


# -- people ----------------------------------------------------------------------------------


def test_person_labels_tell_namesakes_apart() -> None:
    owners = pd.DataFrame(
        {
            "ootb_opportunity_owner_id": pd.array(
                [3100000021723, 3100000033579, 3100000021723, 77, None, 9991723], dtype="Int64"
            ),
            "ootb_opportunity_owner_name": pd.array(
                ["Kenji Kim", "Kenji Kim", "Kenji Kim", "Ana", None, "Ana"], dtype="string"
            ),
        }
    )
    labels = reshape.person_labels(owners)
    assert labels.to_dict() == {
        3100000021723: "Kenji Kim (…1723)",
        3100000033579: "Kenji Kim (…3579)",
        77: "Ana (…77)",
        9991723: "Ana (…1723)",
    }
    # the same last four digits: more digits until they differ
    twins = pd.DataFrame(
        {"owner_id": [1001723, 2001723], "owner_name": ["Bo", "Bo"]},
    )
    assert reshape.person_labels(twins, "owner").tolist() == ["Bo (…1001723)", "Bo (…2001723)"]
    with pytest.raises(bs.InvalidColumnsError, match="names are not unique"):
        reshape.person_labels(owners[["ootb_opportunity_owner_name"]])


# -- on the sandbox tenant -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant() -> Iterator[Sandbox]:
    with bs.sandbox.serve(seed=7, accounts=400) as sb:
        yield sb


def test_tenant_rollups_equal_plain_pandas_on_the_raw_tables(tenant: Sandbox) -> None:
    with tenant.client() as client:
        opps = bs.read_query(
            "opportunity",
            [
                "ootb_opportunity_crm_id",
                "ootb_opportunity_amount",
                "ootb_opportunity_converted_amount",
                "ootb_opportunity_owner",
                "ootb_opportunity_current_stage",
                "ootb_opportunity_is_closed",
                "ootb_opportunity_is_won",
            ],
            client=client,
            progress=False,
        )
    raw = tenant.tenant.opportunities
    assert set(raw["currency"].astype(str)) == {"USD", "EUR", "GBP", "JPY"}
    with pytest.raises(bs.MixedCurrencyError, match="GBP"):
        reshape.aggregate_opportunities(
            opps.drop(columns="ootb_opportunity_converted_amount"), "ootb_opportunity_owner_id"
        )
    rolled = reshape.aggregate_opportunities(opps, "ootb_opportunity_owner_id")
    expected = raw.groupby("owner_id")["converted_amount"].sum()
    got = rolled["pipeline_total"].astype(float)
    assert set(got.index) == set(expected.index)
    for owner, amount in expected.items():
        assert got[owner] == pytest.approx(amount, rel=1e-12)
    by_currency = reshape.aggregate_opportunities(
        opps, "ootb_opportunity_owner_id", by_currency=True
    )
    per_currency = raw.pivot_table(
        index="owner_id", columns="currency", values="amount", aggfunc="sum", observed=False
    ).fillna(0.0)
    for code in ("USD", "EUR", "GBP", "JPY"):
        column = by_currency[f"pipeline_total_{code}"].astype(float)
        for owner, amount in per_currency[code].items():
            assert column.get(owner, 0.0) == pytest.approx(amount, rel=1e-12, abs=1e-6)
    labels = reshape.person_labels(opps)
    names = tenant.tenant.users.set_index("internal_id")["name"]
    kenjis = names[names == "Kenji Kim"].index.tolist()
    assert len(kenjis) == 2
    assert sorted(labels[k] for k in kenjis) == sorted(
        f"Kenji Kim (…{str(k)[-4:]})" for k in kenjis
    )
    unique = names[~names.duplicated(keep=False)]
    assert all(labels[i] == unique[i] for i in unique.index if i in labels.index)


def test_tenant_chart_by_owner_stacks_ids_labelled_by_name(tenant: Sandbox) -> None:
    with tenant.client() as client:
        opps = bs.read_query(
            "opportunity",
            [
                "ootb_opportunity_converted_amount",
                "ootb_opportunity_owner",
                "ootb_opportunity_current_stage",
            ],
            client=client,
            progress=False,
        )
    ax = plots.pipeline_by_stage(opps, by="ootb_opportunity_owner_name")
    drawn: dict[str, float] = {}
    for container in ax.containers:
        drawn[str(container.get_label())] = sum(float(p.get_height()) for p in container.patches)
    plots.close(ax)
    raw = tenant.tenant.opportunities
    names = tenant.tenant.users.set_index("internal_id")["name"]
    expected = raw.groupby("owner_id")["converted_amount"].sum()
    assert len(drawn) == len(expected)  # one series per person, namesakes apart
    kenjis: Any = names[names == "Kenji Kim"].index
    for owner in kenjis:
        label = f"Kenji Kim (…{str(owner)[-4:]})"
        assert drawn[label] == pytest.approx(expected[owner], rel=1e-9)
    assert sum(drawn.values()) == pytest.approx(float(np.sum(raw["converted_amount"])), rel=1e-9)


# -- what the docs promise -------------------------------------------------------------------


def test_the_default_join_is_one_row_per_account_and_opportunity_pair() -> None:
    accounts = pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(["A", "B", "C", "D"], dtype="string"),
            "ootb_account_name": pd.array(["Acme", "Bolt", "Cask", "Dune"], dtype="string"),
        }
    )
    frame = deals()
    joined = accounts.backstory.join_opportunities(frame, orphans="ignore")
    # plain pandas: each opportunity of a known account once, accounts without any once
    pairs = accounts.merge(frame, left_on="ootb_account_crm_id", right_on="crm_account_id")
    lonely = accounts[~accounts["ootb_account_crm_id"].isin(frame["crm_account_id"].dropna())]
    assert len(joined) == len(pairs) + len(lonely) == 6
    assert joined["ootb_account_crm_id"].value_counts().to_dict() == {
        "A": 2,
        "B": 2,
        "C": 1,
        "D": 1,
    }
    assert joined["crm_account_id"].isna().sum() == 1  # D, with empty opportunity columns
    with pytest.raises(bs.InvalidColumnsError, match="aggregate=True"):
        accounts.backstory.join_opportunities(frame, orphans="ignore", currency="EUR")


def test_the_catalog_says_where_each_opportunity_amount_currency_is() -> None:
    amount = bs.catalog.get("ootb_opportunity_amount")
    assert amount.currency == "_currency"
    assert amount.currency in [p.suffix for p in amount.parts]
    assert bs.catalog.get("ootb_opportunity_converted_amount").currency == reshape.CORPORATE
    assert bs.catalog.get("ootb_opportunity_name").currency is None


def test_the_money_record_describes_the_rollup_only() -> None:
    accounts = pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(["A", "B"], dtype="string"),
            "ootb_emails_sent_last_7_days": pd.array([3, 1], dtype="Int64"),
        }
    )
    one = deals()[deals()["ootb_opportunity_amount_currency"] == "EUR"]
    rolled = accounts.backstory.join_opportunities(one, aggregate=True, orphans="ignore")
    assert rolled.attrs["backstory"]["money"]["currency"] == "EUR"
    wide = rolled.backstory.pivot_variations("ootb_emails_sent")
    assert "money" not in wide.attrs["backstory"]  # a later frame is not that roll-up
