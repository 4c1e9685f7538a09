"""The filter language's fixed parts: operators, which apply to which type family, their
symbols and negations, the ``$within`` periods, and the limits on a filter's size.

>>> sorted(_BY_TYPE[_FAMILY["enumeration"]])
['$eq', '$exists', '$in', '$ne', '$nin', '$regex']
>>> _NEGATE["$gte"]
'$lt'
"""

from __future__ import annotations

from bspandas._exceptions import InvalidFilterError
from bspandas.catalog import vocabulary

__all__ = ["FIELD_ATTRIBUTE_VARIATION", "MAX_DEPTH", "MAX_VALUES", "OPERATORS"]


#: The variation the field's filters give attribute-shaped slugs (``ootb_opportunity_close_date_0``
#: with ``$within``): the attribute itself, not a window.
FIELD_ATTRIBUTE_VARIATION = "_0"

OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$regex",
    "$exists",
    "$within",
)
_BY_TYPE: dict[str, frozenset[str]] = {
    "text": frozenset({"$eq", "$ne", "$in", "$nin", "$regex", "$exists"}),
    "number": frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}),
    "boolean": frozenset({"$eq", "$ne", "$exists"}),
    "time": frozenset(
        {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$within", "$exists"}
    ),
}
_FAMILY = {
    "text": "text",
    "id": "text",
    "enumeration": "text",
    "internal_id": "number",
    "count": "number",
    "number": "number",
    "score": "number",
    "percentage": "number",
    "money": "number",
    "duration": "number",
    "boolean": "boolean",
    "date": "time",
    "timestamp": "time",
}
_SYMBOL = {"$eq": "==", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NEGATE = {
    "$eq": "$ne",
    "$ne": "$eq",
    "$gt": "$lte",
    "$lte": "$gt",
    "$lt": "$gte",
    "$gte": "$lt",
    "$in": "$nin",
    "$nin": "$in",
}
# Families whose missing values compare as unknown in DataFrame.query (nullable NA): their
# where-string ``!=`` and negations keep no missing value. Text compares like a value.
_KLEENE = frozenset({"number", "boolean", "time"})
#: How many levels of ``$and``/``$or``/``not`` a filter may nest (dicts and ``where=``).
MAX_DEPTH = 64
#: The most values one ``$in``/``$nin`` takes (far above what the API accepts in one request).
MAX_VALUES = 10_000_000

_WITHIN_REFS = frozenset(p.id for p in vocabulary.PERIODS if p.group not in ("point", "status"))


def _too_deep(spelling: str) -> InvalidFilterError:
    return InvalidFilterError(
        f"The {spelling} nests $and/$or/not more than {MAX_DEPTH} levels deep, the limit "
        "bspandas sets (deeper trees exhaust the stack). Flatten it: one $and/$or takes "
        "any number of conditions, and 'column in [...]' replaces a chain of == ... or."
    )
