"""Local evaluation of a filter over a frame: the API's semantics, and what pandas selects."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bspandas._io.evaluate import evaluate
from bspandas.query import parse_filter, parse_where

ACCOUNT = "account"


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
        mask = evaluate(parse_where(text, ACCOUNT), frame, as_of=None)
        return [i for i, v in enumerate(mask.tolist()) if v is True]

    assert rows("ootb_churn_risk_score >= 70") == [1, 3]
    assert rows("ootb_churn_risk_score != 80") == [0, 3]  # like DataFrame.query: NA != 80 is NA
    assert evaluate(
        parse_filter({"ootb_churn_risk_score": {"$ne": 80}}, ACCOUNT), frame, as_of=None
    ).tolist() == [True, False, True, True]  # the API's $ne: missing matches
    assert rows("industry not in ['A']") == [1, 3]  # missing matches $nin
    assert rows("industry.isna()") == [3]
    assert rows("ootb_churn_risk_score > 50 or industry == 'A'") == [0, 1, 2, 3]
    assert rows("ootb_last_activity_date >= '2026-02-01'") == [1, 3]
    assert rows("industry.str.contains('a', case=False)") == [0, 2]


def test_absent_columns_evaluate_to_unknown() -> None:
    frame = pd.DataFrame({"industry": pd.array(["A", "B"], dtype="string")})
    mask = evaluate(
        parse_where("industry == 'A' and ootb_churn_risk_score > 3", ACCOUNT), frame, as_of=None
    )
    assert mask.tolist() == [pd.NA, False]


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
        mask = evaluate(parse_where(text, ACCOUNT), frame, as_of=None)
        assert [i for i, v in enumerate(mask.tolist()) if v is True] == expected, text


def test_relative_periods_are_judged_at_the_instant_given_never_the_clock() -> None:
    frame = pd.DataFrame(
        {
            "ootb_last_activity_date": pd.array(
                [pd.Timestamp("2026-03-15", tz="UTC"), pd.Timestamp("2026-04-02", tz="UTC"), None],
                dtype="datetime64[ms, UTC]",
            )
        }
    )
    node = parse_where("ootb_last_activity_date.within('this_month')", ACCOUNT)
    march = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    april = dt.datetime(2026, 4, 20, tzinfo=dt.UTC)
    assert evaluate(node, frame, as_of=march).tolist() == [True, False, False]
    assert evaluate(node, frame, as_of=april).tolist() == [False, True, False]
    # certain checks say "unknown" without an instant; a plain check refuses to guess one
    assert evaluate(node, frame, as_of=None, certain=True).tolist() == [pd.NA, pd.NA, False]
    with pytest.raises(ValueError, match="as_of="):
        evaluate(node, frame, as_of=None)
