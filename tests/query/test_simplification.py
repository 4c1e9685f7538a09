"""One clause per attribute: ranges, tighter bounds, $in/$nin merges in linear time."""

from __future__ import annotations

import pandas as pd

from bspandas._io.evaluate import evaluate
from bspandas.query import AllOf, Condition, parse_filter, parse_where
from bspandas.query.attributes import _attribute
from bspandas.query.simplification import simplify

ACCOUNT = "account"


def api(text: str, **variables: object) -> object:
    return parse_where(text, ACCOUNT, variables=variables).to_api()


def leaf(slug: str, clause: dict[str, object], variation: str | None = None) -> dict[str, object]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


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
    assert not evaluate(
        parse_where("industry.isna() and industry.notna()", ACCOUNT), frame, as_of=None
    ).any()


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
    column, part = _attribute("industry", ACCOUNT)
    tree = AllOf(
        (
            Condition(column, part, (("$in", first),)),
            Condition(column, part, (("$in", second),)),
            Condition(column, part, (("$nin", first[:10]),)),
            Condition(column, part, (("$nin", second),)),
        )
    )
    _Counted.calls, _Counted.budget = 0, 20 * n  # a quadratic merge needs ~n*n/4
    merged = simplify(tree)
    assert _Counted.calls <= 20 * n
    assert isinstance(merged, Condition)
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
