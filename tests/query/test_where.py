"""The where= string: operators, methods and arguments as pandas reads them, errors, depth."""

from __future__ import annotations

import pytest

from bspandas._exceptions import InvalidFilterError, UnknownMetricError
from bspandas.query import parse_where

ACCOUNT = "account"


def api(text: str, **variables: object) -> object:
    return parse_where(text, ACCOUNT, variables=variables).to_api()


def leaf(slug: str, clause: dict[str, object], variation: str | None = None) -> dict[str, object]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


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


def test_or_and_not_push_down() -> None:
    assert api("not (industry == 'A' or ootb_churn_risk_score < 3)") == {
        "$and": [leaf("industry", {"$ne": "A"}), leaf("ootb_churn_risk_score", {"$gte": 3})]
    }
    assert api("(industry == 'A') | (industry == 'B')") == {
        "$or": [leaf("industry", {"$eq": "A"}), leaf("industry", {"$eq": "B"})]
    }
    assert api("~ootb_executive_engagement") == leaf("ootb_executive_engagement", {"$eq": False})


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


def test_string_form_round_trips() -> None:
    text = "(ootb_churn_risk_score >= 70 or industry == 'A') and ootb_account_domain.notna()"
    tree = parse_where(text, ACCOUNT)
    assert parse_where(str(tree), ACCOUNT) == tree


def _nested_where(levels: int) -> str:
    """``levels`` alternating and/or levels, each parenthesised."""
    text = "industry == 'A'"
    for i in range(levels):
        word = "and" if i % 2 else "or"
        text = f"(ootb_churn_risk_score > {i} {word} {text})"
    return text


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
