"""Building requests, pure: the :class:`Query`, the filter tree, values, simplification,
the dict reader and the where-string parser.

>>> from bspandas.query import Query
>>> Query("account", ["ootb_account_name"]).payload()["object"]
'account'
"""

from bspandas.query.builder import Query
from bspandas.query.filters import AllOf, AnyOf, Condition, parse_filter, parse_where

__all__ = ["AllOf", "AnyOf", "Condition", "Query", "parse_filter", "parse_where"]
