"""A fiscal period is judged only by the server, which knows the tenant's fiscal calendar.

The Query API ignores owner filters on opportunities, so an ``or`` that mixes one with
``.within('this_fyear')`` is applied after the download. The client does not know when the
tenant's fiscal year starts, so it must refuse rather than return calendar-year rows (a new
user found 22 extra and 11 missing rows that way). The oracle for the cases that stay
allowed is plain pandas on the raw CSV and the server's own ``$within`` answer.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests

import bspandas as bs
from bspandas._http.wire import EXPORT_PATH, TOKEN_PATH
from bspandas.sandbox import Sandbox, serve

COLUMNS = ["ootb_opportunity_crm_id", "ootb_opportunity_owner", "ootb_opportunity_close_date"]
CLOSE = "ootb_opportunity_close_date"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve(seed=3, accounts=60, users=6, as_of="2025-03-15", fiscal_year_start=2) as s:
        yield s


def _raw(sb: Sandbox, where: dict[str, Any] | None = None) -> pd.DataFrame:
    """The answer as plain pandas reads it: labels as columns, every cell a string."""
    token = requests.post(
        sb.url(TOKEN_PATH),
        data={
            "grant_type": "client_credentials",
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
        },
        timeout=30,
    ).json()["access_token"]
    payload: dict[str, Any] = {"object": "opportunity", "columns": [{"slug": s} for s in COLUMNS]}
    if where is not None:
        payload["filter"] = where
    answer = requests.post(
        sb.url(EXPORT_PATH), json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return pd.read_csv(io.StringIO(answer.text), dtype=str, keep_default_na=False)


def _within(period: str) -> dict[str, Any]:
    return {"attribute": {"slug": CLOSE}, "clause": {"$within": {"$ref": f"time_ranges.{period}"}}}


def _owners(raw: pd.DataFrame) -> list[int]:
    return [int(i) for i in raw["Opportunity Owner (id)"].value_counts().index[:2]]


@pytest.mark.parametrize("period", ["this_fyear", "last_fyear", "this_quarter", "last_quarter"])
def test_a_fiscal_period_beside_an_ignored_filter_is_refused_before_sending(
    sb: Sandbox, period: str
) -> None:
    ids = _owners(_raw(sb))
    before = sb.count(endpoint="export")
    with sb.client() as client, pytest.raises(bs.InvalidFilterError, match="fiscal calendar"):
        bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"ootb_opportunity_owner_id in @ids or {CLOSE}.within('{period}')",
            local_dict={"ids": ids},
            client=client,
        )
    assert sb.count(endpoint="export") == before


def test_a_fiscal_period_the_server_applies_stays_exact(sb: Sandbox) -> None:
    raw = _raw(sb)
    ids = _owners(raw)
    fiscal = _raw(
        sb,
        {"attribute": {"slug": CLOSE}, "clause": {"$within": {"$ref": "time_ranges.this_fyear"}}},
    )
    owned = raw.loc[raw["Opportunity Owner (id)"].astype("int64").isin(ids), "CRM Id"]
    expected = set(owned) & set(fiscal["CRM Id"])
    with sb.client() as client:
        frame = bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"ootb_opportunity_owner_id in @ids and {CLOSE}.within('this_fyear')",
            client=client,
        )
    assert set(frame["ootb_opportunity_crm_id"]) == expected
    assert 0 < len(expected) < len(owned)


def test_a_calendar_period_beside_an_ignored_filter_is_applied_exactly(sb: Sandbox) -> None:
    raw = _raw(sb)
    ids = _owners(raw)
    month = _raw(
        sb,
        {"attribute": {"slug": CLOSE}, "clause": {"$within": {"$ref": "time_ranges.this_month"}}},
    )
    owned = raw.loc[raw["Opportunity Owner (id)"].astype("int64").isin(ids), "CRM Id"]
    expected = set(owned) | set(month["CRM Id"])
    with sb.client() as client:
        frame = bs.read_query(
            "opportunity",
            COLUMNS,
            where=f"ootb_opportunity_owner_id in @ids or {CLOSE}.within('this_month')",
            client=client,
        )
    assert set(frame["ootb_opportunity_crm_id"]) == expected
    assert len(month) > 0
