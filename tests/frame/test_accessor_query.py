"""``df.backstory.query``: a read_query where-string applied to the frame it returned.

``DataFrame.query`` refuses a naive date string against a UTC column (pandas issue 26236),
so the accessor applies read_query's own rules locally. The oracle is the server: the same
where-string sent with ``read_query`` must select the same rows, on both dtype backends, at a
tenant clock far from this machine's.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import bspandas as bs
from bspandas.sandbox import Sandbox, serve

COLUMNS = [
    "ootb_opportunity_crm_id",
    "ootb_opportunity_close_date",
    "ootb_opportunity_converted_amount",
    "ootb_opportunity_current_stage",
    "ootb_opportunity_is_won",
]
KEY = "ootb_opportunity_crm_id"
WHERES = [
    "ootb_opportunity_close_date >= '2025-09-01'",
    "ootb_opportunity_close_date < '2025-06-30' or ootb_opportunity_is_won == True",
    "ootb_opportunity_close_date.within('this_month')",
    "ootb_opportunity_close_date.within('last_90_days')",
    "ootb_opportunity_converted_amount != 50000",
    "ootb_opportunity_converted_amount.isna() or ootb_opportunity_current_stage == 'Closed Won'",
    "not (ootb_opportunity_is_won == True)",
]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve(seed=5, accounts=60, users=6, as_of="2025-10-15T09:30:00Z", hourly_budget=0) as s:
        yield s


@pytest.fixture(scope="module", params=["numpy_nullable", "pyarrow"])
def opps(sb: Sandbox, request: pytest.FixtureRequest) -> tuple[pd.DataFrame, str]:
    with sb.client() as client:
        frame = bs.read_query("opportunity", COLUMNS, client=client, dtype_backend=request.param)
    return frame, request.param


@pytest.mark.parametrize("where", WHERES)
def test_query_selects_what_the_server_selects(
    sb: Sandbox, opps: tuple[pd.DataFrame, str], where: str
) -> None:
    frame, backend = opps
    with sb.client() as client:
        served = bs.read_query(
            "opportunity", COLUMNS, where=where, client=client, dtype_backend=backend
        )
    local = frame.backstory.query(where)
    assert 0 < len(local) < len(frame) or len(served) in (0, len(frame))
    assert sorted(local[KEY]) == sorted(served[KEY])
    assert (local.dtypes == frame.dtypes).all()


def test_naive_date_strings_need_the_accessor_in_pandas(opps: tuple[pd.DataFrame, str]) -> None:
    frame, _ = opps
    close = frame["ootb_opportunity_close_date"]
    expected = frame.loc[(close >= pd.Timestamp("2025-09-01", tz="UTC")).fillna(False).to_numpy()]
    local = frame.backstory.query("ootb_opportunity_close_date >= '2025-09-01'")
    assert local[KEY].tolist() == expected[KEY].tolist()
    # pandas' own query takes the zone-qualified spelling the README documents
    zoned = frame.query("ootb_opportunity_close_date >= '2025-09-01T00:00:00Z'")
    assert zoned[KEY].tolist() == expected[KEY].tolist()


def test_variables_come_from_the_caller_or_the_dicts(opps: tuple[pd.DataFrame, str]) -> None:
    frame, _ = opps
    ids = np.asarray(frame[KEY].iloc[:3].tolist(), dtype=object)
    assert frame.backstory.query(f"{KEY} in @ids")[KEY].tolist() == list(ids)
    some = pd.Index(frame[KEY].iloc[3:5])
    picked = frame.backstory.query(f"{KEY} in @chosen", local_dict={"chosen": some})
    assert picked[KEY].tolist() == list(some)


def test_relative_periods_are_judged_at_the_recorded_server_date(
    opps: tuple[pd.DataFrame, str],
) -> None:
    frame, _ = opps
    assert frame.attrs["backstory"]["server_date"].startswith("2025-10-15T09:30")
    close = frame["ootb_opportunity_close_date"]
    start, end = pd.Timestamp("2025-10-01", tz="UTC"), pd.Timestamp("2025-11-01", tz="UTC")
    inside = ((close >= start) & (close < end)).fillna(False).to_numpy()
    local = frame.backstory.query("ootb_opportunity_close_date.within('this_month')")
    assert local[KEY].tolist() == frame.loc[inside, KEY].tolist()


def test_a_bad_where_string_is_a_library_error(opps: tuple[pd.DataFrame, str]) -> None:
    frame, _ = opps
    with pytest.raises(bs.InvalidFilterError, match=r"ambiguous|ISO"):
        frame.backstory.query("ootb_opportunity_close_date >= '01/02/2026'")
