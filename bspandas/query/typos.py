"""Likely typos of an enumeration's values: :func:`close_values` finds them, a
:class:`~bspandas.PossibleTypoWarning` names them when a filter compares with one.

>>> close_values("Closed-Won", ["Closed Won", "Closed Lost"])
['Closed Won']
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

from bspandas._exceptions import PossibleTypoWarning
from bspandas._utils import find_stacklevel
from bspandas.query.tree import Condition

__all__ = ["close_values"]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[-_./]+", " ", text.casefold()).split())


def close_values(value: str, known: Sequence[str]) -> list[str]:
    """Known values ``value`` is probably a typo of: the same up to case, spaces and
    punctuation, or one edit away (two for long values); none for short values that merely
    share a letter or values far from every known one (a tenant's own picklist values).

    >>> close_values("Closed-Won", ["Closed Won", "Closed Lost"])
    ['Closed Won']
    >>> close_values("Closed Won - Renewal", ["Closed Won", "Closed Lost"])
    []
    """
    if value in known:
        return []
    folded = _fold(value)
    allowed = 0 if len(folded) < 4 else 1 if len(folded) < 10 else 2
    scored = sorted((_edits(folded, _fold(k)), k) for k in known)
    return [k for d, k in scored if d <= allowed and d == scored[0][0]]


def _warn_typos(condition: Condition, where: str | None = None) -> None:
    """Warn when a filter (a where-string, or a dict when ``where`` is None) compares an
    enumeration with a likely typo of a value."""
    if condition.part.type != "enumeration":
        return
    known = list(condition.part.values or condition.column.metric.values)
    if not known:
        return
    for op, value in condition.ops:
        if op not in ("$eq", "$ne", "$in", "$nin"):
            continue
        for item in value if isinstance(value, list) else [value]:
            close = close_values(item, known) if isinstance(item, str) else []
            if close:
                choices = " or ".join(repr(c) for c in close)
                warnings.warn(
                    f"{condition.name} has no value {item!r}; did you mean {choices}? "
                    f"As written, {'the filter' if where is None else f'where={where!r}'} "
                    "matches no row on that value. Known values: "
                    f"{', '.join(known)} (a tenant may add its own).",
                    PossibleTypoWarning,
                    stacklevel=find_stacklevel(),
                )
