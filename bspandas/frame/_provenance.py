"""What ``read_query`` and the frame functions record in ``attrs["backstory"]``: reading
it, copying it out, and writing it on a derived frame.
"""

from __future__ import annotations

import copy
from typing import Any, TypeAlias

import pandas as pd

__all__ = ["provenance"]

Json: TypeAlias = Any  # a JSON-safe value (str, int, float, bool, None, lists and dicts of them)


def provenance(frame: pd.DataFrame) -> dict[str, Json]:
    """What ``read_query`` and the frame functions recorded about a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame.

    Returns
    -------
    dict
        A deep copy of ``frame.attrs["backstory"]`` (the object, the request, the host,
        ``fetched_at``, pivot/melt/join records...); an empty dict when the attrs were lost.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1]})
    >>> frame.attrs["backstory"] = {"object": "account"}
    >>> record = provenance(frame)
    >>> record, record is frame.attrs["backstory"]
    ({'object': 'account'}, False)
    >>> provenance(pd.DataFrame())
    {}
    """
    return copy.deepcopy(_attrs(frame))


def _attrs(frame: pd.DataFrame) -> dict[str, Json]:
    """``frame.attrs["backstory"]`` itself (not a copy: read it, do not change it)."""
    found = frame.attrs.get("backstory")
    return found if isinstance(found, dict) else {}


def _with_provenance(
    out: pd.DataFrame, source: dict[str, Json], obj: str | None, **extra: Json
) -> pd.DataFrame:
    derived = ("pivot", "melt", "join", "money")  # describe one result, not what follows
    record = copy.deepcopy({k: v for k, v in source.items() if k not in derived})
    if obj is not None:
        record["object"] = obj
    record.update(extra)
    out.attrs = {**out.attrs, "backstory": record}
    return out
