"""``df.backstory``: the catalog on any DataFrame (registered when ``bspandas`` is imported).

It works on frames from ``read_query`` and on frames built by hand with catalog column
names. The object (account, opportunity...) comes from ``df.attrs["backstory"]["object"]``,
else from the columns (the object whose catalog knows most of them), else from
``df.backstory.as_object("account")``. pandas builds a new accessor on every access, so it
keeps nothing but the frame; every method returns a new frame and works without attrs.

>>> import pandas as pd
>>> import bspandas.frame.accessor
>>> accounts = pd.DataFrame({
...     "ootb_account_crm_id": pd.array(["001A", "001B"], dtype="string"),
...     "ootb_emails_sent_last_7_days": pd.array([3, 1], dtype="Int64"),
...     "ootb_emails_sent_last_30_days": pd.array([9, 4], dtype="Int64"),
... })
>>> accounts.backstory.object
'account'
>>> accounts.backstory.pivot_variations("ootb_emails_sent").columns.tolist()
['ootb_account_crm_id', 'last_7_days', 'last_30_days']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from bspandas._messages import robust_repr
from bspandas.catalog import store
from bspandas.frame._accessor_frames import _FrameMethods
from bspandas.frame._provenance import provenance
from bspandas.frame.columns import (
    ColumnInfo,
    catalog_columns,
    detect_backend,
    infer_object,
    primary_key_column,
)
from bspandas.frame.describe import describe_columns
from bspandas.validation import schema_for, validate_frame

if TYPE_CHECKING:  # pandera loads when a schema is first built (keeps import bspandas fast)
    import pandera.pandas as pa

__all__ = ["BackstoryAccessor"]


@pd.api.extensions.register_dataframe_accessor("backstory")
class BackstoryAccessor(_FrameMethods):
    """The ``df.backstory`` namespace (see the module docstring).

    pandas builds it on every ``df.backstory`` access; call it directly only to name the
    object of a frame whose columns do not tell it (:meth:`as_object` does the same).

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame the methods work on.
    object : str, optional
        The Backstory object of the rows; by default from the attrs or the columns.

    Examples
    --------
    >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A"]})
    >>> BackstoryAccessor(frame).object, BackstoryAccessor(frame, "user").object
    ('account', 'user')
    """

    def __init__(self, frame: pd.DataFrame, object: str | None = None) -> None:
        self._frame = frame
        self._object = object

    @robust_repr
    def __repr__(self) -> str:
        return f"<df.backstory accessor: {len(self._frame)} rows>"

    # -- what the frame is -----------------------------------------------------------------

    def as_object(self, object: str) -> BackstoryAccessor:
        """The same accessor for a frame the columns do not identify (or to override attrs).

        Parameters
        ----------
        object : str
            The Backstory object of the rows (``"account"``, ``"user"``...).

        Returns
        -------
        BackstoryAccessor
            An accessor whose methods treat the rows as ``object``:
            ``df.backstory.as_object("user").describe()``.

        Raises
        ------
        bspandas.UnknownObjectError
            If ``object`` is not a Backstory object.

        Examples
        --------
        >>> frame = pd.DataFrame({"notes": ["x"]})
        >>> frame.backstory.as_object("user").object
        'user'
        """
        return BackstoryAccessor(self._frame, store.check_object(object))

    @property
    def object(self) -> str:
        """The object the rows are: explicit, from attrs, or inferred from the columns.

        Returns
        -------
        str
            ``"account"``, ``"opportunity"``, ``"user"``, ``"activity"``...

        Raises
        ------
        bspandas.InvalidColumnsError
            If nothing tells (say it with :meth:`as_object`); a :class:`~bspandas.FrameError`.

        Examples
        --------
        >>> pd.DataFrame(columns=["crm_opportunity_id"]).backstory.object
        'opportunity'
        """
        return infer_object(self._frame, self._object)

    @property
    def provenance(self) -> dict[str, Any]:
        """What ``read_query`` and the frame functions recorded about this frame.

        Returns
        -------
        dict
            A copy of ``attrs["backstory"]`` (empty when the attrs were lost).

        Examples
        --------
        >>> pd.DataFrame({"a": [1]}).backstory.provenance
        {}
        """
        return provenance(self._frame)

    @property
    def dtype_backend(self) -> str:
        """The dtype backend of the frame.

        Returns
        -------
        {"numpy_nullable", "pyarrow"}
            From attrs, else from the dtypes (``"pyarrow"`` when most are Arrow-backed).

        Examples
        --------
        >>> pd.DataFrame({"a": pd.array([1], dtype="Int64")}).backstory.dtype_backend
        'numpy_nullable'
        """
        return detect_backend(self._frame)

    def catalog_columns(self) -> dict[str, ColumnInfo]:
        """The catalog entry of each column the catalog knows.

        Returns
        -------
        dict of str to bspandas.frame.ColumnInfo
            Column name -> its entry, period and part (a pivoted frame is seen flat).

        Raises
        ------
        bspandas.InvalidColumnsError
            If the object cannot be told (a :class:`~bspandas.FrameError`).

        Examples
        --------
        >>> frame = pd.DataFrame(columns=["ootb_emails_sent_last_7_days", "notes"])
        >>> [(i.slug, i.period) for i in frame.backstory.catalog_columns().values()]
        [('ootb_emails_sent', 'last_7_days')]
        """
        return catalog_columns(self._flat().columns, self.object)

    def key_column(self) -> str | None:
        """The column holding the row id of the object, if present.

        Returns
        -------
        str or None
            The CRM id column first, then the internal id...; ``None`` when there is none.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the object cannot be told (a :class:`~bspandas.FrameError`).

        Examples
        --------
        >>> pd.DataFrame(columns=["ootb_account_crm_id"]).backstory.key_column()
        'ootb_account_crm_id'
        """
        return primary_key_column(self._flat(), self.object)

    def _flat(self) -> pd.DataFrame:
        """The frame with flat column names (a pivoted frame is viewed unpivoted)."""
        frame = self._frame
        if isinstance(frame.columns, pd.MultiIndex):
            return frame.set_axis(
                [
                    c[0] if c[1] in ("", None) else f"{c[0]}_{c[1]}"
                    for c in frame.columns.to_flat_index()
                ],
                axis=1,
            )
        return frame

    # -- catalog: schema, validation, description -------------------------------------------

    @property
    def schema(self) -> pa.DataFrameSchema:
        """The pandera schema of the catalog columns present (other columns are ignored).

        Returns
        -------
        pandera.pandas.DataFrameSchema
            One column check per catalog column (dtype, range, allowed values...).

        Raises
        ------
        bspandas.InvalidColumnsError
            If the object cannot be told (a :class:`~bspandas.FrameError`).

        Examples
        --------
        >>> frame = pd.DataFrame({"ootb_churn_risk_score": [12.0], "notes": ["x"]})
        >>> list(frame.backstory.schema.columns)
        ['ootb_churn_risk_score']
        """
        flat = self._flat()
        obj = self.object
        known = list(catalog_columns(flat.columns, obj))
        backend = detect_backend(flat)
        schema = schema_for(obj, known, dtype_backend=backend)
        extra = [c for c in schema.columns if c not in flat.columns]
        return schema.remove_columns(extra) if extra else schema

    def validate(self, *, lazy: bool = True) -> pd.DataFrame:
        """Validate the frame against the catalog.

        Parameters
        ----------
        lazy : bool, default True
            Collect every failure (``False``: stop at the first).

        Returns
        -------
        pandas.DataFrame
            The validated frame, dtypes coerced to the catalog's (attrs and column layout
            kept). Columns the catalog does not know are not checked.

        Raises
        ------
        bspandas.SchemaValidationError
            Listing the failures (``failure_cases`` holds them as a frame).

        Examples
        --------
        >>> from bspandas._exceptions import SchemaValidationError
        >>> frame = pd.DataFrame({"ootb_churn_risk_score": [12, 150]})
        >>> try:
        ...     frame.backstory.validate()
        ... except SchemaValidationError as error:
        ...     print(error.summary.split(":")[0])
        1 validation failure(s) in 1 column(s)
        """
        flat = self._flat()
        schema = self.schema
        backend = detect_backend(flat)
        infos = catalog_columns(flat.columns, self.object)
        ready = {
            name: {"coerce": False}
            for name, info in infos.items()
            if name in schema.columns and flat[name].dtype == info.dtype(backend)
        }
        if ready:  # coercing again would only swap dtypes pandera considers equal
            schema = schema.update_columns(ready)
        validated = validate_frame(flat.copy(deep=False), schema, lazy=lazy)
        if flat is not self._frame:
            validated = validated.set_axis(self._frame.columns, axis=1)
        validated.attrs = dict(self._frame.attrs)
        return validated

    def describe(self) -> pd.DataFrame:
        """What the catalog says about each column.

        Returns
        -------
        pandas.DataFrame
            One row per column: column, slug, period, type, dtype, range, description,
            label (the CSV header label) and non_null; unknown columns have no slug. See
            :func:`bspandas.frame.describe_columns`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the object cannot be told (a :class:`~bspandas.FrameError`).

        Examples
        --------
        >>> frame = pd.DataFrame({"ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64")})
        >>> frame.backstory.describe().loc[0, ["slug", "period", "label"]].tolist()
        ['ootb_emails_sent', 'last_7_days', 'Emails Sent (Last 7 Days)']
        """
        return describe_columns(self._frame, self.object)

    # -- rows ------------------------------------------------------------------------------------

    def query(
        self,
        where: str,
        *,
        local_dict: Mapping[str, Any] | None = None,
        global_dict: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The rows a ``read_query`` ``where=`` string selects, applied to this frame.

        Parameters
        ----------
        where : str
            A filter expression as :func:`bspandas.read_query` takes it.
        local_dict, global_dict : mapping, optional
            The variables ``@name`` reads (as in ``DataFrame.query``); by default the
            caller's.

        Returns
        -------
        pandas.DataFrame
            The selected rows (index, columns and attrs as they were).

        Raises
        ------
        bspandas.InvalidFilterError
            If ``where`` does not parse.
        bspandas.UnknownMetricError
            If it names a column the object's catalog lacks.

        Notes
        -----
        It reads dates as ``read_query`` does (ISO strings, naive values meaning UTC) and
        judges relative periods (``.within("last_30_days")``) at the server's ``Date``
        recorded in ``attrs`` (else at ``fetched_at``). ``DataFrame.query`` itself refuses a
        naive date string against the UTC columns (pandas issue 26236): write the zone there
        (``'2026-01-01T00:00:00Z'``) or use this method. ``@name`` reads the caller's
        variables, or ``local_dict``/``global_dict`` as in ``DataFrame.query``.

        Examples
        --------
        >>> frame = pd.DataFrame({
        ...     "ootb_opportunity_crm_id": ["006A", "006B"],
        ...     "ootb_opportunity_close_date": pd.to_datetime(
        ...         ["2025-12-31", "2026-02-01"], utc=True).as_unit("ms")})
        >>> later = frame.backstory.query("ootb_opportunity_close_date >= '2026-01-01'")
        >>> later["ootb_opportunity_crm_id"].tolist()
        ['006B']
        """
        from bspandas._io.evaluate import evaluate
        from bspandas.query import parse_where
        from bspandas.query.builder import caller_variables

        variables = {
            **(caller_variables() if global_dict is None else dict(global_dict)),
            **(dict(local_dict) if local_dict is not None else {}),
        }
        node = parse_where(where, self.object, variables=variables)
        provenance = self.provenance
        stamp = provenance.get("server_date") or provenance.get("fetched_at")
        now = None if not isinstance(stamp, str) else datetime.fromisoformat(stamp)
        as_of = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
        mask = evaluate(node, self._frame, as_of=as_of).fillna(False).astype(bool)
        return self._frame.loc[mask.to_numpy()]
