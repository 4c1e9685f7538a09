"""A where-string selects the rows ``DataFrame.query`` selects with it, on both backends.

The sandbox serves opportunity columns of every filterable family (text, enumeration,
number, boolean, date, timestamp) with missing values. Random filters are written once as a
where-string and run twice: by ``read_query`` (sent to the server) and by plain
``DataFrame.query`` on the unfiltered frame (an evaluator bspandas does not control).

pandas' own missing-value rules differ by dtype: numbers, booleans and Arrow timestamps
compare NA as unknown (``x != 1`` drops it), text keeps it as a value (``x != 'a'`` keeps
it), and numpy's ``NaT`` compares unequal to everything (``d != v`` keeps it). The oracle
is therefore ``DataFrame.query`` on the pyarrow-backend frame for every filter, and on the
default frame for filters that touch no date (its ``NaT`` rules are numpy's). pandas' answer
for a date even depends on how the value is spelled (compared with a string, a missing date
gives a numpy ``False`` that ``not`` turns into ``True``), so the oracle reads each spelling
as the ``Timestamp`` it means while ``read_query`` gets the spelling drawn.

Dates and timestamps are UTC columns in both backends, so ``DataFrame.query`` compares them
with values that carry their time zone: ``Timestamp``/``datetime`` with ``tz``, or strings
such as ``'2026-01-02T00:00:00Z'``. pandas refuses a naive value (``'2026-01-02'``) on a UTC
column; ``read_query`` takes it as UTC (tested below, not against pandas).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

import bspandas as bs
from bspandas._exceptions import InvalidFilterError
from bspandas._http.client import Client
from bspandas.catalog import store
from bspandas.query import parse_where
from bspandas.sandbox import serve

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEY = "ootb_opportunity_crm_id"
STAGES = list(store.lookup("ootb_opportunity_current_stage", "opportunity").values)
COLUMNS = {
    "ootb_opportunity_name": "text",
    "ootb_opportunity_current_stage": "enumeration",
    "ootb_opportunity_converted_amount": "money",
    "ootb_opportunity_is_won": "boolean",
    "ootb_opportunity_close_date": "date",
    "ootb_opportunity_created_at": "timestamp",
}
TIME = {"ootb_opportunity_close_date", "ootb_opportunity_created_at"}


def _values(kind: str, rows: int, rng: np.random.Generator) -> pa.Array:
    """Values with repeats (so == and in select rows) and about one in six missing."""
    missing = rng.random(rows) < 0.17
    pick = rng.integers(0, 5, rows)
    if kind == "text":
        pool: list[Any] = ["Acme renewal", "Acme", "Globex", "acme renewal", "Initech"]
        data: list[Any] = [pool[i] for i in pick]
    elif kind == "enumeration":
        data = [STAGES[i % len(STAGES)] for i in rng.integers(0, len(STAGES), rows)]
    elif kind == "money":
        data = [float(v) for v in np.round(rng.choice([0.0, 999.5, 1000.0, 2e4, 7.25], rows), 2)]
    elif kind == "boolean":
        data = [bool(v) for v in rng.integers(0, 2, rows)]
    elif kind == "date":
        data = [
            dt.date(2026, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(-40, 40, rows)
        ]
    else:
        data = [
            dt.datetime(2026, 1, 1) + dt.timedelta(seconds=int(s))
            for s in rng.integers(-86_400 * 20, 86_400 * 20, rows) // 3600 * 3600
        ]
    values = [None if gone else value for value, gone in zip(data, missing, strict=True)]
    types = {"date": pa.date32(), "timestamp": pa.timestamp("s")}
    return pa.array(values, types.get(kind))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        serve(seed=9, accounts=40, users=6, hourly_budget=0) as sb,
        sb.client(hourly_budget=100_000) as c,
    ):
        rng = np.random.default_rng(20261201)
        rows = sb.engine.rows("opportunity")
        for slug, kind in COLUMNS.items():
            sb.override("opportunity", slug, _values(kind, rows, rng))
        yield c


@pytest.fixture(scope="module")
def frames(client: Client) -> dict[str, pd.DataFrame]:
    names = [KEY, *COLUMNS]
    frames = {
        backend: bs.read_query("opportunity", names, client=client, dtype_backend=backend)
        for backend in ("numpy_nullable", "pyarrow")
    }
    for frame in frames.values():
        assert frame[list(COLUMNS)].isna().any().all(), "every column needs missing values"
        assert frame[KEY].is_unique
    return frames


@st.composite
def leaf(draw: st.DrawFn, frame: pd.DataFrame) -> tuple[str, str, Any]:
    column = draw(st.sampled_from(list(COLUMNS)))
    present = frame[column].dropna()
    kind = COLUMNS[column]
    if kind == "boolean":
        return column, draw(st.sampled_from(["==", "!="])), draw(st.booleans())
    if kind in ("text", "enumeration"):
        op = draw(st.sampled_from(["==", "!=", "in", "not in"]))
        pool = sorted(set(map(str, present)))
        if "in" in op:
            return column, op, draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        return column, op, draw(st.sampled_from(pool))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    value = draw(st.sampled_from(present.tolist()))
    if kind == "money":
        return column, op, float(value)
    stamp = pd.Timestamp(value).tz_convert("UTC")
    # the spellings users hold, all meaning the same instant (with their time zone: pandas
    # cannot compare a naive value with a UTC column, see the module docstring)
    spellings = [stamp, stamp.to_pydatetime(), stamp.isoformat().replace("+00:00", "Z")]
    return column, op, draw(st.sampled_from(spellings))


@st.composite
def tree(draw: st.DrawFn, frame: pd.DataFrame, depth: int = 2) -> Any:
    if depth == 0 or draw(st.booleans()):
        return ("leaf", draw(leaf(frame)))
    kind = draw(st.sampled_from(["and", "or", "not"]))
    if kind == "not":
        return ("not", draw(tree(frame, depth - 1)))
    return (kind, [draw(tree(frame, depth - 1)) for _ in range(draw(st.integers(2, 3)))])


def render(node: Any, names: dict[str, Any]) -> str:
    kind, body = node
    if kind == "leaf":
        column, op, value = body
        name = f"v{len(names)}"
        names[name] = value
        return f"({column} {op} @{name})"
    if kind == "not":
        return f"(not {render(body, names)})"
    return "(" + f" {kind} ".join(render(child, names) for child in body) + ")"


def selected(frame: pd.DataFrame, where: str, names: dict[str, Any]) -> set[str]:
    return set(frame.query(where, engine="python", local_dict=names)[KEY])


@SETTINGS
@given(data=st.data())
def test_where_strings_select_what_dataframe_query_selects(
    frames: dict[str, pd.DataFrame], client: Client, data: st.DataObject
) -> None:
    node = data.draw(tree(frames["pyarrow"]))
    names: dict[str, Any] = {}
    where = render(node, names)
    # pandas' answer depends on how a date is spelled (a string compared in query gives a
    # numpy mask, so 'not' keeps missing dates); the oracle reads every spelling as the
    # Timestamp it means, read_query gets the spelling drawn
    canonical = {
        k: pd.Timestamp(v) if isinstance(v, str | dt.datetime) and _is_time(where, k) else v
        for k, v in names.items()
    }
    expected = selected(frames["pyarrow"], where, canonical)
    for backend in ("numpy_nullable", "pyarrow"):
        query = bs.Query("opportunity", [KEY], where=where, variables=names)
        got = bs.read_query(query, client=client, dtype_backend=backend)
        assert set(got[KEY]) == expected, (backend, where, names)
    if not any(column in where for column in TIME):
        assert selected(frames["numpy_nullable"], where, canonical) == expected, where


def _is_time(where: str, name: str) -> bool:
    """Whether ``@name`` is compared with a date or timestamp column in ``where``."""
    match = re.search(rf"\((\w+) [^()@]*@{name}\)", where)
    return match is not None and match.group(1) in TIME


def test_not_equal_keeps_missing_values_as_dataframe_query_does(
    frames: dict[str, pd.DataFrame], client: Client
) -> None:
    frame = frames["numpy_nullable"]
    for where in (
        "ootb_opportunity_converted_amount != 1000.0",  # NA != 1000 is NA: dropped
        "not (ootb_opportunity_converted_amount == 1000.0)",
        "ootb_opportunity_is_won != True",
        "ootb_opportunity_name != 'Acme'",  # text: a missing name is not 'Acme', kept
        "ootb_opportunity_current_stage not in ['Prospecting']",
    ):
        expected = selected(frame, where, {})
        got = bs.read_query("opportunity", [KEY], where=where, client=client)
        assert set(got[KEY]) == expected, where
    amount = frame["ootb_opportunity_converted_amount"]
    kept = bs.read_query(
        "opportunity",
        [KEY],
        where="ootb_opportunity_converted_amount != 1000.0",
        client=client,
    )
    assert len(kept) == int((amount != 1000.0).fillna(False).sum())  # plain pandas on values


# -- @name values ------------------------------------------------------------------------------


def _in(where: str, **names: Any) -> Any:
    return parse_where(where, "opportunity", variables=names).to_api()


@pytest.mark.parametrize(
    "holder",
    [
        pd.Series(["Acme", "Globex", "Acme"], dtype="string").unique(),  # StringArray
        pd.Series(["Acme", "Globex", "Acme"], dtype="string[pyarrow]").unique(),
        pd.Series(["Acme", "Globex"], dtype="category").unique(),  # Categorical
        pd.Index(["Acme", "Globex"]),
        np.array(["Acme", "Globex"]),
        {"Globex", "Acme"},
        frozenset({"Acme", "Globex"}),
        ("Acme", "Globex"),
        pd.Series(["Acme", "Globex"]),
    ],
    ids=lambda h: type(h).__name__,
)
def test_text_array_likes_work_as_at_names(holder: Any) -> None:
    clause = _in("ootb_opportunity_name in @names", names=holder)["clause"]
    assert sorted(clause["$in"]) == ["Acme", "Globex"]
    assert all(type(v) is str or isinstance(v, str) for v in clause["$in"])


@pytest.mark.parametrize(
    "holder",
    [
        pd.Series([1000, 20, 1000], dtype="Int64").unique(),  # IntegerArray
        pd.Series([1000.0, 20.0], dtype="Float64").unique(),
        pd.Series([1000, 20], dtype="int64[pyarrow]").unique(),
        np.array([1000, 20]),
        pd.Index([1000, 20]),
        {1000, 20},
    ],
    ids=lambda h: type(h).__name__,
)
def test_number_array_likes_work_as_at_names(holder: Any) -> None:
    import json

    clause = _in("ootb_opportunity_converted_amount in @amounts", amounts=holder)["clause"]
    assert sorted(clause["$in"]) == [20, 1000]
    json.dumps(clause)  # plain Python numbers on the wire


def test_date_array_likes_work_as_at_names() -> None:
    days = pd.Series(pd.to_datetime(["2026-01-02", "2026-01-03"], utc=True)).unique()
    clause = _in("ootb_opportunity_close_date in @days", days=days)["clause"]
    assert clause == {"$in": [1767312000000, 1767398400000]}
    numpy_days = np.array(["2026-01-02", "2026-01-03"], dtype="datetime64[ms]")
    assert _in("ootb_opportunity_close_date in @d", d=numpy_days)["clause"] == clause


def test_a_missing_value_in_an_at_list_matches_missing_rows() -> None:
    names = pd.Series(["Acme", None, "Acme"], dtype="string").unique()  # holds <NA>
    assert _in("ootb_opportunity_name in @n", n=names) == {
        "$or": [
            {"attribute": {"slug": "ootb_opportunity_name"}, "clause": {"$in": ["Acme"]}},
            {"attribute": {"slug": "ootb_opportunity_name"}, "clause": {"$exists": False}},
        ]
    }
    assert _in("ootb_opportunity_name not in @n", n=names) == {
        "attribute": {"slug": "ootb_opportunity_name"},
        "clause": {"$nin": ["Acme"], "$exists": True},
    }


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (pd.DataFrame({"a": range(50), "b": range(50)}), "DataFrame of 50"),
        ({"a": 1}, "a value or a list of values"),
        (np.zeros((3, 3)), "one-dimensional"),
        (list(range(200)), "compare it with a string"),
        (pd.Series(range(300)), "compare it with a string"),
    ],
    ids=["frame", "dict", "matrix", "long-list", "long-series"],
)
def test_a_bad_at_name_value_gets_a_one_line_error(value: Any, match: str) -> None:
    with pytest.raises(InvalidFilterError, match=match) as caught:
        parse_where("ootb_opportunity_name in @bad", "opportunity", variables={"bad": value})
    message = str(caught.value)
    assert "\n" not in message, message
    assert len(message) < 400, message


@pytest.mark.parametrize(
    "text", ["01/02/2026", "02-01-2026", "Jan 2 2026", "2026/01/02", "2026-01-02Z"]
)
def test_dates_are_iso_only(text: str) -> None:
    with pytest.raises(InvalidFilterError, match="ISO 8601") as caught:
        parse_where(f"ootb_opportunity_close_date >= '{text}'", "opportunity")
    assert "2026-01-02" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["2026-01-02", "2026-01-02T00:00:00Z", "2026-01-02 00:00:00+00:00", "2026-01-02T01:00+01:00"],
)
def test_iso_dates_mean_utc(text: str) -> None:
    clause = parse_where(f"ootb_opportunity_close_date >= '{text}'", "opportunity").to_api()
    assert clause["clause"] == {"$gte": 1767312000000}
    assert re.fullmatch(r"\d{13}", str(clause["clause"]["$gte"]))


# -- likely typos of enumeration values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "meant"),
    [
        ("ootb_opportunity_current_stage == 'Closed-Won'", "'Closed Won'"),
        ("ootb_opportunity_current_stage != 'closed won'", "'Closed Won'"),
        ("ootb_opportunity_current_stage in ['Proposal', 'Negotation']", "'Negotiation'"),
        ("ootb_opportunity_current_stage.isin(['Prospectng'])", "'Prospecting'"),
        ("ootb_opportunity_forecast_category not in ['Comit']", "'Commit'"),
        ("ootb_opportunity_forecast_category == 'best_case'", "'Best Case'"),
    ],
)
def test_a_likely_typo_of_a_known_value_warns(where: str, meant: str) -> None:
    with pytest.warns(bs.PossibleTypoWarning, match=f"did you mean {meant}") as caught:
        parse_where(where, "opportunity")
    assert caught[0].filename == __file__  # points at the caller, not at bspandas


@pytest.mark.parametrize(
    "where",
    [
        "ootb_opportunity_current_stage == 'Closed Won'",  # known
        "ootb_opportunity_current_stage == 'Closed Won - Renewal'",  # a tenant's own value
        "ootb_opportunity_current_stage in ['Discovery', 'Verbal Agreement']",
        "ootb_opportunity_forecast_category == 'Upside'",
        "ootb_opportunity_name == 'Closed-Won'",  # free text, not an enumeration
    ],
)
def test_values_far_from_every_known_one_do_not_warn(where: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_where(where, "opportunity")


def test_the_typo_warning_explains_an_empty_frame(client: Client) -> None:
    where = "ootb_opportunity_current_stage == 'Closed-Won'"
    with pytest.warns(bs.PossibleTypoWarning, match="Closed Won"):
        frame = bs.read_query("opportunity", [KEY], where=where, client=client)
    assert frame.empty
    fixed = bs.read_query("opportunity", [KEY], where=where.replace("-", " "), client=client)
    assert len(fixed) > 0


@pytest.mark.parametrize(
    ("spec", "meant"),
    [
        ({"ootb_opportunity_current_stage": "Closed-Won"}, "'Closed Won'"),
        ({"ootb_opportunity_current_stage": ["Proposal", "Negotation"]}, "'Negotiation'"),
        (
            {
                "attribute": {"slug": "ootb_opportunity_forecast_category"},
                "clause": {"$eq": "Comit"},
            },
            "'Commit'",
        ),
    ],
)
def test_a_likely_typo_in_a_filter_dict_warns_too(spec: dict[str, Any], meant: str) -> None:
    with pytest.warns(bs.PossibleTypoWarning, match=f"did you mean {meant}") as caught:
        bs.read_query("opportunity", [KEY], filter=spec, dry_run=True)
    assert "the filter" in str(caught[0].message)
    assert caught[0].filename == __file__


def test_a_tenant_value_in_a_filter_dict_does_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bs.read_query(
            "opportunity",
            [KEY],
            filter={"ootb_opportunity_current_stage": ["Closed Won", "Verbal Agreement"]},
            dry_run=True,
        )
