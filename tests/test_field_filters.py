"""Filters in the field (issue 14): never a silently unfiltered frame, never two leaves on one
attribute in one ``$and``, against the sandbox in its default (field) mode.

Each test cites the line of ``shared/spec/query-api.md`` it holds. Expected rows come from
plain pandas on the sandbox's raw tenant tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas.query.builder import Query
from bspandas.sandbox import Sandbox
from bspandas.sandbox.testing import read_csv_rows, session_for

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client(retry=FAST) as c:
        yield c


def _leaves(node: Any) -> list[dict[str, Any]]:
    if "attribute" in node:
        return [node]
    return [leaf for child in next(iter(node.values())) for leaf in _leaves(child)]


def _and_groups(node: Any) -> Iterator[list[dict[str, Any]]]:
    """The leaf children of every ``$and`` in a payload filter."""
    if "attribute" in node:
        return
    key, children = next(iter(node.items()))
    if key == "$and":
        yield [c for c in children if "attribute" in c]
    for child in children:
        yield from _and_groups(child)


def _no_two_leaves(payload: dict[str, Any]) -> None:
    for group in _and_groups(payload.get("filter", {"$or": []})):
        keys = [(c["attribute"]["slug"], c["attribute"].get("variation_id")) for c in group]
        assert len(keys) == len(set(keys)), f"two leaves on one attribute: {keys}"


# -- the sandbox, by default, is the field ----------------------------------------------------


def test_sandbox_ignores_a_filter_on_an_unknown_slug_silently(sandbox: Sandbox) -> None:
    # spec §3: unknown slugs are dropped silently; §2: an ignored filter answers 200, unfiltered
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    query = {
        "object": "account",
        "columns": [{"slug": "ootb_account_id"}, {"slug": "industry"}],
        "filter": {
            "attribute": {"slug": "industry"},
            "clause": {"$eq": "Retail"},
        },
    }
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, json=query, timeout=30)
    assert answer.status_code == 200
    rows = read_csv_rows(answer.content)
    assert len(rows[0]) == 1  # the industry column is dropped
    assert len(rows) - 1 == len(sandbox.tenant.accounts)  # and every row came back


def test_sandbox_answers_500_to_two_leaves_on_one_attribute_by_default(sandbox: Sandbox) -> None:
    # spec §2: "two $and leaves on the same attribute have crashed the server (500)"
    slug = "ootb_opportunity_converted_amount"
    query = {
        "object": "opportunity",
        "columns": [{"slug": "ootb_opportunity_id"}],
        "filter": {
            "$and": [
                {"attribute": {"slug": slug}, "clause": {"$gte": 10_000}},
                {"attribute": {"slug": slug}, "clause": {"$lt": 50_000}},
            ]
        },
    }
    assert sandbox.faults.two_leaves_500 is True
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, json=query, timeout=30)
    assert answer.status_code == 500


# -- never a silently unfiltered frame ---------------------------------------------------------


def test_filtered_attribute_is_requested_hidden_and_dropped(
    sandbox: Sandbox, client: Client
) -> None:
    accounts = sandbox.tenant.accounts
    industry = str(accounts["industry"].dropna().iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(
            "account", ["ootb_account_crm_id"], where="industry == @industry", client=client
        )
    sent = [c["slug"] for c in frame.attrs["backstory"]["payload"]["columns"]]
    assert sent == ["ootb_account_crm_id", "industry"]
    assert list(frame.columns) == ["ootb_account_crm_id"]
    expected = sorted(accounts.loc[accounts["industry"] == industry, "crm_id"].astype(str))
    assert sorted(frame["ootb_account_crm_id"].astype(str)) == expected


def test_filter_on_a_slug_the_tenant_does_not_know_raises(sandbox: Sandbox, client: Client) -> None:
    # before: the server ignored the filter and every account came back, with no warning
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    with pytest.raises(bs.MissingColumnsError, match="industry") as info:
        bs.read_query(
            "account", ["ootb_account_crm_id"], where="industry == 'Retail'", client=client
        )
    text = str(info.value)
    assert "catalog.probe" in text
    assert "ignored the filter" in text or "ignored" in text
    with pytest.raises(bs.MissingColumnsError, match="industry"):
        bs.read_query(  # on_missing does not turn an unverifiable filter into rows
            "account",
            ["ootb_account_crm_id", "industry"],
            where="industry == 'Retail'",
            client=client,
            on_missing="ignore",
        )


def test_ignored_filter_on_an_unrequested_column_is_caught(
    sandbox: Sandbox, client: Client
) -> None:
    # before: the filtered column was not in the frame, so nothing could tell
    sandbox.set_faults(unfilterable_slugs=frozenset({"industry"}))
    with pytest.raises(bs.IgnoredFilterError, match="industry"):
        bs.read_query(
            "account",
            ["ootb_account_crm_id"],
            where="industry == 'Retail'",
            client=client,
            on_ignored_filter="raise",
        )
    accounts = sandbox.tenant.accounts
    frame = bs.read_query(
        "account",
        ["ootb_account_crm_id"],
        where="industry == 'Retail'",
        client=client,
        on_ignored_filter="apply",
    )
    assert list(frame.columns) == ["ootb_account_crm_id"]
    expected = sorted(accounts.loc[accounts["industry"] == "Retail", "crm_id"].astype(str))
    assert sorted(frame["ootb_account_crm_id"].astype(str)) == expected


# -- never two leaves on one attribute ---------------------------------------------------------


def test_two_contains_send_one_leaf_and_apply_the_other_locally(
    sandbox: Sandbox, client: Client
) -> None:
    accounts = sandbox.tenant.accounts
    names = accounts["name"].astype("string")
    where = "ootb_account_name.str.contains('a') and ootb_account_name.str.contains('e')"
    query = Query("account", ["ootb_account_crm_id"], where=where)
    _no_two_leaves(query.payload())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query("account", ["ootb_account_crm_id"], where=where, client=client)
    assert sandbox.count(endpoint="export", status=500) == 0
    assert list(frame.columns) == ["ootb_account_crm_id"]
    mask = (names.str.contains("a") & names.str.contains("e")).fillna(False).astype(bool)
    assert sorted(frame["ootb_account_crm_id"].astype(str)) == sorted(
        accounts.loc[mask.to_numpy(), "crm_id"].astype(str)
    )


def test_two_periods_on_one_date_send_one_leaf(sandbox: Sandbox, client: Client) -> None:
    close = "ootb_opportunity_close_date"
    where = f"{close}.within('this_fyear') and {close}.within('last_90_days')"
    query = Query("opportunity", ["ootb_opportunity_crm_id"], where=where)
    _no_two_leaves(query.payload())
    both = bs.read_query("opportunity", ["ootb_opportunity_crm_id"], where=where, client=client)
    assert sandbox.count(endpoint="export", status=500) == 0
    first = bs.read_query(
        "opportunity",
        ["ootb_opportunity_crm_id"],
        where=f"{close}.within('this_fyear')",
        client=client,
    )
    second = bs.read_query(
        "opportunity",
        ["ootb_opportunity_crm_id"],
        where=f"{close}.within('last_90_days')",
        client=client,
    )
    expected = set(first["ootb_opportunity_crm_id"]) & set(second["ootb_opportunity_crm_id"])
    assert set(both["ootb_opportunity_crm_id"]) == expected
    assert len(both) == len(expected)


def test_two_equalities_send_one_leaf(sandbox: Sandbox, client: Client) -> None:
    api_filter = {
        "$and": [
            {"attribute": {"slug": "industry"}, "clause": {"$eq": "Retail"}},
            {"attribute": {"slug": "industry"}, "clause": {"$eq": "Media"}},
        ]
    }
    query = Query("account", ["ootb_account_crm_id"], filter=api_filter)
    _no_two_leaves(query.payload())
    frame = bs.read_query("account", ["ootb_account_crm_id"], filter=api_filter, client=client)
    assert sandbox.count(endpoint="export", status=500) == 0
    assert len(frame) == 0  # no account is in two industries (pandas agrees: an empty mask)


def test_ranges_still_merge_into_one_clause() -> None:
    query = Query(
        "opportunity",
        ["ootb_opportunity_crm_id"],
        where="ootb_opportunity_converted_amount >= 10000 "
        "and ootb_opportunity_converted_amount < 5e4",
    )
    leaves = _leaves(query.payload()["filter"])
    assert len(leaves) == 1
    assert leaves[0]["clause"] == {"$gte": 10000, "$lt": 50000.0}
    assert query.local_filter is None


# -- filters in the field's own forms ----------------------------------------------------------

CLOSE = "ootb_opportunity_close_date"
FIELD_WITHIN = {
    "attribute": {"slug": CLOSE, "variation_id": CLOSE + "_0"},
    "clause": {"$within": {"$ref": "time_ranges.this_fyear"}},
}


def test_sandbox_filters_on_the_fields_0_variation(sandbox: Sandbox) -> None:
    # spec Appendix: production bodies filter dates with the "_0" variation and $within
    opps = sandbox.tenant.opportunities
    year = sandbox.tenant.as_of.year  # the sandbox's fiscal year starts in January
    expected = sorted(opps.loc[opps["close_date"].dt.year == year, "crm_id"].astype(str))
    query = {
        "object": "opportunity",
        "columns": [{"slug": "ootb_opportunity_crm_id"}],
        "filter": FIELD_WITHIN,
    }
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, json=query, timeout=30)
    assert answer.status_code == 200
    assert sorted(row[0] for row in read_csv_rows(answer.content)[1:]) == expected


def test_client_accepts_and_sends_the_fields_within_form(sandbox: Sandbox, client: Client) -> None:
    opps = sandbox.tenant.opportunities
    year = sandbox.tenant.as_of.year
    expected = sorted(opps.loc[opps["close_date"].dt.year == year, "crm_id"].astype(str))
    query = Query("opportunity", ["ootb_opportunity_crm_id"], where=f"{CLOSE}.within('this_fyear')")
    assert query.payload()["filter"] == FIELD_WITHIN  # what the field sends
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(
            "opportunity", ["ootb_opportunity_crm_id"], filter=FIELD_WITHIN, client=client
        )
    assert frame.attrs["backstory"]["payload"]["filter"] == FIELD_WITHIN
    assert sorted(frame["ootb_opportunity_crm_id"].astype(str)) == expected


def test_bare_windowed_slug_keeps_the_fields_default_window(
    sandbox: Sandbox, client: Client
) -> None:
    # spec §2: "a windowed slug sent without a variation gets a default window (7 days back,
    # or next 7 days for upcoming-meeting metrics)": warned, not refused
    slug = "ootb_account_count_of_emails_sent"
    with pytest.warns(bs.VariationAdjustedWarning, match="last_7_days") as record:
        frame = bs.read_query(
            "account",
            ["ootb_account_crm_id", (slug, "last_7_days")],
            where=f"{slug} > 0",
            sort=f"-{slug}",
            client=client,
        )
    assert len(record) == 2  # once for the filter, once for the sort
    values = frame[f"{slug}_last_7_days"]
    assert (values > 0).all()
    assert values.tolist() == sorted(values.tolist(), reverse=True)
    with pytest.warns(bs.VariationAdjustedWarning, match="next_7_days"):
        upcoming = Query(
            "account", ["ootb_account_crm_id"], sort="ootb_account_upcoming_meetings_standard"
        )
    assert upcoming.payload()["sort"][0]["attribute"]["variation_id"].endswith("_next_7_days")


def test_a_second_leaf_inside_an_or_is_applied_to_every_row(
    sandbox: Sandbox, client: Client
) -> None:
    # found by the where/DataFrame.query property test: the server gets "name == a or
    # stage == x" (one leaf per attribute); the stage leaf is then true only on the rows the
    # stage branch let through, so the local pass must judge it, not trust it
    accounts = sandbox.tenant.accounts
    name = str(accounts["name"].iloc[0])
    where = (
        "ootb_account_name == @name or "
        "(ootb_account_industry == 'Retail' and ootb_account_industry == 'Media')"
    )
    frame = bs.read_query(
        "account", ["ootb_account_crm_id"], where=where, local_dict={"name": name}, client=client
    )
    expected = accounts.loc[accounts["name"] == name, "crm_id"].astype(str)
    assert sorted(frame["ootb_account_crm_id"].astype(str)) == sorted(expected)
    assert len(expected) >= 1


# -- never a silently unsorted frame -------------------------------------------------------------


def test_a_sort_column_comes_back_hidden_and_the_rows_follow_it(
    sandbox: Sandbox, client: Client
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(
            "account",
            ["ootb_account_crm_id"],
            sort=("ootb_churn_risk_score", "desc"),
            client=client,
        )
    sent = [c["slug"] for c in frame.attrs["backstory"]["payload"]["columns"]]
    assert sent == ["ootb_account_crm_id", "ootb_churn_risk_score"]
    assert list(frame.columns) == ["ootb_account_crm_id"]
    # independent: the tenant's own scores, highest first (missing scores last, as the
    # server answers them); ties may come in any order, so compare the score sequence
    accounts = sandbox.tenant.accounts.set_index("crm_id")
    scores = accounts.loc[frame["ootb_account_crm_id"].astype(str), "churn_risk_score"]
    present = scores.dropna().to_list()
    assert present == sorted(present, reverse=True)


def test_a_sort_on_a_slug_the_tenant_does_not_serve_raises(
    sandbox: Sandbox, client: Client
) -> None:
    # before: the server dropped the column and ignored the sort; the frame came back in
    # the server's own order, with no warning (even under on_missing="warn")
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    for columns in (["ootb_account_crm_id"], ["ootb_account_crm_id", "industry"]):
        with pytest.raises(bs.MissingColumnsError, match="sorts on them") as info:
            bs.read_query("account", columns, sort="industry", client=client, on_missing="warn")
        assert "industry" in str(info.value)
        assert "sort_values" in str(info.value)
