"""What you do with a frame once you have it: column introspection, time-period
variations (pivot, melt), money and people, joins and roll-ups, describing columns,
fetching more metrics for the rows you have, snapshots and datasets on disk. Most of it is
also on the ``df.backstory`` accessor.

One module per job (the names below are the public ones; import them from here):

- ``columns``: what the columns are (:func:`catalog_columns`, :func:`infer_object`,
  :func:`primary_key_column`, :func:`detect_backend`...); ``shape``: flat, pivoted or long
  (:func:`is_long`); ``_provenance``: ``attrs["backstory"]`` (:func:`provenance`).
- ``pivot``, ``melt``, ``unmelt``: the variations as columns, in long form and back;
  ``_dtypes``: their dtypes through attrs.
- ``describe``: :func:`describe_columns`.
- ``join_keys``, ``joins``, ``rollups``: account/opportunity keys, joins, roll-ups.
- ``money``, ``people``: the currency of an amount, labels for people.
- ``enrich``, ``snapshot``, ``dataset``: the server and the disk.
- ``accessor`` (with ``_accessor_frames``): ``df.backstory``.

>>> import pandas as pd
>>> from bspandas import frame
>>> frame.is_long(pd.DataFrame({"a": [1]}))
False
"""

from bspandas.catalog.business import ACCOUNT_KEYS, DEFAULT_STAGE_PROBABILITY
from bspandas.frame._provenance import provenance
from bspandas.frame.columns import (
    ColumnInfo,
    catalog_columns,
    detect_backend,
    infer_object,
    primary_key_column,
    variation_columns,
)
from bspandas.frame.describe import describe_columns
from bspandas.frame.enrich import fetch_columns, plan_fetch
from bspandas.frame.join_keys import JoinHow, JoinKey, OrphanPolicy, join_key
from bspandas.frame.joins import join_account, join_opportunities
from bspandas.frame.melt import melt_variations
from bspandas.frame.money import CORPORATE, Money, money_column
from bspandas.frame.people import person_labels
from bspandas.frame.pivot import flatten_variations, pivot_variations
from bspandas.frame.rollups import AggregateSpec, aggregate_opportunities
from bspandas.frame.shape import is_long
from bspandas.frame.snapshot import trend
from bspandas.frame.unmelt import unmelt_variations

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
