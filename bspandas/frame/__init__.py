"""What you do with a frame once you have it: column introspection, time-period
variations (pivot, melt), money and people, joins and roll-ups, describing columns,
fetching more metrics for the rows you have, snapshots and datasets on disk. Most of it is
also on the ``df.backstory`` accessor.

>>> import pandas as pd
>>> from bspandas import frame
>>> frame.is_long(pd.DataFrame({"a": [1]}))
False
"""

from bspandas.frame.enrich import fetch_columns, plan_fetch
from bspandas.frame.reshape import (
    ACCOUNT_KEYS,
    CORPORATE,
    DEFAULT_STAGE_PROBABILITY,
    AggregateSpec,
    ColumnInfo,
    JoinHow,
    JoinKey,
    Money,
    OrphanPolicy,
    aggregate_opportunities,
    catalog_columns,
    describe_columns,
    detect_backend,
    flatten_variations,
    infer_object,
    is_long,
    join_account,
    join_key,
    join_opportunities,
    melt_variations,
    money_column,
    person_labels,
    pivot_variations,
    primary_key_column,
    provenance,
    unmelt_variations,
    variation_columns,
)
from bspandas.frame.snapshot import trend

__all__ = [
    "ACCOUNT_KEYS",
    "CORPORATE",
    "DEFAULT_STAGE_PROBABILITY",
    "AggregateSpec",
    "ColumnInfo",
    "JoinHow",
    "JoinKey",
    "Money",
    "OrphanPolicy",
    "aggregate_opportunities",
    "catalog_columns",
    "describe_columns",
    "detect_backend",
    "fetch_columns",
    "flatten_variations",
    "infer_object",
    "is_long",
    "join_account",
    "join_key",
    "join_opportunities",
    "melt_variations",
    "money_column",
    "person_labels",
    "pivot_variations",
    "plan_fetch",
    "primary_key_column",
    "provenance",
    "trend",
    "unmelt_variations",
    "variation_columns",
]
