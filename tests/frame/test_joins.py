"""Account/opportunity joins: keys, how, orphans, suffixes, dtypes."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bspandas
import bspandas.frame.accessor
from bspandas import catalog
from bspandas import frame as reshape
from bspandas._io.dtypes import Backend
from tests.frame.frames import BACKENDS, join_accounts, no_warnings, opportunities_frame, typed

# -- joins -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_left_join_keeps_every_account_and_counts_orphans(backend: Backend) -> None:
    accounts, opps = join_accounts(backend), opportunities_frame(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # orphans are what how="left" leaves out: no warning
        joined = reshape.join_opportunities(accounts, opps)
    assert joined["ootb_account_name"].tolist() == ["Acme", "Bolt", "Bolt", "Cask", "Dune"]
    assert joined["crm_opportunity_id"].tolist()[:3] == ["006B", "006A", "006C"]
    assert pd.isna(joined["crm_opportunity_id"].iloc[3])
    assert joined.columns.tolist() == [*accounts.columns, *opps.columns]
    for column in accounts.columns:
        assert joined[column].dtype == accounts[column].dtype, column
    for column in opps.columns:
        assert joined[column].dtype == opps[column].dtype, column
    info = joined.attrs["backstory"]["join"]
    assert info == {
        "how": "left",
        "key": "account.crm_id",
        "on": ["ootb_account_crm_id", "crm_account_id"],
        "orphans": 2,
    }
    assert joined.attrs["backstory"]["object"] == "opportunity"


@pytest.mark.parametrize(
    ("how", "rows", "orphans_kept"),
    [("left", 5, 0), ("inner", 4, 0), ("right", 6, 2), ("outer", 7, 2)],
)
def test_how_decides_which_rows_stay(how: reshape.JoinHow, rows: int, orphans_kept: int) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rows are what `how` asked for: no warning
        joined = reshape.join_opportunities(accounts, opps, how=how)
    assert len(joined) == rows
    assert _pairs(joined) == _pairs(plain_merge(accounts, opps, how))
    no_account = joined["ootb_account_crm_id"].isna() & joined["crm_opportunity_id"].notna()
    assert int(no_account.sum()) == orphans_kept


def plain_merge(accounts: pd.DataFrame, opps: pd.DataFrame, how: str) -> pd.DataFrame:
    """The join in plain pandas on raw values (missing keys never match)."""
    left = pd.DataFrame({"acc": accounts["ootb_account_crm_id"].astype(object)})
    right = pd.DataFrame(
        {
            "opp_key": opps["crm_account_id"].astype(object).where(opps["crm_account_id"].notna()),
            "opp": opps["crm_opportunity_id"].astype(object),
        }
    )
    right["opp_key"] = right["opp_key"].fillna("<no account>")  # matches no account
    merged = left.merge(right, left_on="acc", right_on="opp_key", how=how)  # type: ignore[arg-type]
    return merged.rename(columns={"acc": "ootb_account_crm_id", "opp": "crm_opportunity_id"})


def _pairs(frame: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """(account, opportunity) pairs, missing values as None, in a stable order."""
    values = frame[["ootb_account_crm_id", "crm_opportunity_id"]].astype(object)
    pairs = [
        (None if pd.isna(a) else str(a), None if pd.isna(o) else str(o))
        for a, o in values.itertuples(index=False)
    ]
    return sorted(pairs, key=lambda p: (p[0] or "", p[1] or ""))


@pytest.mark.parametrize("how", ["left", "inner", "right", "outer"])
def test_joins_of_a_subset_of_accounts_do_not_warn(how: reshape.JoinHow) -> None:
    # Some accounts and all opportunities (two orphans, one without account id): the usual
    # case. Each join gives exactly plain pandas' rows for its `how`, so nothing is lost or
    # invented and nothing warns.
    accounts, opps = join_accounts().iloc[:2], opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deals = reshape.join_opportunities(accounts, opps, how=how)
        enriched = reshape.join_account(opps, accounts, how=how)
        rolled = reshape.join_opportunities(
            accounts, opps.dropna(subset=["crm_account_id"]), how=how, aggregate=True
        )
    assert _pairs(deals) == _pairs(plain_merge(accounts, opps, how))
    mirrored = {"left": "right", "right": "left"}.get(how, how)
    assert _pairs(enriched) == _pairs(plain_merge(accounts, opps, mirrored))
    orphans = ~opps["crm_account_id"].isin(accounts["ootb_account_crm_id"]).fillna(False)
    assert deals.attrs["backstory"]["join"]["orphans"] == int(orphans.sum()) == 3
    expected_keys = plain_merge(accounts, opps.dropna(subset=["crm_account_id"]), how)
    assert sorted(rolled["ootb_account_crm_id"].astype(str)) == sorted(
        expected_keys["ootb_account_crm_id"].fillna(expected_keys["opp_key"]).unique()
    )


@pytest.mark.parametrize("how", ["right", "outer"])
def test_rollup_that_must_keep_every_opportunity_warns_about_lost_ones(
    how: reshape.JoinHow,
) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with pytest.warns(bspandas.OrphanRowsWarning, match=rf"1 of 6 .*how='{how}' keeps every"):
        rolled = reshape.join_opportunities(accounts, opps, how=how, aggregate=True)
    # the opportunity without account id (006E) is in no row: 5 of the 6 are counted
    assert int(rolled["opportunity_count"].sum()) == int(opps["crm_account_id"].notna().sum())


def test_orphans_can_be_ignored_and_none_means_no_warning() -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reshape.join_opportunities(accounts, opps, orphans="ignore")
        matched = opps[opps["crm_account_id"].isin(["0010000", "0010001"])]
        joined = reshape.join_opportunities(accounts, matched, how="inner")
    assert joined.attrs["backstory"]["join"]["orphans"] == 0


def test_missing_keys_never_match_each_other() -> None:
    accounts = join_accounts()
    accounts.loc[2, "ootb_account_crm_id"] = pd.NA
    accounts.loc[3, "ootb_account_crm_id"] = pd.NA  # two missing keys are not duplicates
    opps = opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps)
    assert joined.attrs["backstory"]["join"]["orphans"] == 3
    cask = joined[joined["ootb_account_name"] == "Cask"]
    assert len(cask) == 1
    assert pd.isna(cask["crm_opportunity_id"].iloc[0])
    assert joined["crm_opportunity_id"].notna().sum() == 3
    with no_warnings():  # orphans go where `how` says
        back = reshape.join_account(opps, accounts)
    assert back.attrs["backstory"]["join"]["orphans"] == 3
    assert back["ootb_account_name"].isna().sum() == 3
    assert back["crm_opportunity_id"].tolist() == opps["crm_opportunity_id"].tolist()


def test_duplicate_account_keys_are_listed() -> None:
    accounts = pd.concat([join_accounts(), join_accounts().iloc[[1, 1, 3]]], ignore_index=True)
    with pytest.raises(bspandas.SchemaValidationError) as info:
        reshape.join_opportunities(accounts, opportunities_frame())
    message = str(info.value)
    assert "2 duplicated key value(s)" in message
    assert "'0010001' (3 rows)" in message
    assert "'0010003' (2 rows)" in message
    cases = info.value.failure_cases
    assert cases is not None
    assert set(cases["failure_case"]) == {"0010001", "0010003"}
    with pytest.raises(bspandas.SchemaValidationError):
        reshape.join_account(opportunities_frame(), accounts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_frames_join_with_their_dtypes(backend: Backend) -> None:
    accounts, opps = join_accounts(backend), opportunities_frame(backend)
    none = reshape.join_opportunities(accounts, opps.iloc[:0])
    assert len(none) == len(accounts)
    assert none["crm_opportunity_id"].isna().all()
    assert (none.dtypes[opps.columns] == opps.dtypes).all()
    with no_warnings():  # orphans go where `how` says
        empty = reshape.join_opportunities(accounts.iloc[:0], opps)
    assert empty.attrs["backstory"]["join"]["orphans"] == 6
    assert len(empty) == 0
    assert (empty.dtypes[accounts.columns] == accounts.dtypes).all()
    rolled = reshape.join_opportunities(accounts, opps.iloc[:0], aggregate=True)
    assert rolled["opportunity_count"].tolist() == [0, 0, 0, 0]


def test_frames_whose_attrs_a_merge_dropped_still_join() -> None:
    accounts = join_accounts()
    accounts.attrs["backstory"] = {"object": "account", "rows": 4}
    extra = pd.DataFrame({"ootb_account_crm_id": accounts["ootb_account_crm_id"], "note": "x"})
    merged = accounts.merge(extra, on="ootb_account_crm_id")
    assert "backstory" not in merged.attrs
    opps = opportunities_frame().merge(pd.DataFrame({"crm_opportunity_id": ["006A"]}), how="left")
    assert "backstory" not in opps.attrs
    joined = reshape.join_opportunities(merged, opps, orphans="ignore")
    assert "note" in joined.columns
    assert len(joined) == 5


def test_fallback_keys_and_the_error_when_none_match() -> None:
    accounts = join_accounts().drop(columns=["ootb_account_crm_id"])
    opps = opportunities_frame().assign(
        crm_account_name=typed("opportunity", "crm_account_name", ["Bolt"] * 6)
    )
    key = reshape.join_key(accounts, opps)
    assert key == reshape.JoinKey("account.name", "ootb_account_name", "crm_account_name")
    joined = reshape.join_opportunities(accounts, opps)
    assert (joined["ootb_account_name"] == "Bolt").sum() == 6
    catalog.register("opportunity_account_internal__c", type="internal_id", object="opportunity")
    with pytest.raises(bspandas.InvalidColumnsError) as info:
        reshape.join_key(accounts[["ootb_account_id"]], opportunities_frame())
    message = str(info.value)
    assert "account.internal_id: ootb_account_id" in message
    assert "account.crm_id: crm_account_id" in message
    assert "on=(account_column, opportunity_column)" in message


def test_explicit_keys_and_same_named_columns_get_meaningful_suffixes() -> None:
    accounts = join_accounts().rename(columns={"ootb_account_crm_id": "account"})
    accounts["stage"] = "account-side"
    opps = opportunities_frame().rename(columns={"crm_account_id": "account"})
    opps["stage"] = "opportunity-side"
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps, on=("account", "account"))
    assert {"account_account", "account_opportunity", "stage_account", "stage_opportunity"} <= set(
        joined.columns
    )
    assert joined["stage_opportunity"].iloc[0] == "opportunity-side"
    assert len(joined) == 5
    with pytest.raises(bspandas.InvalidColumnsError, match="has no column 'nope'"):
        reshape.join_opportunities(accounts, opps, on=("account", "nope"))


def test_key_dtypes_that_differ_still_match_and_keep_their_dtypes() -> None:
    accounts, opps = join_accounts(), opportunities_frame("pyarrow")
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_opportunities(accounts, opps)
    assert joined["crm_opportunity_id"].notna().sum() == 4
    assert joined["ootb_account_crm_id"].dtype == accounts["ootb_account_crm_id"].dtype
    assert joined["crm_account_id"].dtype == opps["crm_account_id"].dtype
    empty = reshape.join_opportunities(accounts, opps.iloc[:0])
    assert empty["crm_opportunity_id"].isna().all()
    assert len(empty) == len(accounts)
    with no_warnings():  # orphans go where `how` says
        reshape.join_account(opps, accounts.iloc[:0], how="inner")


@pytest.mark.parametrize(("how", "rows"), [("left", 6), ("inner", 4), ("right", 4), ("outer", 6)])
def test_join_account_keeps_opportunities(how: reshape.JoinHow, rows: int) -> None:
    accounts, opps = join_accounts(), opportunities_frame()
    with no_warnings():  # orphans go where `how` says
        joined = reshape.join_account(opps, accounts, how=how)
    assert joined.attrs["backstory"]["join"]["orphans"] == 2
    assert len(joined) == rows + (1 if how in ("right", "outer") else 0)
    assert joined.columns.tolist()[: len(opps.columns)] == opps.columns.tolist()
    if how == "left":
        assert joined["crm_opportunity_id"].tolist() == opps["crm_opportunity_id"].tolist()
        assert joined["ootb_account_name"].tolist()[:3] == ["Bolt", "Acme", "Bolt"]
        assert joined["ootb_engagement_trend"].dtype == accounts["ootb_engagement_trend"].dtype


def test_join_rejects_an_unknown_how() -> None:
    with pytest.raises(bspandas.InvalidColumnsError, match="how must be"):
        reshape.join_opportunities(join_accounts(), opportunities_frame(), how="cross")  # type: ignore[arg-type]
