"""Typed frames built by hand with catalog column names (both dtype backends), shared by
the frame tests."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bspandas import frame as reshape
from bspandas._io.dtypes import Backend

BACKENDS: tuple[Backend, ...] = ("numpy_nullable", "pyarrow")
STAGES = list(reshape.DEFAULT_STAGE_PROBABILITY)


# -- building typed frames by hand -----------------------------------------------------------


def typed(obj: str, name: str, values: Sequence[Any], backend: Backend = "numpy_nullable") -> Any:
    """``values`` with the catalog dtype of column ``name`` (both backends)."""
    info = reshape.catalog_columns([name], obj)[name]
    dtype = info.dtype(backend)
    kind = info.part.type
    if kind in ("date", "timestamp"):
        series = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    elif kind == "duration":
        series = pd.Series(pd.to_timedelta(pd.Series(values, dtype=object)))
    else:
        series = pd.Series(values, dtype=object)
    return series.astype(dtype).array


def frame_of(
    obj: str,
    data: Mapping[str, Sequence[Any]],
    backend: Backend = "numpy_nullable",
    index: pd.Index | None = None,
) -> pd.DataFrame:
    return pd.DataFrame(
        {name: typed(obj, name, values, backend) for name, values in data.items()}, index=index
    )


def accounts_frame(backend: Backend = "numpy_nullable", n: int = 4) -> pd.DataFrame:
    """Several metrics and periods, interleaved with plain and expanded columns."""
    rng = np.random.default_rng(7)
    ints = [int(v) for v in rng.integers(0, 50, n)]
    data: dict[str, Sequence[Any]] = {
        "ootb_account_crm_id": [f"001{i:04d}" for i in range(n)],
        "ootb_emails_sent_current_quarter": ints,
        "ootb_account_name": [f"Account {i}" for i in range(n)],
        "ootb_emails_sent_last_7_days": [v // 3 for v in ints],
        "ootb_account_percentage_emails_inbound_last_90_days": [
            None if i == 1 else 12.5 * i for i in range(n)
        ],
        "ootb_emails_sent_last_30_days": [None if i == 2 else v // 2 for i, v in enumerate(ints)],
        "ootb_account_original_owner_id": [1000 + i for i in range(n)],
        "ootb_account_original_owner_name": [f"Owner {i}" for i in range(n)],
        "ootb_churn_risk_score": [float(10 * i) for i in range(n)],
        "ootb_account_percentage_emails_inbound_last_30_days": [5.0 + i for i in range(n)],
    }
    return frame_of("account", data, backend)


def mixed_frame(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    """Variation columns of different dtypes: count, money, boolean, date, duration."""
    return frame_of(
        "account",
        {
            "ootb_account_crm_id": ["001A", "001B", "001C"],
            "ootb_meetings_held_last_7_days": [1, None, 3],
            "ootb_won_pipeline_value_current_year": [1000.5, 0.0, None],
            "ootb_executive_engagement_current": [True, None, False],
            "ootb_last_activity_date_current": ["2026-01-02", None, "2025-12-31"],
            "ootb_account_total_activities_time_spent_standard_last_30_days": [
                "1:30:00",
                "27:00:05",
                None,
            ],
        },
        backend,
    )


def opportunities_frame(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    return frame_of(
        "opportunity",
        {
            "crm_opportunity_id": ["006A", "006B", "006C", "006D", "006E", "006F"],
            "crm_account_id": ["0010001", "0010000", "0010001", "0019999", None, "0010003"],
            "ootb_opportunity_amount": [100.0, 250.0, None, 40.0, 10.0, 500.0],
            "ootb_opportunity_amount_currency": ["USD", "USD", "USD", "USD", "USD", "USD"],
            "ootb_opportunity_stage": [
                "Proposal",
                "Closed Won",
                "Negotiation",
                "Prospecting",
                "Closed Lost",
                "Closed Lost",
            ],
            "ootb_opportunity_is_closed": [False, True, False, False, True, True],
            "ootb_opportunity_close_date": ["2026-03-01", None, "2026-02-01", None, None, None],
            "ootb_opportunity_owner_id": [1, 2, 3, 4, 5, 6],
        },
        backend,
    )


def drop_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {}
    return out


def join_accounts(backend: Backend = "numpy_nullable") -> pd.DataFrame:
    return frame_of(
        "account",
        {
            "ootb_account_crm_id": ["0010000", "0010001", "0010002", "0010003"],
            "ootb_account_name": ["Acme", "Bolt", "Cask", "Dune"],
            "ootb_account_id": [10, 11, 12, 13],
            "ootb_churn_risk_score": [10.0, 20.0, None, 40.0],
            "ootb_engagement_trend": ["stable", None, "declining", "increasing"],
            "ootb_executive_engagement_current": [True, False, None, True],
        },
        backend,
    )


@contextlib.contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
