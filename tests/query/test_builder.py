"""Query: resolved columns, filter, sort and the exact payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

import bspandas as bs
from bspandas._exceptions import InvalidColumnsError, QueryError, UnknownObjectError


def test_payload_is_the_documented_json() -> None:
    query = bs.Query(
        "account",
        ["ootb_account_name", ("ootb_account_count_of_meetings_standard", "last_30_days")],
        filter={
            "ootb_account_engagement_level": {"$gte": 50},
            "ootb_account_type": ["Customer", "Partner"],
        },
        sort="ootb_account_name",
    )
    assert query.payload() == {
        "object": "account",
        "columns": [
            {"slug": "ootb_account_name"},
            {
                "slug": "ootb_account_count_of_meetings_standard",
                "variation_id": "ootb_account_count_of_meetings_standard_last_30_days",
            },
            # hidden: the filtered attributes come back so the filter can be verified
            {"slug": "ootb_account_engagement_level"},
            {"slug": "ootb_account_type"},
        ],
        "filter": {
            "$and": [
                {"attribute": {"slug": "ootb_account_engagement_level"}, "clause": {"$gte": 50}},
                {
                    "attribute": {"slug": "ootb_account_type"},
                    "clause": {"$in": ["Customer", "Partner"]},
                },
            ]
        },
        "sort": [{"attribute": {"slug": "ootb_account_name"}, "direction": "asc"}],
    }
    assert json.loads(query.to_json()) == query.payload()


def test_where_reads_caller_variables() -> None:
    threshold = 70
    query = bs.Query("account", ["industry"], where="ootb_churn_risk_score >= @threshold")
    assert query.payload()["filter"]["clause"] == {"$gte": threshold}


def test_where_and_filter_are_combined() -> None:
    query = bs.Query(
        "account",
        ["industry"],
        where="ootb_churn_risk_score >= 70",
        filter={"ootb_churn_risk_score": {"$lt": 90}},
    )
    assert query.payload()["filter"] == {
        "attribute": {"slug": "ootb_churn_risk_score"},
        "clause": {"$gte": 70, "$lt": 90},
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("industry", [("industry", None, "asc")]),
        (("industry", "desc"), [("industry", None, "desc")]),
        ("-industry", [("industry", None, "desc")]),
        (
            ["industry", ("ootb_emails_sent_last_7_days", "desc")],
            [
                ("industry", None, "asc"),
                ("ootb_emails_sent", "ootb_emails_sent_last_7_days", "desc"),
            ],
        ),
    ],
)
def test_sort_forms(sort: object, expected: list[tuple[str, str | None, str]]) -> None:
    payload = bs.Query("account", ["industry"], sort=sort).payload()
    got = [
        (s["attribute"]["slug"], s["attribute"].get("variation_id"), s["direction"])
        for s in payload["sort"]
    ]
    assert got == expected


def test_owner_filter_on_opportunities_is_applied_locally() -> None:
    query = bs.Query(
        "opportunity",
        ["ootb_opportunity_name"],
        where="ootb_opportunity_owner_id == 12 and ootb_opportunity_engagement_level > 5",
    )
    assert query.payload()["filter"] == {
        "attribute": {"slug": "ootb_opportunity_engagement_level"},
        "clause": {"$gt": 5},
    }
    # every attribute of the filter is fetched so the whole filter can be applied locally
    assert [c.name for c in query.hidden] == [
        "ootb_opportunity_owner",
        "ootb_opportunity_engagement_level",
    ]
    assert {"slug": "ootb_opportunity_owner"} in query.payload()["columns"]
    assert query.local_filter is not None


def test_or_with_an_ignored_attribute_is_not_sent() -> None:
    query = bs.Query(
        "opportunity",
        ["ootb_opportunity_name", "ootb_opportunity_owner"],
        where="ootb_opportunity_owner_id == 12 or ootb_opportunity_engagement_level > 5",
    )
    assert "filter" not in query.payload()
    assert [c.name for c in query.hidden] == ["ootb_opportunity_engagement_level"]


def test_empty_and_colliding_columns() -> None:
    with pytest.raises(InvalidColumnsError, match="No columns"):
        bs.Query("account", [])
    with pytest.raises(InvalidColumnsError, match="appear twice"):
        bs.Query("user", ["ootb_user", "ootb_user_name"])
    with pytest.raises(UnknownObjectError):
        bs.Query("deal", ["x"])
    with pytest.raises(QueryError, match="sort="):
        bs.Query("account", ["industry"], sort=42)


def test_repr_and_html_show_the_payload() -> None:
    query = bs.Query("account", ["industry"], where="industry == 'A'")
    assert '"object": "account"' in repr(query)
    assert "<pre>" in query._repr_html_()


def test_where_and_filter_each_at_the_depth_limit_combine() -> None:
    where = "industry == 'A'"
    spec: dict[str, object] = {"industry": "A"}
    for i in range(64):
        word, key = ("and", "$and") if i % 2 else ("or", "$or")
        where = f"(ootb_churn_risk_score > {i} {word} {where})"
        spec = {key: [{"ootb_churn_risk_score": {"$gt": i}}, spec]}
    q = bs.Query("account", ["ootb_account_name"], where=where, filter=spec)
    alone = bs.Query("account", ["ootb_account_name"], filter=spec).payload()["filter"]
    first, rest = alone["$and"]  # the same tree twice: its leaves merge, its $or repeats
    assert q.payload()["filter"] == {"$and": [first, rest, rest]}
    with pytest.raises(bs.InvalidFilterError, match="64 levels"):
        bs.Query("account", ["ootb_account_name"], filter={"$and": [spec]})


def _deep_list(levels: int) -> Any:
    spec: Any = "industry"
    for _ in range(levels):
        spec = [spec]
    return spec


def _deep_dict(levels: int) -> Any:
    spec: Any = {"slug": "industry"}
    for _ in range(levels):
        spec = {"slug": spec}
    return spec


def test_deep_cyclic_or_huge_specs_get_the_library_errors() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    hostile: list[dict[str, Any]] = [
        {"columns": _deep_list(5_000)},
        {"columns": [_deep_dict(5_000)]},
        {"columns": cyclic},
        {"columns": ["industry"], "sort": _deep_list(5_000)},
        {"columns": ["industry"], "sort": cyclic},
        {"columns": ["industry"], "variations": {"ootb_emails_sent": _deep_list(5_000)}},
        {"columns": ["industry"], "variations": cyclic},
        {"columns": ["industry"], "filter": {"industry": {"$in": _deep_list(5_000)}}},
        {"columns": ["industry"], "filter": {"industry": {"$in": cyclic}}},
        {"columns": ["industry"], "filter": {"industry": {"$in": range(10**12)}}},
        {
            "columns": ["industry"],
            "filter": {"ootb_last_activity_date": {"$within": _deep_dict(5_000)}},
        },
        {"columns": ["industry"], "filter": {"$and": _deep_dict(5_000)}},
        {"columns": ["industry"], "filter": {"attribute": _deep_dict(5_000), "clause": {"$eq": 1}}},
        {"columns": ["industry"], "filter": {"industry": {"$eq": [[["a"]]]}}},
    ]
    for options in hostile:
        with pytest.raises(bs.BackstoryError):
            bs.Query("account", **options)
    with pytest.raises(TypeError, match="variables= takes a dict"):
        bs.Query("account", ["industry"], where="industry == @x", variables=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sort", "suggested"),
    [
        (("ootb_account_crm_id", "descending"), "('ootb_account_crm_id', 'desc')"),
        (("ootb_account_crm_id", "DESC"), "('ootb_account_crm_id', 'desc')"),
        ([("industry", "Asc"), "-ootb_account_name"], "('industry', 'asc')"),
    ],
)
def test_a_misspelt_sort_direction_is_named_not_read_as_a_slug(
    sort: object, suggested: str
) -> None:
    with pytest.raises(QueryError, match="a direction is 'asc' or 'desc'") as info:
        bs.Query("account", ["ootb_account_name"], sort=sort)
    assert not isinstance(info.value, bs.UnknownMetricError)
    assert suggested in str(info.value)


def test_a_period_pair_in_sort_is_still_a_column() -> None:
    query = bs.Query(
        "account",
        ["ootb_account_name"],
        sort=[("ootb_account_count_of_emails_sent", "last_30_days")],
    )
    assert query.payload()["sort"][0]["direction"] == "asc"
