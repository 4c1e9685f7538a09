"""Property-based tests (hypothesis): adversarial values and random filters, end to end.

* CSV round trip: random columns of every catalog type, with adversarial text, are served by
  the sandbox (``Sandbox.override``) and read back equal by ``read_query``.
* Filters: random conditions, written as a where-string and as an API dict, give the rows
  pandas selects on the full frame (``DataFrame.query``, an independent evaluator).
* Malformed input to the public API raises the library's errors, never a stray exception.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas._io.dtypes import dtype_for
from bspandas.sandbox import Sandbox, serve

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve(seed=5, accounts=8, users=4, hourly_budget=0) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sb: Sandbox) -> Iterator[Client]:
    with sb.client(retry=RetryPolicy(attempts=2, backoff=0.01), hourly_budget=100_000) as c:
        yield c


# -- CSV round trip ---------------------------------------------------------------------------

TRICKY = ["", " ", "007", "0011", "True", "false", "1e5", "-3.50", "NaN", "null", "None", "[a;b]"]
TEXT = st.one_of(
    st.sampled_from(TRICKY),
    st.text(
        alphabet=st.sampled_from(list(", \"'\n\r;|é€中😀Ωabc0" + string.ascii_letters)),
        max_size=12,
    ),
)
ITEM = st.text(alphabet=string.ascii_letters + " ,\"é'", min_size=1, max_size=6)

# one opportunity slug per catalog type, with a strategy for its values (None: missing)
ROUND_TRIP: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "ootb_opportunity_name": ("text", TEXT),
    "ootb_opportunity_crm_id": ("id", st.from_regex(r"\A0[0-9A-Za-z]{14}\Z")),
    "ootb_opportunity_id": ("internal_id", st.integers(1, 2**53)),
    "ootb_days_in_current_stage": ("count", st.integers(0, 10**12)),
    "ootb_stage_progression_velocity": (
        "number",
        st.integers(-(10**9), 10**9).map(lambda i: i / 10**4),
    ),
    "ootb_win_probability_score": ("score", st.integers(0, 10**6).map(lambda i: i / 10**4)),
    "ootb_stage_probability": ("percentage", st.integers(0, 10**6).map(lambda i: i / 10**4)),
    "ootb_opportunity_converted_amount": ("money", st.integers(0, 10**13).map(lambda i: i / 100)),
    "ootb_opportunity_is_won": ("boolean", st.booleans()),
    "ootb_opportunity_close_date": ("date", st.dates(dt.date(1970, 1, 1), dt.date(9999, 12, 31))),
    "ootb_opportunity_created_at": (
        "timestamp",
        st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2200, 1, 1)).map(
            lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
        ),
    ),
    "ootb_opportunity_days_in_stage": ("duration", st.integers(0, 10**8)),
    "ootb_opportunity_forecast_category": (
        "enumeration",
        st.sampled_from(["Pipeline", "Best Case", "Commit", "Closed", "Omitted"]),
    ),
    "ootb_opportunity_owners": ("list", st.lists(ITEM, max_size=4)),
}


def _arrow(kind: str, values: list[Any]) -> pa.Array:
    if kind == "timestamp":
        return pa.array(values, type=pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s"))
    if kind == "duration":
        return pa.array(values, type=pa.int64())
    return pa.array(values)


def _expected(kind: str, values: list[Any]) -> pd.Series:
    if kind == "date":
        stamps = [None if v is None else pd.Timestamp(v, tz="UTC") for v in values]
        return pd.Series(pd.array(stamps, dtype="datetime64[ms, UTC]"))
    if kind == "timestamp":
        return pd.Series(pd.array(values, dtype="datetime64[ms, UTC]"))
    if kind == "duration":
        seconds = [np.nan if v is None else v for v in values]
        return pd.Series(pd.to_timedelta(seconds, unit="s").astype("timedelta64[ns]"))
    if kind == "list":
        return pd.Series(values, dtype=dtype_for("list"))
    if kind == "enumeration":
        return pd.Series(values).astype(
            dtype_for(
                "enumeration",
                values=["Pipeline", "Best Case", "Commit", "Closed", "Omitted"],
                ordered=True,
            )
        )
    return pd.Series(pd.array(values, dtype=dtype_for(kind)))


@st.composite
def columns(draw: st.DrawFn, rows: int) -> dict[str, list[Any]]:
    return {
        slug: draw(st.lists(st.one_of(st.none(), strategy), min_size=rows, max_size=rows))
        for slug, (_, strategy) in ROUND_TRIP.items()
    }


def test_every_catalog_type_is_covered() -> None:
    assert {kind for kind, _ in ROUND_TRIP.values()} == set(bs.catalog.TYPES)


@SETTINGS
@given(data=st.data())
def test_csv_round_trip_of_adversarial_values(
    sb: Sandbox, client: Client, data: st.DataObject
) -> None:
    rows = sb.engine.rows("opportunity")
    generated = data.draw(columns(rows))
    for slug, values in generated.items():
        sb.override("opportunity", slug, _arrow(ROUND_TRIP[slug][0], values))
    frame = bs.read_query("opportunity", list(ROUND_TRIP), client=client, validate=False)
    assert list(frame.columns) == list(ROUND_TRIP)
    for slug, values in generated.items():
        kind = ROUND_TRIP[slug][0]
        expected = _expected(kind, values).rename(slug)
        pd.testing.assert_series_equal(
            frame[slug], expected, check_names=True, obj=f"{slug} ({kind})"
        )


# -- filters -------------------------------------------------------------------------------

FILTER_COLUMNS = [
    "ootb_opportunity_crm_id",
    "ootb_opportunity_name",
    "ootb_opportunity_converted_amount",
    "ootb_opportunity_current_stage",
    "ootb_opportunity_is_won",
    "ootb_opportunity_close_date",
    "ootb_win_probability_score",
]


@pytest.fixture(scope="module")
def filter_client() -> Iterator[Client]:
    """A sandbox of its own: the round-trip test overrides values of the other one."""
    with (
        serve(seed=5, accounts=30, users=6, hourly_budget=0) as other,
        other.client(hourly_budget=100_000) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def full(filter_client: Client) -> pd.DataFrame:
    frame = bs.read_query("opportunity", FILTER_COLUMNS, client=filter_client)
    assert not frame.isna().any().any(), "the oracle needs columns without missing values"
    return frame


@st.composite
def leaf(draw: st.DrawFn, frame: pd.DataFrame) -> tuple[str, str, Any]:
    column = draw(st.sampled_from(FILTER_COLUMNS[1:]))
    values = frame[column]
    if column == "ootb_opportunity_is_won":
        return column, draw(st.sampled_from(["==", "!="])), draw(st.booleans())
    if column == "ootb_opportunity_current_stage":
        op = draw(st.sampled_from(["==", "!=", "in", "not in"]))
        stages = list(values.cat.categories)
        value = (
            draw(st.lists(st.sampled_from(stages), min_size=1, max_size=3, unique=True))
            if "in" in op
            else draw(st.sampled_from(stages))
        )
        return column, op, value
    if column == "ootb_opportunity_name":
        op = draw(st.sampled_from(["==", "!=", "in"]))
        names = values.tolist()
        value = (
            draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
            if op == "in"
            else draw(st.sampled_from(names))
        )
        return column, op, value
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    value = draw(st.sampled_from(values.tolist()))
    value = pd.Timestamp(value) if column == "ootb_opportunity_close_date" else float(value)
    return column, op, value


@st.composite
def tree(draw: st.DrawFn, frame: pd.DataFrame, depth: int = 2) -> Any:
    if depth == 0 or draw(st.booleans()):
        return ("leaf", draw(leaf(frame)))
    kind = draw(st.sampled_from(["and", "or", "not"]))
    if kind == "not":
        return ("not", draw(tree(frame, depth - 1)))
    return (kind, [draw(tree(frame, depth - 1)) for _ in range(draw(st.integers(2, 3)))])


def render_where(node: Any, names: dict[str, Any]) -> str:
    kind, body = node
    if kind == "leaf":
        column, op, value = body
        name = f"v{len(names)}"
        names[name] = value
        return f"({column} {op} @{name})"
    if kind == "not":
        return f"(not {render_where(body, names)})"
    return "(" + f" {kind} ".join(render_where(child, names) for child in body) + ")"


_API = {
    "==": "$eq",
    "!=": "$ne",
    "<": "$lt",
    "<=": "$lte",
    ">": "$gt",
    ">=": "$gte",
    "in": "$in",
    "not in": "$nin",
}
_NOT = {
    "$eq": "$ne",
    "$ne": "$eq",
    "$lt": "$gte",
    "$gte": "$lt",
    "$gt": "$lte",
    "$lte": "$gt",
    "$in": "$nin",
    "$nin": "$in",
}


def render_api(node: Any, negate: bool = False) -> dict[str, Any]:
    """The API dict, written independently of bspandas.query (De Morgan by hand)."""
    kind, body = node
    if kind == "leaf":
        column, op, value = body
        api = _API[op]
        api = _NOT[api] if negate else api
        if isinstance(value, pd.Timestamp):
            value = int(value.value // 10**6)
        return {"attribute": {"slug": column}, "clause": {api: value}}
    if kind == "not":
        return render_api(body, not negate)
    logical = {"and": "$and", "or": "$or"}[kind]
    if negate:
        logical = "$or" if logical == "$and" else "$and"
    return {logical: [render_api(child, negate) for child in body]}


@SETTINGS
@given(data=st.data())
def test_random_filters_select_what_pandas_selects(
    full: pd.DataFrame, filter_client: Client, data: st.DataObject
) -> None:
    node = data.draw(tree(full))
    names: dict[str, Any] = {}
    where = render_where(node, names)
    expected = set(full.query(where, engine="python", local_dict=names)["ootb_opportunity_crm_id"])
    query = bs.Query("opportunity", FILTER_COLUMNS[:1], where=where, variables=names)
    by_where = bs.read_query(query, client=filter_client)
    by_dict = bs.read_query(
        "opportunity", FILTER_COLUMNS[:1], filter=render_api(node), client=filter_client
    )
    assert set(by_where["ootb_opportunity_crm_id"]) == expected, where
    assert set(by_dict["ootb_opportunity_crm_id"]) == expected, where


# -- malformed input ------------------------------------------------------------------------

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
WORDS = st.sampled_from(
    ["industry", "ootb_churn_risk_score", "ootb_emails_sent_last_7_days", "and", "or", "not",
     "==", ">=", "in", "(", ")", "[", "]", "'x'", "3", "@v", ".isna()", ",", "\x00", "True"]
)  # fmt: skip


@SETTINGS
@given(
    obj=st.one_of(st.sampled_from(["account", "opportunity", "user", "activity"]), JUNK),
    columns=st.one_of(JUNK, st.lists(st.sampled_from(["industry", "ootb_emails_sent", "x"]))),
    where=st.one_of(st.none(), st.text(max_size=30), st.lists(WORDS, max_size=8).map(" ".join)),
    filter=st.one_of(st.none(), JUNK),
    sort=JUNK,
)
def test_malformed_input_gets_the_library_errors(
    obj: Any, columns: Any, where: Any, filter: Any, sort: Any
) -> None:
    v = 1  # noqa: F841 - a variable for @v in generated where strings
    try:
        payload = bs.read_query(obj, columns, where=where, filter=filter, sort=sort, dry_run=True)
    except bs.BackstoryError:
        return
    assert payload["object"] == obj
    assert payload["columns"]


def test_huge_in_list_gets_a_clear_error(sb: Sandbox, client: Client) -> None:
    ids = list(range(10**9, 10**9 + 200_000))  # noqa: F841 - read by @ids below
    payload = bs.read_query(
        "opportunity", ["ootb_opportunity_id"], where="ootb_opportunity_id in @ids", dry_run=True
    )
    assert len(payload["filter"]["clause"]["$in"]) == 200_000
    with pytest.raises(bs.BadRequestError, match="too large"):
        bs.read_query(
            "opportunity",
            ["ootb_opportunity_id"],
            where="ootb_opportunity_id in @ids",
            client=client,
        )


# -- deep nesting and method arguments ------------------------------------------------------

ARGUMENT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.sampled_from(
        ["'a'", "'a|b'", "'('", "'both'", "'neither'", "'left'", "'all'", "('a', 'b')"]
    ),
    st.sampled_from(["[1, 2]", "[]", "@v", "-1.5", "float('nan')", "[[1]]", "{'a': 1}"]),
).map(str)
KEYWORD = st.sampled_from(
    ["case", "flags", "na", "regex", "inclusive", "pat", "left", "right", "values", "foo"]
)
METHOD = st.sampled_from(
    [
        "industry.str.contains",
        "industry.str.match",
        "industry.str.fullmatch",
        "industry.str.startswith",
        "industry.str.endswith",
        "industry.str.lower",
        "ootb_churn_risk_score.between",
        "ootb_churn_risk_score.isin",
        "ootb_churn_risk_score.isna",
        "ootb_churn_risk_score.notna",
        "ootb_last_activity_date.within",
    ]
)


@st.composite
def method_call(draw: st.DrawFn) -> str:
    args = draw(st.lists(ARGUMENT, max_size=6))
    keywords = draw(st.lists(st.tuples(KEYWORD, ARGUMENT), max_size=4))
    inside = [*args, *(f"{k}={v}" for k, v in keywords)]
    return f"{draw(METHOD)}({', '.join(inside)})"


LEVELS = [0, 1, 63, 64, 65, 66, 200, 999, 5_000, 100_000]


@st.composite
def deep_where(draw: st.DrawFn) -> str:
    levels = draw(st.one_of(st.sampled_from(LEVELS), st.integers(0, 3_000)))
    shape = draw(st.sampled_from(["not", "~", "and-or", "parens", "minus", "list", "amp"]))
    base = draw(st.one_of(method_call(), st.just("industry == 'A'")))
    if shape in ("not", "~"):
        return (shape + " ") * levels + f"({base})"
    if shape == "and-or":
        text = base
        for i in range(levels):
            text = f"(ootb_churn_risk_score > {i} {'and' if i % 2 else 'or'} {text})"
        return text
    if shape == "parens":
        return "(" * levels + base + ")" * levels
    if shape == "minus":
        return "ootb_churn_risk_score > " + "-" * levels + "1"
    if shape == "list":
        return "ootb_churn_risk_score in " + "[" * levels + "1" + "]" * levels
    return " & ".join([f"({base})"] * max(1, levels))


@st.composite
def deep_dict(draw: st.DrawFn) -> Any:
    levels = draw(st.one_of(st.sampled_from(LEVELS[:-1]), st.integers(0, 5_000)))
    spec: Any = draw(st.one_of(JUNK, st.just({"industry": "A"})))
    for _ in range(levels):
        key = draw(st.sampled_from(["$and", "$or", "$not", "industry"]))
        spec = {key: [spec, *draw(st.lists(JUNK, max_size=1))]}
    return spec


@st.composite
def deep_spec(draw: st.DrawFn) -> Any:
    """A column or sort spec wrapped in lists, tuples and dicts, up to very deep."""
    levels = draw(st.one_of(st.sampled_from(LEVELS[:-1]), st.integers(0, 6)))
    spec: Any = draw(st.sampled_from(["ootb_account_name", "industry", "-industry", 3]))
    for _ in range(levels):
        wrap = draw(st.sampled_from(["list", "tuple", "dict"]))
        spec = [spec] if wrap == "list" else (spec, "desc") if wrap == "tuple" else {"slug": spec}
    return spec


@settings(SETTINGS, max_examples=80)
@given(
    where=st.one_of(st.none(), deep_where(), method_call()),
    filter=st.one_of(st.none(), deep_dict()),
    columns=st.one_of(st.just(["ootb_account_name"]), deep_spec()),
    sort=st.one_of(st.none(), deep_spec()),
)
def test_deep_nesting_and_method_arguments_get_the_library_errors(
    where: str | None, filter: Any, columns: Any, sort: Any
) -> None:
    v = [1]  # noqa: F841 - a variable for @v in generated where strings
    try:
        payload = bs.read_query(
            "account", columns, where=where, filter=filter, sort=sort, dry_run=True
        )
    except bs.BackstoryError:
        return
    assert payload["object"] == "account"
