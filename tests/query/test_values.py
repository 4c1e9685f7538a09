"""Values checked against the catalog types: dates and times become epoch milliseconds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bspandas.query import parse_filter, parse_where

ACCOUNT = "account"


def api(text: str, **variables: object) -> object:
    return parse_where(text, ACCOUNT, variables=variables).to_api()


def leaf(slug: str, clause: dict[str, object], variation: str | None = None) -> dict[str, object]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


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
