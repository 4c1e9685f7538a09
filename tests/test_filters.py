"""The filter grammar: three spellings, one tree, checked values, API output, local evaluation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bspandas._exceptions import InvalidFilterError, UnknownMetricError
from bspandas.query import filters
from bspandas.query.filters import parse_filter, parse_where

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


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("ootb_churn_risk_score == 5", {"$eq": 5}),
        # as in DataFrame.query, != on a number keeps no missing value
        ("ootb_churn_risk_score != 5", {"$ne": 5, "$exists": True}),
        ("ootb_churn_risk_score > 5", {"$gt": 5}),
        ("ootb_churn_risk_score <= 5.5", {"$lte": 5.5}),
        ("5 < ootb_churn_risk_score", {"$gt": 5}),
        ("ootb_churn_risk_score in [1, 2]", {"$in": [1, 2]}),
        ("ootb_churn_risk_score not in (1, 2)", {"$nin": [1, 2]}),
        ("ootb_churn_risk_score == [1, 2]", {"$in": [1, 2]}),
        ("ootb_churn_risk_score.isna()", {"$exists": False}),
        ("ootb_churn_risk_score.notna()", {"$exists": True}),
        ("ootb_churn_risk_score == None", {"$exists": False}),
        ("ootb_churn_risk_score.between(10, 20)", {"$gte": 10, "$lte": 20}),
        ("ootb_churn_risk_score.isin([3])", {"$in": [3]}),
        ("-1 < ootb_churn_risk_score", {"$gt": -1}),
    ],
)
def test_where_operators(text: str, clause: dict[str, object]) -> None:
    assert api(text) == leaf("ootb_churn_risk_score", clause)


def test_string_methods_become_regex() -> None:
    assert api("ootb_account_name.str.contains('Acme')") == leaf(
        "ootb_account_name", {"$regex": "Acme"}
    )
    assert api("ootb_account_name.str.startswith('A.')") == leaf(
        "ootb_account_name", {"$regex": r"^A\."}
    )
    assert api("ootb_account_name.str.endswith('Inc')") == leaf(
        "ootb_account_name", {"$regex": "Inc$"}
    )
    assert api("ootb_account_name.str.contains('a.b', regex=False, case=False)") == leaf(
        "ootb_account_name", {"$regex": r"(?i)a\.b"}
    )


def test_range_on_one_attribute_becomes_one_clause() -> None:
    expected = leaf("ootb_churn_risk_score", {"$gte": 70, "$lt": 90})
    assert api("ootb_churn_risk_score >= 70 and ootb_churn_risk_score < 90") == expected
    assert api("70 <= ootb_churn_risk_score < 90") == expected
    nested = {
        "$and": [{"ootb_churn_risk_score": {"$gte": 70}}, {"ootb_churn_risk_score": {"$lt": 90}}]
    }
    assert parse_filter(nested, ACCOUNT).to_api() == expected


def test_tighter_bounds_win_and_contradictions_select_nothing() -> None:
    assert api("ootb_churn_risk_score > 10 and ootb_churn_risk_score > 20") == leaf(
        "ootb_churn_risk_score", {"$gt": 20}
    )
    # like pandas, an unsatisfiable filter is not an error: it selects no row
    assert api("ootb_churn_risk_score > 50 and ootb_churn_risk_score < 10") == leaf(
        "ootb_churn_risk_score", {"$gt": 50, "$lt": 10}
    )
    assert api("industry == 'A' and industry == 'B'") == {
        "$and": [leaf("industry", {"$eq": "A"}), leaf("industry", {"$eq": "B"})]
    }


def test_or_and_not_push_down() -> None:
    assert api("not (industry == 'A' or ootb_churn_risk_score < 3)") == {
        "$and": [leaf("industry", {"$ne": "A"}), leaf("ootb_churn_risk_score", {"$gte": 3})]
    }
    assert api("(industry == 'A') | (industry == 'B')") == {
        "$or": [leaf("industry", {"$eq": "A"}), leaf("industry", {"$eq": "B"})]
    }
    assert api("~ootb_executive_engagement") == leaf("ootb_executive_engagement", {"$eq": False})


def test_dates_become_epoch_milliseconds() -> None:
    clause = {"$gte": 1767225600000, "$lt": 1772323200000}
    assert api(
        "ootb_last_activity_date >= '2026-01-01' and ootb_last_activity_date < @end",
        end=dt.date(2026, 3, 1),
    ) == leaf("ootb_last_activity_date", clause)
    stamp = pd.Timestamp("2026-01-01T01:00:00", tz="Europe/Paris")
    assert api("ootb_last_activity_date > @t", t=stamp) == leaf(
        "ootb_last_activity_date", {"$gt": 1767225600000}
    )
    assert api("ootb_last_activity_date > @t", t=np.datetime64("2026-01-01")) == leaf(
        "ootb_last_activity_date", {"$gt": 1767225600000}
    )
    assert parse_filter(
        {"ootb_last_activity_date": {"$gte": "2026-01-01"}}, ACCOUNT
    ).to_api() == leaf("ootb_last_activity_date", {"$gte": 1767225600000})


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


def test_variation_ids_in_filters() -> None:
    assert api("ootb_emails_sent_last_30_days > 3") == leaf(
        "ootb_emails_sent", {"$gt": 3}, "ootb_emails_sent_last_30_days"
    )
    pct = parse_where("ootb_account_percentage_emails_inbound_last_90_days > 50", ACCOUNT)
    assert pct.to_api()["attribute"]["variation_id"] == (  # type: ignore[index]
        "ootb_account_percentage_emails_inbound_last_90_days_last_90_days"
    )


def test_expanded_attribute_filters_on_its_id() -> None:
    assert api("ootb_account_original_owner_id == 7") == leaf(
        "ootb_account_original_owner", {"$eq": 7}
    )
    assert parse_filter({"ootb_account_original_owner": 7}, ACCOUNT).to_api() == leaf(
        "ootb_account_original_owner", {"$eq": 7}
    )
    with pytest.raises(InvalidFilterError, match="first column"):
        api("ootb_account_original_owner_name == 'Jane'")


def test_bare_string_attribute_is_fixed_before_sending() -> None:
    # the live API answers 500 to {"attribute": "slug"}
    fixed = parse_filter({"attribute": "industry", "clause": {"$eq": "A"}}, ACCOUNT).to_api()
    assert fixed == leaf("industry", {"$eq": "A"})


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("ootb_churn_risk_score >= 'high'", InvalidFilterError, "compare it with a number"),
        ("industry > 3", InvalidFilterError, "does not apply|compare it with a string"),
        ("ootb_executive_engagement == 1", InvalidFilterError, "True or False"),
        ("ootb_last_activity_date > 'soon'", InvalidFilterError, "date"),
        ("industry ==", InvalidFilterError, "not a valid expression"),
        ("industry == @missing", InvalidFilterError, "@missing is not defined"),
        ("__import__('os').system('true')", InvalidFilterError, "Only column methods"),
        ("industry.upper() == 'A'", InvalidFilterError, "column name"),
        ("industry.upper()", InvalidFilterError, "Unsupported method"),
        ("1 == 1", InvalidFilterError, "column name"),
        ("ootb_emails_snt > 3", UnknownMetricError, "ootb_emails_sent"),
        ("industry in []", InvalidFilterError, "empty list"),
        ("ootb_account_name.str.contains('(')", InvalidFilterError, "regular expression"),
        ("ootb_churn_risk_score > @x", InvalidFilterError, "finite"),
    ],
)
def test_bad_where_strings_name_the_problem(text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        parse_where(text, ACCOUNT, variables={"x": float("nan")})


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


def test_list_columns_cannot_be_filtered() -> None:
    with pytest.raises(InvalidFilterError, match="no filter"):
        parse_where("ootb_opportunity_owners == 'a'", "opportunity")


def test_string_form_round_trips() -> None:
    text = "(ootb_churn_risk_score >= 70 or industry == 'A') and ootb_account_domain.notna()"
    tree = parse_where(text, ACCOUNT)
    assert parse_where(str(tree), ACCOUNT) == tree


def test_local_evaluation_follows_api_semantics() -> None:
    frame = pd.DataFrame(
        {
            "ootb_churn_risk_score": pd.array([10.0, 80.0, None, 95.0], dtype="Float64"),
            "industry": pd.array(["A", "B", "A", None], dtype="string"),
            "ootb_last_activity_date": pd.to_datetime(
                ["2026-01-01", "2026-02-01", None, "2026-03-01"], utc=True
            ).astype("datetime64[ms, UTC]"),
        }
    )

    def rows(text: str) -> list[int]:
        mask = parse_where(text, ACCOUNT).evaluate(frame)
        return [i for i, v in enumerate(mask.tolist()) if v is True]

    assert rows("ootb_churn_risk_score >= 70") == [1, 3]
    assert rows("ootb_churn_risk_score != 80") == [0, 3]  # like DataFrame.query: NA != 80 is NA
    assert parse_filter({"ootb_churn_risk_score": {"$ne": 80}}, ACCOUNT).evaluate(
        frame
    ).tolist() == [True, False, True, True]  # the API's $ne: missing matches
    assert rows("industry not in ['A']") == [1, 3]  # missing matches $nin
    assert rows("industry.isna()") == [3]
    assert rows("ootb_churn_risk_score > 50 or industry == 'A'") == [0, 1, 2, 3]
    assert rows("ootb_last_activity_date >= '2026-02-01'") == [1, 3]
    assert rows("industry.str.contains('a', case=False)") == [0, 2]


def test_absent_columns_evaluate_to_unknown() -> None:
    frame = pd.DataFrame({"industry": pd.array(["A", "B"], dtype="string")})
    mask = parse_where("industry == 'A' and ootb_churn_risk_score > 3", ACCOUNT).evaluate(frame)
    assert mask.tolist() == [pd.NA, False]


def test_several_conditions_on_one_attribute_merge_or_stay_apart() -> None:
    assert api("industry != 'A' and industry != 'B'") == leaf("industry", {"$nin": ["A", "B"]})
    assert api("industry != 'A' and industry not in ['B', 'C']") == leaf(
        "industry", {"$nin": ["B", "C", "A"]}
    )
    assert api("industry == 'A' and industry != 'B'") == leaf("industry", {"$eq": "A", "$ne": "B"})
    # booleans have no $nin: two $ne stay two leaves
    assert api("ootb_executive_engagement != True and ootb_executive_engagement != False") == {
        "$and": [
            leaf("ootb_executive_engagement", {"$eq": False}),
            leaf("ootb_executive_engagement", {"$eq": True}),
        ]
    }
    assert api("industry.str.contains('a') and industry.str.contains('b')") == {
        "$and": [leaf("industry", {"$regex": "a"}), leaf("industry", {"$regex": "b"})]
    }
    assert api("industry == 'A' and industry not in ['A']") == leaf(
        "industry", {"$eq": "A", "$nin": ["A"]}
    )
    frame = pd.DataFrame({"industry": pd.array(["A", "B", None], dtype="string")})
    assert not parse_where("industry.isna() and industry.notna()", ACCOUNT).evaluate(frame).any()


# -- hostile input: size, depth, arguments ------------------------------------------------------


class _Counted(str):
    """A text value that counts how often it is compared or hashed (and stops a
    quadratic merge early instead of letting it run for minutes)."""

    calls = 0
    budget = 0

    def _tick(self) -> None:
        _Counted.calls += 1
        if _Counted.calls > _Counted.budget:
            raise AssertionError(f"more than {_Counted.budget} comparisons: not linear")

    def __eq__(self, other: object) -> bool:
        self._tick()
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        self._tick()
        return str.__hash__(self)


def test_merging_two_huge_in_lists_is_linear() -> None:
    n = 100_000
    first = [_Counted(f"v{i}") for i in range(n)]
    second = [_Counted(f"v{i}") for i in range(n // 2, n + n // 2)]  # half of them shared
    column, part = filters._attribute("industry", ACCOUNT)
    tree = filters.AllOf(
        (
            filters.Condition(column, part, (("$in", first),)),
            filters.Condition(column, part, (("$in", second),)),
            filters.Condition(column, part, (("$nin", first[:10]),)),
            filters.Condition(column, part, (("$nin", second),)),
        )
    )
    _Counted.calls, _Counted.budget = 0, 20 * n  # a quadratic merge needs ~n*n/4
    merged = filters.simplify(tree)
    assert _Counted.calls <= 20 * n
    assert isinstance(merged, filters.Condition)
    clause = dict(merged.ops)
    assert clause["$in"] == [f"v{i}" for i in range(n // 2, n)]
    assert clause["$nin"] == [
        *(f"v{i}" for i in range(10)),
        *(f"v{i}" for i in range(n // 2, n + n // 2)),
    ]


def test_huge_in_lists_in_a_where_string_merge() -> None:
    a, b = list(range(60_000)), list(range(30_000, 90_000))
    tree = parse_where(
        "ootb_churn_risk_score in @a and ootb_churn_risk_score in @b",
        ACCOUNT,
        variables={"a": a, "b": b},
    )
    assert tree.to_api() == leaf("ootb_churn_risk_score", {"$in": list(range(30_000, 60_000))})


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
    assert filters.MAX_DEPTH == 64
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
        parse_filter(filters.AllOf((deep_tree, deep_tree)), ACCOUNT)


DEEP_WHERE = [
    "not " * 65 + "ootb_executive_engagement",
    "not " * 900 + "ootb_executive_engagement",
    "not " * 100_000 + "ootb_executive_engagement",
    "~" * 100_000 + "ootb_executive_engagement",
    "(" * 10_000 + "industry == 'A'" + ")" * 10_000,
    "ootb_churn_risk_score > " + "-" * 500 + "1",
    "ootb_churn_risk_score > " + "-" * 100_000 + "1",
    "ootb_churn_risk_score in " + "[" * 150 + "1" + "]" * 150,
    " & ".join(["(industry == 'A')"] * 20_000),
    _nested_where(65),
    _nested_where(500),
    _nested_where(5_000),
    "industry == 'A' and " * 5_000 + "(" * 300,
    "industry\x00 == 'A'",
]


@pytest.mark.parametrize("text", DEEP_WHERE, ids=range(len(DEEP_WHERE)))
def test_deep_or_huge_where_strings_get_the_library_error(text: str) -> None:
    with pytest.raises(InvalidFilterError):
        parse_where(text, ACCOUNT)


def test_long_flat_chains_are_not_deep() -> None:
    terms = [f"(ootb_churn_risk_score != {i})" for i in range(300)]
    by_amp = parse_where(" & ".join(terms), ACCOUNT).to_api()
    by_and = parse_where(" and ".join(terms), ACCOUNT).to_api()
    # numeric != keeps no missing value (DataFrame.query's rule), hence the $exists
    expected = leaf("ootb_churn_risk_score", {"$nin": list(range(300)), "$exists": True})
    assert by_amp == by_and == expected
    assert parse_where("ootb_churn_risk_score > " + "-" * 60 + "1", ACCOUNT).to_api() == leaf(
        "ootb_churn_risk_score", {"$gt": 1}
    )
    redundant = "(" * 199 + "industry == 'A'" + ")" * 199  # parentheses add no level
    assert parse_where(redundant, ACCOUNT).to_api() == leaf("industry", {"$eq": "A"})


def test_deep_cyclic_and_hand_built_filters_get_the_library_error() -> None:
    cyclic: dict[str, object] = {}
    cyclic["$and"] = [cyclic]
    looped: list[object] = []
    looped.append({"$or": looped})
    node = parse_where("industry == 'A'", ACCOUNT)
    deep: object = node
    for _ in range(10_000):
        deep = filters.AnyOf((deep, node))
    column, part = filters._attribute("industry", ACCOUNT)
    hostile = [
        _nested_dict(65),
        _nested_dict(10_000),
        cyclic,
        {"$or": looped},
        deep,
        filters.AllOf(("industry == 'A'",)),  # type: ignore[arg-type]
        filters.AllOf(()),
        filters.AnyOf(5),  # type: ignore[arg-type]
        filters.Condition(column, part, (("$like", "A"),)),
        filters.Condition("industry", part, (("$eq", "A"),)),  # type: ignore[arg-type]
        {"attribute": {"slug": "industry"}, 3: "x"},
        {3: "A"},
        {"industry": {"$eq": "A", 3: "B"}},
    ]
    for spec in hostile:
        with pytest.raises(InvalidFilterError):
            parse_filter(spec, ACCOUNT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("industry.str.contains('a.b')", {"$regex": "a.b"}),
        ("industry.str.contains('a.b', regex=False)", {"$regex": r"a\.b"}),
        (r"industry.str.contains('a\.b')", {"$regex": r"a\.b"}),  # no invalid-escape warning
        ("industry.str.contains('a.b', True, 0, None, False)", {"$regex": r"a\.b"}),
        ("industry.str.contains('ab', case=False)", {"$regex": "(?i)ab"}),
        ("industry.str.contains('ab', False)", {"$regex": "(?i)ab"}),
        ("industry.str.contains('ab', flags=2)", {"$regex": "(?i)ab"}),
        ("industry.str.contains('ab', na=False)", {"$regex": "ab"}),
        ("industry.str.contains('a.', case=False, regex=False)", {"$regex": r"(?i)a\."}),
        ("industry.str.match('a|b')", {"$regex": "^(?:a|b)"}),
        ("industry.str.match('a|b', case=False)", {"$regex": "(?i)^(?:a|b)"}),
        ("industry.str.fullmatch('a|b', case=False)", {"$regex": "(?i)^(?:a|b)$"}),
        ("industry.str.startswith('a.')", {"$regex": r"^a\."}),
        ("industry.str.startswith(('a', 'b'))", {"$regex": "^(?:a|b)"}),
        ("industry.str.endswith('a', na=False)", {"$regex": "a$"}),
        ("industry.str.endswith(pat='a')", {"$regex": "a$"}),
        ("ootb_churn_risk_score.between(1, 5)", {"$gte": 1, "$lte": 5}),
        ("ootb_churn_risk_score.between(1, 5, 'both')", {"$gte": 1, "$lte": 5}),
        ("ootb_churn_risk_score.between(1, 5, inclusive='neither')", {"$gt": 1, "$lt": 5}),
        ("ootb_churn_risk_score.between(1, 5, inclusive='left')", {"$gte": 1, "$lt": 5}),
        ("ootb_churn_risk_score.between(1, right=5, inclusive='right')", {"$gt": 1, "$lte": 5}),
        ("ootb_churn_risk_score.isin(values=[1, 2])", {"$in": [1, 2]}),
    ],
)
def test_method_arguments_are_honoured_as_pandas_reads_them(
    text: str, expected: dict[str, object]
) -> None:
    slug = "ootb_churn_risk_score" if text.startswith("ootb") else "industry"
    assert api(text) == leaf(slug, expected)


def test_na_true_lets_missing_values_match() -> None:
    assert api("industry.str.contains('a', na=True)") == {
        "$or": [leaf("industry", {"$regex": "a"}), leaf("industry", {"$exists": False})]
    }


REFUSED_ARGUMENTS = [
    ("industry.str.contains('a', flags=8)", "flags=8"),
    ("industry.str.contains('a', case='no')", "case="),
    ("industry.str.contains('a', regex='yes')", "regex="),
    ("industry.str.contains('a', na='x')", "na="),
    ("industry.str.contains('a', True, 0, None, False, 1)", "at most 5"),
    ("industry.str.contains('a', case=False, case=True)", "twice by name"),
    ("industry.str.contains('a', False, case=True)", "case twice"),
    ("industry.str.contains('a', foo=1)", "no argument foo="),
    ("industry.str.contains('a', **{'case': False})", r"\*\*keywords"),
    ("industry.str.contains(*['a'])", "literal"),
    ("industry.str.contains()", "needs pat"),
    ("industry.str.startswith('a', case=False)", "no argument case="),
    ("industry.str.startswith(('a', 3))", "tuple of texts"),
    ("industry.str.endswith('a', 'b', 'c')", "at most 2"),
    ("industry.str.lower()", "Unsupported string method"),
    ("ootb_churn_risk_score.between(1, 5, inclusive='all')", "inclusive='all'"),
    ("ootb_churn_risk_score.between(1, 5, inclusive=True)", "inclusive=True"),
    ("ootb_churn_risk_score.between(1)", "needs right"),
    ("ootb_churn_risk_score.between(1, 5, 'both', 4)", "at most 3"),
    ("ootb_churn_risk_score.isin([1], foo=2)", "no argument foo="),
    ("ootb_churn_risk_score.isna(True)", "at most 0"),
    ("ootb_churn_risk_score.notna(how='all')", "no argument how="),
    ("ootb_churn_risk_score.within('last_7_days', 3)", "at most 1"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED_ARGUMENTS)
def test_arguments_bspandas_cannot_honour_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        parse_where(text, ACCOUNT)


def test_method_arguments_select_what_pandas_selects() -> None:
    """Local evaluation of the translated filter against pandas itself on messy text."""
    frame = pd.DataFrame(
        {
            "industry": pd.array(
                ["Acme", "acme corp", "ACME", "a.b", "aXb", None, "Beta", "b", ""],
                dtype="string",
            ),
            "ootb_churn_risk_score": pd.array(
                [1.0, 5.0, 3.0, None, 0.5, 5.5, 1.0, 4.0, 2.0], dtype="Float64"
            ),
        }
    )
    cases = [
        "industry.str.contains('acme', case=False, na=False)",
        "industry.str.contains('a.b', regex=False, na=False)",
        "industry.str.contains('a.b', na=False)",
        "industry.str.contains('ACME', flags=2, na=False)",
        "industry.str.contains('e', na=True)",
        "industry.str.match('a|b', na=False)",
        "industry.str.match('a|b', case=False, na=False)",
        "industry.str.fullmatch('a.b|b', na=False)",
        "industry.str.endswith('b', na=False)",
        "ootb_churn_risk_score.between(1, 5, inclusive='neither')",
        "ootb_churn_risk_score.between(1, 5, inclusive='left')",
        "ootb_churn_risk_score.between(1, 5, inclusive='right')",
        "ootb_churn_risk_score.between(1, 5)",
    ]
    for text in cases:
        expected = frame.query(text, engine="python").index.tolist()
        mask = parse_where(text, ACCOUNT).evaluate(frame)
        assert [i for i, v in enumerate(mask.tolist()) if v is True] == expected, text
