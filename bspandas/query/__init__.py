"""Building requests, pure: the :class:`Query`, the filter tree, values, simplification,
the dict reader and the where-string parser.

Modules, one job each:

- ``builder``: the :class:`Query` and its exact payload;
- ``pushdown``: the part of a filter the server applies, the rest applied after download;
- ``tree``: the filter tree (:class:`Condition`, :class:`AllOf`, :class:`AnyOf`);
- ``grammar``: operators, type families, negations, limits;
- ``values``: values checked against the catalog types;
- ``attributes``: the attribute a leaf names, and a checked leaf;
- ``typos``: likely typos of enumeration values;
- ``simplification``: one clause per attribute inside an ``and``;
- ``dict_reader``: :func:`parse_filter` (dicts, strings, trees);
- ``where`` and ``where_syntax``: :func:`parse_where` and its lexicon.

>>> from bspandas.query import Query
>>> Query("account", ["ootb_account_name"]).payload()["object"]
'account'
"""

from bspandas.query.builder import Query
from bspandas.query.builder import caller_variables as caller_variables  # in 0.1's __all__
from bspandas.query.dict_reader import parse_filter
from bspandas.query.tree import AllOf, AnyOf, Condition
from bspandas.query.where import parse_where

__all__ = ["AllOf", "AnyOf", "Condition", "Query", "parse_filter", "parse_where"]
