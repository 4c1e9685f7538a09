"""Filters given as dicts (the API's and the simple one) or hand-built trees: one tree, checked."""

from __future__ import annotations

import pytest

from bspandas._exceptions import InvalidFilterError
from bspandas.query import AllOf, AnyOf, Condition, parse_filter, parse_where
from bspandas.query.attributes import _attribute
from bspandas.query.grammar import MAX_DEPTH

ACCOUNT = "account"


def api(text: str, **variables: object) -> object:
    return parse_where(text, ACCOUNT, variables=variables).to_api()


def leaf(slug: str, clause: dict[str, object], variation: str | None = None) -> dict[str, object]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


def test_the_three_spellings_give_the_same_payload() -> None:
    expected = {
        "$and": [
            leaf("ootb_churn_risk_score", {"$gte": 70}),
            leaf("industry", {"$in": ["Technology", "Retail"]}),
        ]
    }
    where = "ootb_churn_risk_score >= 70 and industry in ['Technology', 'Retail']"
    simple = {"ootb_churn_risk_score": {"$gte": 70}, "industry": ["Technology", "Retail"]}
    assert parse_where(where, ACCOUNT).to_api() == expected
    assert parse_filter(simple, ACCOUNT).to_api() == expected
    assert parse_filter(expected, ACCOUNT).to_api() == expected


def test_within_takes_a_time_range() -> None:
    # the field's form: the attribute with its "_0" variation (spec, Appendix)
    assert api("ootb_last_activity_date.within('this_quarter')") == leaf(
        "ootb_last_activity_date",
        {"$within": {"$ref": "time_ranges.this_quarter"}},
        "ootb_last_activity_date_0",
    )
    api_dict = leaf("ootb_last_activity_date", {"$within": {"$ref": "time_ranges.last_90_days"}})
    field = leaf(
        "ootb_last_activity_date",
        {"$within": {"$ref": "time_ranges.last_90_days"}},
        "ootb_last_activity_date_0",
    )
    assert parse_filter(api_dict, ACCOUNT).to_api() == field
    assert parse_filter(field, ACCOUNT).to_api() == field


def test_bare_string_attribute_is_fixed_before_sending() -> None:
    # the live API answers 500 to {"attribute": "slug"}
    fixed = parse_filter({"attribute": "industry", "clause": {"$eq": "A"}}, ACCOUNT).to_api()
    assert fixed == leaf("industry", {"$eq": "A"})


@pytest.mark.parametrize(
    "spec",
    [
        {"attribute": {"slug": "industry"}},
        {"attribute": {"slug": "industry"}, "clause": {"$like": "A"}},
        {"$and": {"industry": "A"}},
        {"$not": [{"industry": "A"}]},
        {"industry": {"$in": "A"}},
        {"attribute": {"slug": "industry"}, "clause": {}},
        {},
        {"ootb_churn_risk_score": {"$exists": "yes"}},
    ],
)
def test_malformed_dicts(spec: dict[str, object]) -> None:
    with pytest.raises(InvalidFilterError):
        parse_filter(spec, ACCOUNT)


def _nested_where(levels: int) -> str:
    """``levels`` alternating and/or levels, each parenthesised."""
    text = "industry == 'A'"
    for i in range(levels):
        word = "and" if i % 2 else "or"
        text = f"(ootb_churn_risk_score > {i} {word} {text})"
    return text


def _nested_dict(levels: int) -> dict[str, object]:
    spec: dict[str, object] = {"industry": "A"}
    for i in range(levels):
        key = "$and" if i % 2 else "$or"
        spec = {key: [{"ootb_churn_risk_score": {"$gt": i}}, spec]}
    return spec


def test_the_depth_limit_is_64_levels_in_every_spelling() -> None:
    assert MAX_DEPTH == 64
    assert (
        parse_where(_nested_where(64), ACCOUNT).to_api()
        == parse_filter(_nested_dict(64), ACCOUNT).to_api()
    )
    with pytest.raises(InvalidFilterError, match="more than 64 levels"):
        parse_where(_nested_where(65), ACCOUNT)
    with pytest.raises(InvalidFilterError, match="more than 64 levels"):
        parse_filter(_nested_dict(65), ACCOUNT)
    deep_tree = parse_where(_nested_where(64), ACCOUNT)
    with pytest.raises(InvalidFilterError, match="more than 64 levels"):
        parse_filter(AllOf((deep_tree, deep_tree)), ACCOUNT)


def test_deep_cyclic_and_hand_built_filters_get_the_library_error() -> None:
    cyclic: dict[str, object] = {}
    cyclic["$and"] = [cyclic]
    looped: list[object] = []
    looped.append({"$or": looped})
    node = parse_where("industry == 'A'", ACCOUNT)
    deep: object = node
    for _ in range(10_000):
        deep = AnyOf((deep, node))
    column, part = _attribute("industry", ACCOUNT)
    hostile = [
        _nested_dict(65),
        _nested_dict(10_000),
        cyclic,
        {"$or": looped},
        deep,
        AllOf(("industry == 'A'",)),  # type: ignore[arg-type]
        AllOf(()),
        AnyOf(5),  # type: ignore[arg-type]
        Condition(column, part, (("$like", "A"),)),
        Condition("industry", part, (("$eq", "A"),)),  # type: ignore[arg-type]
        {"attribute": {"slug": "industry"}, 3: "x"},
        {3: "A"},
        {"industry": {"$eq": "A", 3: "B"}},
    ]
    for spec in hostile:
        with pytest.raises(InvalidFilterError):
            parse_filter(spec, ACCOUNT)
