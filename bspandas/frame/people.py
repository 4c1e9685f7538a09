"""Display labels for people: names, told apart by their ids when two people share one."""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd

from bspandas._exceptions import InvalidColumnsError

__all__ = ["person_labels"]


def _person_columns(frame: pd.DataFrame, person: Hashable) -> tuple[Hashable, Hashable | None]:
    """The id column and name column of a person reference (``ootb_opportunity_owner``,
    its ``_id`` or ``_name`` column)."""
    base = str(person).removesuffix("_id").removesuffix("_name")
    id_column, name_column = f"{base}_id", f"{base}_name"
    if id_column not in frame.columns:
        if person in frame.columns and not str(person).endswith("_name"):
            return person, None
        raise InvalidColumnsError(
            f"Grouping by person needs the id column {id_column!r} (names are not unique: two "
            f"people may share one). Fetch {base!r}: it gives both {id_column!r} and "
            f"{name_column!r}."
        )
    return id_column, name_column if name_column in frame.columns else None


def person_labels(frame: pd.DataFrame, person: Hashable = "ootb_opportunity_owner") -> pd.Series:
    """A display label for each person id in ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame with a person reference's ``_id`` column (and usually its ``_name``).
    person : hashable, default "ootb_opportunity_owner"
        The person reference (``ootb_opportunity_owner``) or its ``_id`` column.

    Returns
    -------
    pandas.Series
        ``string`` labels indexed by id (missing ids left out): the name, with the id's last
        four digits (more if those are shared too) when another id in ``frame`` has the same
        name (``Kenji Kim (…1723)``). Labels are decided per frame: label the frame you
        group, or the full one it was filtered from so labels stay the same across its
        subsets.

    Notes
    -----
    Group by the id column, then
    ``.rename(index=labels)`` or ``.map(labels)`` to show names.

    Raises
    ------
    bspandas.InvalidColumnsError
        If the frame lacks the id column (names alone cannot tell people apart).

    Examples
    --------
    >>> owners = pd.DataFrame({"ootb_opportunity_owner_id": [11723, 25501, 37],
    ...                        "ootb_opportunity_owner_name": ["Kenji Kim", "Kenji Kim", "Ana"]})
    >>> person_labels(owners).tolist()
    ['Kenji Kim (…1723)', 'Kenji Kim (…5501)', 'Ana']
    """
    id_column, name_column = _person_columns(frame, person)
    ids = frame[id_column]
    names = frame[name_column] if name_column is not None else pd.Series(pd.NA, index=frame.index)
    pairs = pd.DataFrame({"id": ids.astype("object"), "name": names.astype("object")})
    pairs = pairs[pairs["id"].notna()].drop_duplicates("id")
    text_ids = pairs["id"].map(str)
    shown = pairs["name"].where(pairs["name"].notna(), None)
    shared = shown.notna() & shown.duplicated(keep=False)
    labels: list[str] = []
    for key, name, twin in zip(text_ids, shown, shared, strict=True):
        if name is None:
            labels.append(f"id {key}")
            continue
        if not twin:
            labels.append(str(name))
            continue
        twins = text_ids[shown == name].tolist()
        digits = 4
        while digits < len(key) and len({t[-digits:] for t in twins}) < len(twins):
            digits += 1
        labels.append(f"{name} (…{key[-digits:]})")
    return pd.Series(labels, index=pd.Index(pairs["id"].tolist(), name=id_column), dtype="string")
