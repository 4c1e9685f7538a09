"""Type aliases shared across bspandas (the values of ``read_query``'s policy arguments).

>>> from typing import get_args
>>> get_args(OnMissing)
('raise', 'warn', 'ignore')
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = ["OnIgnored", "OnMissing", "OnUnknown", "Validate"]

#: What a read does when the server drops a requested column.
OnMissing: TypeAlias = Literal["raise", "warn", "ignore"]
#: What a read does when rows prove the server ignored a filter.
OnIgnored: TypeAlias = Literal["warn", "raise", "apply"]
#: What a Query does with a slug the catalog does not know.
OnUnknown: TypeAlias = Literal["raise", "text"]
#: Whether and how a read validates its frame against the catalog schema.
Validate: TypeAlias = bool | Literal["warn", "raise"]
