"""What a frame's columns are: catalog entries, the object, the row key, the dtype
backend, the shape (flat, pivoted, long) and the provenance kept in ``attrs``.

>>> import pandas as pd
>>> from bspandas.frame.columns import catalog_columns, infer_object
>>> frame = pd.DataFrame(columns=["ootb_account_crm_id", "ootb_emails_sent_last_7_days"])
>>> infer_object(frame)
'account'
>>> [(i.slug, i.period) for i in catalog_columns(frame.columns, "account").values()]
[('ootb_account_crm_id', None), ('ootb_emails_sent', 'last_7_days')]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._io.dtypes import Backend, dtype_for
from bspandas._utils import renamed
from bspandas.catalog import store
from bspandas.catalog.business import PRIMARY_KEYS
from bspandas.catalog.model import OBJECTS, Metric, Part
from bspandas.catalog.resolve import parse_name
from bspandas.frame._provenance import _attrs
from bspandas.frame.shape import _flat_names, _is_pivoted

__all__ = [
    "ColumnInfo",
    "catalog_columns",
    "detect_backend",
    "infer_object",
    "primary_key_column",
    "variation_columns",
]


# -- column names and objects ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """What a frame column is in the catalog: its entry, period and part.

    Parameters
    ----------
    name : str
        The column name in the frame (``ootb_emails_sent_last_7_days``).
    metric : bspandas.catalog.model.Metric
        The catalog entry of the column.
    period : str or None
        The period id of a variation column (``"last_7_days"``), ``None`` for plain fields.
    part : bspandas.catalog.model.Part
        Which part of the metric the column holds (expanded metrics such as references
        have several: ``_id``, ``_name``...).

    Examples
    --------
    >>> info = catalog_columns(["ootb_emails_sent_last_7_days"], "account")[
    ...     "ootb_emails_sent_last_7_days"]
    >>> info.slug, info.period, str(info.dtype())
    ('ootb_emails_sent', 'last_7_days', 'Int64')
    """

    name: str
    metric: Metric
    period: str | None
    part: Part

    @property
    def slug(self) -> str:
        """The catalog slug of the metric (``"ootb_emails_sent"``).

        Returns
        -------
        str
            ``metric.slug``.

        Examples
        --------
        >>> catalog_columns(["ootb_account_name"], "account")["ootb_account_name"].slug
        'ootb_account_name'
        """
        return self.metric.slug

    @property
    def key(self) -> str | None:
        """What the values identify, for columns without a period.

        Returns
        -------
        str or None
            A key such as ``"account.crm_id"``; ``None`` for variation columns and for
            columns whose values identify nothing.

        Examples
        --------
        >>> catalog_columns(["ootb_account_crm_id"], "account")["ootb_account_crm_id"].key
        'account.crm_id'
        """
        if self.period is not None:
            return None
        return self.part.key or self.metric.key

    def dtype(self, backend: Backend = "numpy_nullable") -> Any:
        """The catalog dtype of this column.

        Parameters
        ----------
        backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
            The dtype backend, as in :func:`bspandas.read_query`.

        Returns
        -------
        dtype
            A pandas extension dtype (``Int64``, ``string``, ``category``...) or a
            :class:`pandas.ArrowDtype`.

        Examples
        --------
        >>> info = catalog_columns(["ootb_churn_risk_score"], "account")[
        ...     "ootb_churn_risk_score"]
        >>> str(info.dtype()), str(info.dtype("pyarrow"))
        ('Float64', 'double[pyarrow]')
        """
        return dtype_for(
            self.part.type,
            backend=backend,
            values=self.part.values or self.metric.values,
            ordered=self.metric.ordered,
        )


@renamed(obj="object")
def catalog_columns(columns: Iterable[Hashable], object: str) -> dict[str, ColumnInfo]:
    """Map each catalog column name to its :class:`ColumnInfo`.

    Parameters
    ----------
    columns : iterable of hashable
        Column names (a ``DataFrame.columns`` index or any iterable); names that are not
        strings or that the catalog does not know are left out, repeats are mapped once.
    object : str
        The Backstory object the columns belong to (``"account"``, ``"opportunity"``...).
        ``obj=`` is a deprecated spelling (``FutureWarning``).

    Returns
    -------
    dict of str to ColumnInfo
        One entry per known column name, in the order of ``columns``.

    Raises
    ------
    bspandas.UnknownObjectError
        If ``object`` is not a Backstory object.

    Examples
    --------
    >>> info = catalog_columns(["ootb_emails_sent_last_7_days", "notes"], "account")
    >>> [(i.slug, i.period) for i in info.values()]
    [('ootb_emails_sent', 'last_7_days')]
    """
    obj = store.check_object(object)
    found: dict[str, ColumnInfo] = {}
    for name in columns.tolist() if isinstance(columns, pd.Index) else columns:
        if not isinstance(name, str) or name in found:
            continue
        parsed = parse_name(name, obj)
        if parsed is not None:
            metric, period, part = parsed
            found[name] = ColumnInfo(name, metric, period, part)
    return found


@renamed(obj="object")
def variation_columns(frame: pd.DataFrame, object: str) -> dict[str, tuple[str, str]]:
    """Map every variation column (``{slug}_{period}``) to ``(slug, period)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat frame (one column per variation).
    object : str
        The Backstory object of the rows. ``obj=`` is a deprecated spelling.

    Returns
    -------
    dict of str to tuple of (str, str)
        Variation column name -> ``(slug, period id)``, in frame order; plain columns and
        unknown names are left out.

    Raises
    ------
    bspandas.UnknownObjectError
        If ``object`` is not a Backstory object.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["ootb_account_name", "ootb_emails_sent_current_year"])
    >>> variation_columns(frame, "account")
    {'ootb_emails_sent_current_year': ('ootb_emails_sent', 'current_year')}
    """
    return {
        name: (info.slug, info.period)
        for name, info in catalog_columns(frame.columns, object).items()
        if info.period is not None
    }


def _objects_by_matches(columns: Iterable[Hashable]) -> list[tuple[str, int]]:
    names = [c for c in columns if isinstance(c, str)]
    counts = [(obj, len(catalog_columns(names, obj))) for obj in OBJECTS]
    return sorted((pair for pair in counts if pair[1]), key=lambda pair: -pair[1])


def infer_object(frame: pd.DataFrame, object: str | None = None) -> str:
    """The Backstory object a frame holds.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat or pivoted frame.
    object : str, optional
        Say it: returned (checked) as is. Otherwise ``attrs["backstory"]["object"]`` is
        used, else the object whose catalog knows most of the columns.

    Returns
    -------
    str
        ``"account"``, ``"opportunity"``, ``"user"`` or ``"activity"``...

    Raises
    ------
    bspandas.InvalidColumnsError
        If the columns do not tell (no catalog column, or several objects know as many
        columns); the message names the candidates. A :class:`~bspandas.FrameError` (and,
        until 0.3, a :class:`~bspandas.QueryError`).
    bspandas.UnknownObjectError
        If ``object`` is not a Backstory object.

    Examples
    --------
    >>> infer_object(pd.DataFrame(columns=["crm_opportunity_id", "ootb_opportunity_amount"]))
    'opportunity'
    """
    if object is not None:
        return store.check_object(object)
    recorded = _attrs(frame).get("object")
    if isinstance(recorded, str) and recorded in OBJECTS:
        return recorded
    columns = _flat_names(frame.columns, {}) if _is_pivoted(frame) else frame.columns.tolist()
    ranked = _objects_by_matches(columns)
    how = 'Say which with df.backstory.as_object("account") (or pass object=...).'
    if not ranked:
        raise InvalidColumnsError(
            "Cannot tell which Backstory object this frame holds: none of its columns "
            f"({_preview(columns)}) is a catalog column name and attrs['backstory'] is "
            f"missing. {how}"
        )
    best = [obj for obj, count in ranked if count == ranked[0][1]]
    if len(best) > 1:
        listed = ", ".join(f"{obj} ({count} columns)" for obj, count in ranked)
        raise InvalidColumnsError(f"The columns fit several objects equally well: {listed}. {how}")
    return best[0]


@renamed(obj="object")
def primary_key_column(frame: pd.DataFrame, object: str) -> str | None:
    """The column holding the row id of the object, if the frame has one.

    Parameters
    ----------
    frame : pandas.DataFrame
        A flat frame.
    object : str
        The Backstory object of the rows. ``obj=`` is a deprecated spelling.

    Returns
    -------
    str or None
        The first key column present in the object's order of preference (CRM id first,
        then the internal id...), ``None`` when there is none.

    Raises
    ------
    bspandas.UnknownObjectError
        If ``object`` is not a Backstory object.

    Examples
    --------
    >>> primary_key_column(pd.DataFrame(columns=["ootb_account_name", "ootb_account_id"]),
    ...                    "account")
    'ootb_account_id'
    """
    obj = object
    by_key: dict[str, str] = {}
    for name, info in catalog_columns(frame.columns, obj).items():
        if info.key is not None:
            by_key.setdefault(info.key, name)
    for key in PRIMARY_KEYS.get(store.check_object(obj), ()):
        if key in by_key:
            return by_key[key]
    return None


def detect_backend(frame: pd.DataFrame) -> Backend:
    """The dtype backend of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame.

    Returns
    -------
    {"numpy_nullable", "pyarrow"}
        ``attrs["backstory"]["dtype_backend"]`` when recorded, else ``"pyarrow"`` when most
        columns are Arrow-backed, else ``"numpy_nullable"``.

    Examples
    --------
    >>> detect_backend(pd.DataFrame({"a": pd.array([1], dtype="Int64")}))
    'numpy_nullable'
    >>> detect_backend(pd.DataFrame({"a": pd.array([1], dtype="int64[pyarrow]")}))
    'pyarrow'
    """
    recorded = _attrs(frame).get("dtype_backend")
    if recorded in ("numpy_nullable", "pyarrow"):
        return cast(Backend, recorded)
    arrow = sum(isinstance(d, pd.ArrowDtype) for d in frame.dtypes)
    return "pyarrow" if frame.shape[1] and arrow * 2 > frame.shape[1] else "numpy_nullable"


def _preview(items: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(i) for i in list(items)[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
