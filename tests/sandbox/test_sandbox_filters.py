"""The filter grammar of the sandbox, checked against independent pandas computations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
import requests

from bspandas.catalog import vocabulary as vocab
from bspandas.sandbox import AS_OF, Sandbox
from bspandas.sandbox.testing import read_csv_rows, session_for

ID_COLUMN = {
    "account": "ootb_account_id",
    "opportunity": "ootb_opportunity_id",
    "user": "ootb_user",
    "activity": "ootb_activity_uid",
}


@pytest.fixture
def http(sandbox: Sandbox) -> Any:
    with session_for(sandbox) as session:
        yield session


def post(http: requests.Session, sb: Sandbox, obj: str, node: Any) -> requests.Response:
    query = {"object": obj, "columns": [{"slug": ID_COLUMN[obj]}], "filter": node}
    return http.post(sb.export_url, json=query, timeout=30)


def matched(http: requests.Session, sb: Sandbox, obj: str, node: Any) -> list[Any]:
    answer = post(http, sb, obj, node)
    assert answer.status_code == 200, answer.text
    cells = [row[0] for row in read_csv_rows(answer.content)[1:]]
    return cells if obj == "activity" else [int(c) for c in cells]


def leaf(slug: str, clause: dict[str, Any], variation: str | None = None) -> dict[str, Any]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


def ids(frame: pd.DataFrame, mask: Any) -> list[int]:
    return [int(x) for x in frame.loc[mask, "internal_id"]]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- operators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "compare"),
    [
        ("$gt", lambda s, v: s > v),
        ("$gte", lambda s, v: s >= v),
        ("$lt", lambda s, v: s < v),
        ("$lte", lambda s, v: s <= v),
        ("$eq", lambda s, v: s == v),
    ],
)
def test_number_comparisons(
    sandbox: Sandbox, http: requests.Session, op: str, compare: Any
) -> None:
    opps = sandbox.tenant.opportunities
    value = float(opps["converted_amount"].median())
    got = matched(
        http, sandbox, "opportunity", leaf("ootb_opportunity_converted_amount", {op: value})
    )
    assert got == ids(opps, compare(opps["converted_amount"], value))
    assert got or op in ("$eq",)


def test_ne_and_nin_match_missing_values(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    score = opps["deal_velocity_score"]
    value = float(score.dropna().iloc[0])
    got = matched(http, sandbox, "opportunity", leaf("ootb_deal_velocity_score", {"$ne": value}))
    assert got == ids(opps, ~(score == value))
    assert set(ids(opps, score.isna())) <= set(got)
    assert score.isna().any()
    kinds = opps["type"]
    got = matched(
        http, sandbox, "opportunity", leaf("ootb_opportunity_type", {"$nin": ["Renewal"]})
    )
    assert got == ids(opps, ~(kinds == "Renewal").fillna(False))
    gt = matched(http, sandbox, "opportunity", leaf("ootb_deal_velocity_score", {"$gt": -1}))
    assert gt == ids(opps, score.notna())  # missing values never satisfy a comparison


def test_in_nin_on_strings(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    wanted = ["Proposal", "Negotiation"]
    node = leaf("ootb_opportunity_current_stage", {"$in": wanted})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, opps["stage"].isin(wanted))
    node = leaf("ootb_opportunity_current_stage", {"$nin": wanted})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, ~opps["stage"].isin(wanted))
    empty = leaf("ootb_opportunity_current_stage", {"$in": []})
    assert matched(http, sandbox, "opportunity", empty) == []


def test_regex_is_an_unanchored_case_sensitive_search(
    sandbox: Sandbox, http: requests.Session
) -> None:
    accounts = sandbox.tenant.accounts
    got = matched(http, sandbox, "account", leaf("ootb_account_name", {"$regex": "^Acme|GmbH$"}))
    assert got == ids(accounts, accounts["name"].str.contains("^Acme|GmbH$", regex=True))
    assert got
    lower = matched(http, sandbox, "account", leaf("ootb_account_name", {"$regex": "acme"}))
    assert lower == ids(accounts, accounts["name"].str.contains("acme", regex=False))


def test_exists_empty_string_and_null(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    kinds = opps["type"]
    slug = "ootb_opportunity_type"
    missing = ids(opps, kinds.isna())
    assert matched(http, sandbox, "opportunity", leaf(slug, {"$exists": False})) == missing
    assert matched(http, sandbox, "opportunity", leaf(slug, {"$eq": None})) == missing
    present = ids(opps, kinds.notna())
    assert matched(http, sandbox, "opportunity", leaf(slug, {"$exists": True})) == present
    assert matched(http, sandbox, "opportunity", leaf(slug, {"$ne": None})) == present
    empty = matched(http, sandbox, "opportunity", leaf(slug, {"$eq": ""}))
    assert empty == ids(opps, (kinds == "").fillna(False))
    assert empty
    assert missing
    assert not set(empty) & set(missing)


def test_booleans_compare_with_json_booleans(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    node = leaf("ootb_opportunity_is_won", {"$eq": True})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, opps["is_won"])
    node = leaf("ootb_opportunity_is_won", {"$ne": True})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, ~opps["is_won"])


def test_several_operators_in_one_clause(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    amount = opps["converted_amount"]
    low, high = float(amount.quantile(0.25)), float(amount.quantile(0.75))
    node = leaf("ootb_opportunity_converted_amount", {"$gte": low, "$lt": high})
    assert matched(http, sandbox, "opportunity", node) == ids(
        opps, (amount >= low) & (amount < high)
    )


def test_nested_logical_nodes(sandbox: Sandbox, http: requests.Session) -> None:
    accounts = sandbox.tenant.accounts
    node = {
        "$or": [
            {"$and": [
                leaf("ootb_account_type", {"$eq": "Customer"}),
                leaf("ootb_churn_risk_score", {"$gte": 60}),
            ]},
            leaf("ootb_account_industry", {"$in": ["Energy", "Retail"]}),
        ]
    }  # fmt: skip
    expected = ((accounts["type"] == "Customer") & (accounts["churn_risk_score"] >= 60)) | accounts[
        "industry"
    ].isin(["Energy", "Retail"])
    assert matched(http, sandbox, "account", node) == ids(accounts, expected)


def test_variation_ids_inside_filters(sandbox: Sandbox, http: requests.Session) -> None:
    t = sandbox.tenant
    acts = t.activities
    slug = "ootb_account_count_of_emails_sent"
    start, end = vocab.window("last_30_days", AS_OF)
    sent = acts[(acts["type"] == "email") & acts["outbound"] & (acts["timestamp"] >= start)
                & (acts["timestamp"] < end)]  # fmt: skip
    counts = sent.groupby("account_id").size().reindex(t.accounts["internal_id"], fill_value=0)
    node = leaf(slug, {"$gte": 2}, f"{slug}_last_30_days")
    expected = [int(i) for i in counts[counts >= 2].index]
    assert matched(http, sandbox, "account", node) == expected
    assert expected
    start7, _ = vocab.window("last_7_days", AS_OF)
    week = sent[sent["timestamp"] >= start7].groupby("account_id").size()
    bare = matched(http, sandbox, "account", leaf(slug, {"$gte": 1}))  # default window: 7 days
    assert bare == [int(i) for i in t.accounts["internal_id"] if week.get(i, 0) >= 1]


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "column", "period"),
    [
        ("ootb_opportunity_close_date", "close_date", "this_quarter"),
        ("ootb_opportunity_close_date", "close_date", "this_fyear"),
        ("ootb_opportunity_created_at", "created_at", "last_90_days"),
        ("ootb_opportunity_close_date", "close_date", "next_30_days"),
        ("ootb_opportunity_created_at", "created_at", "last_quarter"),
    ],
)
def test_within_time_ranges(
    sandbox: Sandbox, http: requests.Session, slug: str, column: str, period: str
) -> None:
    opps = sandbox.tenant.opportunities
    start, end = vocab.window(period, AS_OF, mode="full")
    assert start is not None
    assert end is not None
    node = leaf(slug, {"$within": {"$ref": f"time_ranges.{period}"}})
    expected = ids(opps, (opps[column] >= start) & (opps[column] < end))
    assert matched(http, sandbox, "opportunity", node) == expected
    assert expected


def test_dates_compare_as_epoch_milliseconds(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    node = leaf("ootb_opportunity_close_date", {"$gte": ms(moment)})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, opps["close_date"] >= moment)
    day = opps["close_date"].iloc[0].to_pydatetime()
    node = leaf("ootb_opportunity_close_date", {"$eq": ms(day)})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, opps["close_date"] == day)


def test_durations_compare_in_seconds(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    seconds = (pd.Timestamp(AS_OF) - opps["stage_entered_at"]).dt.total_seconds()
    node = leaf("ootb_opportunity_days_in_stage", {"$gt": 30 * 86_400})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, seconds > 30 * 86_400)


# -- references and lists ----------------------------------------------------------------------


def test_people_references_compare_ids_and_regex_names(
    sandbox: Sandbox, http: requests.Session
) -> None:
    t = sandbox.tenant
    accounts = t.accounts
    owners = [int(x) for x in accounts["owner_id"].unique()[:2]]
    node = leaf("ootb_account_original_owner", {"$in": owners})
    assert matched(http, sandbox, "account", node) == ids(
        accounts, accounts["owner_id"].isin(owners)
    )
    names = t.users.set_index("internal_id")["name"]
    first = names[owners[0]].split()[0]
    node = leaf("ootb_account_original_owner", {"$regex": f"^{first} "})
    owner_names = accounts["owner_id"].map(names)
    expected = ids(accounts, owner_names.str.startswith(first + " "))
    assert matched(http, sandbox, "account", node) == expected
    assert expected
    acts = t.activities
    account = int(accounts["internal_id"].iloc[3])
    node = leaf("ootb_activity_account", {"$eq": account})
    assert matched(http, sandbox, "activity", node) == list(acts.loc[acts["account_id"] == account,
                                                                  "uid"])  # fmt: skip


def test_lists_match_when_any_element_matches(sandbox: Sandbox, http: requests.Session) -> None:
    t = sandbox.tenant
    opps = t.opportunities
    names = t.users.set_index("internal_id")["name"]
    person = int(t.users["internal_id"].iloc[5])
    members = opps[["owner_id", "co_owner_1_id", "co_owner_2_id"]]
    hit = (members == person).any(axis=1)
    node = leaf("ootb_opportunity_owners", {"$eq": names[person]})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, hit)
    node = leaf("ootb_opportunity_owners", {"$ne": names[person]})
    assert matched(http, sandbox, "opportunity", node) == ids(opps, ~hit)


# -- ignored filters -------------------------------------------------------------------------------


def test_owner_filters_on_opportunities_are_ignored(
    sandbox: Sandbox, http: requests.Session
) -> None:
    opps = sandbox.tenant.opportunities
    everything = [int(x) for x in opps["internal_id"]]
    owner = int(opps["owner_id"].iloc[0])
    for slug in ("ootb_opportunity_owner", "ootb_opportunity_original_owner"):
        assert matched(http, sandbox, "opportunity", leaf(slug, {"$eq": owner})) == everything
    won = leaf("ootb_opportunity_is_won", {"$eq": True})
    both = {"$and": [leaf("ootb_opportunity_owner", {"$eq": owner}), won]}
    assert matched(http, sandbox, "opportunity", both) == ids(opps, opps["is_won"])
    either = {"$or": [leaf("ootb_opportunity_owner", {"$eq": owner}), won]}
    assert matched(http, sandbox, "opportunity", either) == ids(opps, opps["is_won"])


def test_unknown_attributes_are_ignored(sandbox: Sandbox, http: requests.Session) -> None:
    accounts = sandbox.tenant.accounts
    everything = [int(x) for x in accounts["internal_id"]]
    assert matched(http, sandbox, "account", leaf("ootb_nothing", {"$eq": "x"})) == everything
    slug = "ootb_account_count_of_emails_sent"
    bad_variation = leaf(slug, {"$gte": 1000}, "last_30_days")
    assert matched(http, sandbox, "account", bad_variation) == everything


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "clause"),
    [
        ("ootb_opportunity_close_date", {"$gte": "2026-01-01"}),
        ("ootb_opportunity_created_at", {"$lt": "2026-01-01T00:00:00Z"}),
        ("ootb_opportunity_close_date", {"$in": [1, "2026-01-01"]}),
        ("ootb_opportunity_close_date", {"$gte": 1.5}),
    ],
)
def test_iso_dates_get_the_datatype_400(
    sandbox: Sandbox, http: requests.Session, slug: str, clause: dict[str, Any]
) -> None:
    answer = post(http, sandbox, "opportunity", leaf(slug, clause))
    assert answer.status_code == 400
    assert "use compatible datatypes such as: int" in answer.json()["message"]


@pytest.mark.parametrize(
    ("slug", "clause", "expected"),
    [
        ("ootb_opportunity_converted_amount", {"$gt": "1000"}, "int, float"),
        ("ootb_opportunity_name", {"$eq": 5}, "str"),
        ("ootb_opportunity_is_won", {"$eq": "true"}, "bool"),
        ("ootb_opportunity_amount", {"$in": ["100"]}, "int, float"),
    ],
)
def test_wrong_value_types_get_400(
    sandbox: Sandbox, http: requests.Session, slug: str, clause: dict[str, Any], expected: str
) -> None:
    answer = post(http, sandbox, "opportunity", leaf(slug, clause))
    assert answer.status_code == 400
    assert answer.json()["message"].endswith(expected)


def test_owner_ids_must_be_integers(sandbox: Sandbox, http: requests.Session) -> None:
    answer = post(http, sandbox, "account", leaf("ootb_account_original_owner", {"$eq": "Jane"}))
    assert answer.status_code == 400
    assert "such as: int" in answer.text


NAME = {"slug": "ootb_account_name"}


@pytest.mark.parametrize(
    "node",
    [
        {"attribute": NAME, "clause": {"$like": "A%"}},
        {"attribute": NAME},
        {"clause": {"$eq": "x"}},
        {"attribute": NAME, "clause": {}},
        {"attribute": NAME, "clause": {"$eq": "x"}, "extra": 1},
        {"attribute": NAME, "clause": "x"},
        {"attribute": {"variation_id": "x"}, "clause": {"$eq": "x"}},
        {"attribute": 5, "clause": {"$eq": "x"}},
        {"$and": {"attribute": NAME, "clause": {"$eq": "x"}}},
        {"$and": []},
        {"$or": [{"attribute": NAME, "clause": {"$eq": "x"}}], "attribute": NAME},
        {"$and": ["ootb_account_name"]},
        [{"attribute": NAME, "clause": {"$eq": "x"}}],
        {"attribute": NAME, "clause": {"$in": "Acme"}},
        {"attribute": NAME, "clause": {"$exists": "yes"}},
        {"attribute": NAME, "clause": {"$regex": "("}},
        {"attribute": NAME, "clause": {"$regex": 5}},
        {"attribute": NAME, "clause": {"$gt": "A"}},
        {"attribute": NAME, "clause": {"$eq": {"nested": 1}}},
        {"attribute": {"slug": "ootb_opportunity_close_date"},
         "clause": {"$within": "this_quarter"}},
        {"attribute": {"slug": "ootb_opportunity_close_date"},
         "clause": {"$within": {"$ref": "time_ranges.next_century"}}},
        {"attribute": {"slug": "ootb_opportunity_close_date"},
         "clause": {"$within": {"$ref": "time_ranges.current"}}},
        {"attribute": {"slug": "ootb_account_type"},
         "clause": {"$within": {"$ref": "time_ranges.any_time"}}},
    ],
)  # fmt: skip
def test_malformed_filters_get_report_filter_invalid(
    sandbox: Sandbox, http: requests.Session, node: Any
) -> None:
    answer = post(http, sandbox, "account", node)
    assert answer.status_code == 400
    assert "report.filter.invalid" in answer.text


def test_bare_string_attribute_gets_500(sandbox: Sandbox, http: requests.Session) -> None:
    node = {"attribute": "ootb_account_name", "clause": {"$eq": "Acme"}}
    answer = post(http, sandbox, "account", node)
    assert answer.status_code == 500
    assert answer.json() == {"message": "sorry something went wrong"}
    nested = {"$and": [leaf("ootb_account_type", {"$eq": "Customer"}), node]}
    assert post(http, sandbox, "account", nested).status_code == 500


def test_two_leaves_on_one_attribute_quirk(sandbox: Sandbox, http: requests.Session) -> None:
    opps = sandbox.tenant.opportunities
    amount = opps["converted_amount"]
    slug = "ootb_opportunity_converted_amount"
    split = {"$and": [leaf(slug, {"$gte": 10_000}), leaf(slug, {"$lt": 50_000})]}
    expected = ids(opps, (amount >= 10_000) & (amount < 50_000))
    # spec §2: two $and leaves on one attribute crashed the live service: on by default
    answer = post(http, sandbox, "opportunity", split)
    assert answer.status_code == 500
    assert answer.json() == {"message": "sorry something went wrong"}
    sandbox.set_faults(two_leaves_500=False)
    assert matched(http, sandbox, "opportunity", split) == expected
    sandbox.set_faults(two_leaves_500=True)
    merged = leaf(slug, {"$gte": 10_000, "$lt": 50_000})
    assert matched(http, sandbox, "opportunity", merged) == expected
    either = {"$or": [leaf(slug, {"$gte": 10_000}), leaf(slug, {"$lt": 50_000})]}
    assert post(http, sandbox, "opportunity", either).status_code == 200


def test_filters_and_sort_work_together(sandbox: Sandbox, http: requests.Session) -> None:
    users = sandbox.tenant.users
    query = {
        "object": "user",
        "columns": [{"slug": "ootb_user_name"}, {"slug": "ootb_user_role"}],
        "filter": leaf("ootb_user_role", {"$eq": "Account Executive"}),
        "sort": [{"attribute": {"slug": "ootb_user_name"}, "direction": "desc"}],
    }
    answer = http.post(sandbox.export_url, json=query, timeout=30)
    rows = read_csv_rows(answer.content)
    expected = sorted(users.loc[users["role"] == "Account Executive", "name"], reverse=True)
    assert [r[0] for r in rows[1:]] == expected
    assert {r[1] for r in rows[1:]} == {"Account Executive"}


@pytest.mark.parametrize(
    "where",
    [
        "ootb_account_name.str.contains('INC', case=False)",
        "ootb_account_name.str.contains('a.', regex=False, case=False)",
        "ootb_account_name.str.match('a|b|c', case=False)",
        "ootb_account_name.str.fullmatch('.*(?:co|inc)[.]', case=False)",
        "ootb_account_name.str.startswith(('A', 'B'))",
        "ootb_churn_risk_score.between(20, 60, inclusive='neither')",
        "ootb_churn_risk_score.between(20, 60, inclusive='left')",
    ],
)
def test_where_method_arguments_select_what_pandas_selects(sandbox: Sandbox, where: str) -> None:
    """End to end: bspandas translates, the sandbox applies (RE2), pandas is the oracle."""
    import bspandas as bs

    columns = ["ootb_account_id", "ootb_account_name", "ootb_churn_risk_score"]
    with sandbox.client() as client:
        full = bs.read_query("account", columns, client=client, validate=False)
        got = bs.read_query("account", columns, where=where, client=client, validate=False)
    oracle = where.replace("('A', 'B')", "'A') | ootb_account_name.str.startswith('B'")
    expected = full.query(oracle, engine="python")
    assert len(expected) > 0
    assert sorted(got["ootb_account_id"]) == sorted(expected["ootb_account_id"])
