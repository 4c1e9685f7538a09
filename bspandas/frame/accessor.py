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

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from bspandas._exceptions import InvalidColumnsError, robust_repr
from bspandas._http.client import Client
from bspandas._utils import renamed
from bspandas.catalog import store
from bspandas.frame._provenance import provenance
from bspandas.frame.columns import (
    ColumnInfo,
    catalog_columns,
    detect_backend,
    infer_object,
    primary_key_column,
)
from bspandas.frame.describe import describe_columns
from bspandas.frame.join_keys import JoinHow, OrphanPolicy
from bspandas.frame.joins import join_account, join_opportunities
from bspandas.frame.melt import melt_variations
from bspandas.frame.pivot import flatten_variations, pivot_variations
from bspandas.frame.rollups import AggregateSpec
from bspandas.frame.unmelt import unmelt_variations
from bspandas.validation.schema import schema_for, validate_frame

if TYPE_CHECKING:  # pandera loads when a schema is first built (keeps import bspandas fast)
    import pandera.pandas as pa

__all__ = ["BackstoryAccessor"]


@pd.api.extensions.register_dataframe_accessor("backstory")
class BackstoryAccessor:
    """The ``df.backstory`` namespace. See the module docstring."""

    def __init__(self, frame: pd.DataFrame, object: str | None = None) -> None:
        self._frame = frame
        self._object = object

    @robust_repr
    def __repr__(self) -> str:
        return f"<df.backstory accessor: {len(self._frame)} rows>"

    # -- what the frame is -----------------------------------------------------------------

    def as_object(self, object: str) -> BackstoryAccessor:
        """The same accessor for a frame the columns do not identify (or to override
        ``attrs``): ``df.backstory.as_object("user").describe()``.

        >>> frame = pd.DataFrame({"notes": ["x"]})
        >>> frame.backstory.as_object("user").object
        'user'
        """
        return BackstoryAccessor(self._frame, store.check_object(object))

    @property
    def object(self) -> str:
        """The object the rows are (explicit, from attrs, or inferred from the columns)."""
        return infer_object(self._frame, self._object)

    @property
    def provenance(self) -> dict[str, Any]:
        """A copy of ``attrs["backstory"]`` (empty when the attrs were lost)."""
        return provenance(self._frame)

    @property
    def dtype_backend(self) -> str:
        """``"numpy_nullable"`` or ``"pyarrow"`` (from attrs, else from the dtypes)."""
        return detect_backend(self._frame)

    def catalog_columns(self) -> dict[str, ColumnInfo]:
        """The catalog entry of each column the catalog knows (name -> ColumnInfo)."""
        return catalog_columns(self._flat().columns, self.object)

    def key_column(self) -> str | None:
        """The column holding the row id of the object (CRM id first), if present.

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
        """Validate against the catalog; returns the validated (dtype-coerced) frame or raises
        :class:`bspandas.SchemaValidationError` listing every failure (``lazy=False``: the
        first). Columns the catalog does not know are not checked.

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
        """One row per column: column, slug, period, type, dtype, range, description, label
        (the CSV header label) and non_null count; unknown columns have no slug.

        >>> frame = pd.DataFrame({"ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64")})
        >>> frame.backstory.describe().loc[0, ["slug", "period", "label"]].tolist()
        ['ootb_emails_sent', 'last_7_days', 'Emails Sent (Last 7 Days)']
        """
        return describe_columns(self._frame, self.object)

    # -- variations --------------------------------------------------------------------------

    def query(
        self,
        where: str,
        *,
        local_dict: Mapping[str, Any] | None = None,
        global_dict: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The rows a ``read_query`` ``where=`` string selects, applied to this frame.

        It reads dates as ``read_query`` does (ISO strings, naive values meaning UTC) and
        judges relative periods (``.within("last_30_days")``) at the server's ``Date``
        recorded in ``attrs`` (else at ``fetched_at``). ``DataFrame.query`` itself refuses a
        naive date string against the UTC columns (pandas issue 26236): write the zone there
        (``'2026-01-01T00:00:00Z'``) or use this method. ``@name`` reads the caller's
        variables, or ``local_dict``/``global_dict`` as in ``DataFrame.query``.

        >>> frame = pd.DataFrame({
        ...     "ootb_opportunity_crm_id": ["006A", "006B"],
        ...     "ootb_opportunity_close_date": pd.to_datetime(
        ...         ["2025-12-31", "2026-02-01"], utc=True).as_unit("ms")})
        >>> later = frame.backstory.query("ootb_opportunity_close_date >= '2026-01-01'")
        >>> later["ootb_opportunity_crm_id"].tolist()
        ['006B']
        """
        from bspandas.query.builder import caller_variables
        from bspandas.query.filters import parse_where

        variables = {
            **(caller_variables() if global_dict is None else dict(global_dict)),
            **(dict(local_dict) if local_dict is not None else {}),
        }
        node = parse_where(where, self.object, variables=variables)
        provenance = self.provenance
        stamp = provenance.get("server_date") or provenance.get("fetched_at")
        now = None if not isinstance(stamp, str) else datetime.fromisoformat(stamp)
        mask = node.evaluate(self._frame, now=now).fillna(False).astype(bool)
        return self._frame.loc[mask.to_numpy()]

    def pivot_variations(self, metric: str | None = None) -> pd.DataFrame:
        """Periods as columns: for one ``metric`` the plain columns then one column per period
        (canonical order); without, (metric, period) column levels where plain columns are
        ``(name, "")``. A long frame is unmelted first. See
        :func:`bspandas.frame.pivot_variations`.
        """
        return pivot_variations(self._frame, self._object, metric)

    def flatten_variations(self, metric: str | None = None) -> pd.DataFrame:
        """Undo :meth:`pivot_variations` (``metric=`` for a one-metric pivot without attrs)."""
        return flatten_variations(self._frame, self._object, metric=metric)

    @renamed(id_columns="id_vars")
    def melt_variations(self, id_vars: Sequence[Hashable] | None = None) -> pd.DataFrame:
        """The long form ``[*id_vars, "metric", "period", "value"]``; see
        :func:`bspandas.frame.melt_variations`. ``unmelt_variations`` goes back.

        >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A"],
        ...                       "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64"),
        ...                       "ootb_emails_sent_current_year": pd.array([40], dtype="Int64")})
        >>> long = frame.backstory.melt_variations()
        >>> long[["period", "value"]].values.tolist()
        [['last_7_days', 3], ['current_year', 40]]
        >>> long.backstory.unmelt_variations().equals(frame)
        True
        """
        return melt_variations(self._frame, self._object, id_vars)

    def unmelt_variations(self) -> pd.DataFrame:
        """Back from the long form to one column per variation (exact for an untouched one)."""
        return unmelt_variations(self._frame, self._object)

    # -- snapshots ---------------------------------------------------------------------------

    def trend(self, metric: str, *, index: str | None = None) -> pd.DataFrame:
        """One row per key, one column per snapshot: ``metric`` over the days of a
        :func:`bspandas.read_snapshots` frame (``index=`` names the key column).

        >>> long = pd.DataFrame({
        ...     "snapshot": pd.to_datetime(["2026-10-14", "2026-10-15"] * 2, utc=True),
        ...     "ootb_account_crm_id": ["001A", "001A", "001B", "001B"],
        ...     "ootb_churn_risk_score": [10.0, 12.0, 50.0, 40.0]})
        >>> long.backstory.trend("ootb_churn_risk_score").to_numpy().tolist()
        [[10.0, 12.0], [50.0, 40.0]]
        """
        from bspandas.frame.snapshot import trend

        return trend(self._frame, metric, self._object, index)

    # -- joins -------------------------------------------------------------------------------

    def join_opportunities(
        self,
        opportunities: pd.DataFrame,
        how: JoinHow = "left",
        aggregate: AggregateSpec = None,
        *,
        on: tuple[Hashable, Hashable] | None = None,
        orphans: OrphanPolicy = "warn",
        currency: str | None = None,
        by_currency: bool = False,
    ) -> pd.DataFrame:
        """Join an opportunity frame onto this account frame: by default one row per
        (account, opportunity) pair, accounts without opportunities once; one row per account
        with ``aggregate=`` (money in one currency: ``currency=``, ``by_currency=``). See
        :func:`bspandas.frame.join_opportunities`.

        >>> accounts = pd.DataFrame({"ootb_account_crm_id": pd.array(["A", "B"], dtype="string")})
        >>> opps = pd.DataFrame({"crm_account_id": pd.array(["A", "A"], dtype="string"),
        ...                      "opportunity_value": pd.array([5.0, 7.0], dtype="Float64"),
        ...                      "ootb_opportunity_stage": ["Proposal", "Closed Won"]})
        >>> rolled = accounts.backstory.join_opportunities(opps, aggregate=True)
        >>> rolled[["opportunity_count", "open_value", "won_value"]].values.tolist()
        [[2, 5.0, 7.0], [0, 0.0, 0.0]]
        """
        self._expect("account", "join_opportunities", "join_account")
        return join_opportunities(
            self._frame,
            opportunities,
            how,
            aggregate,
            on=on,
            orphans=orphans,
            currency=currency,
            by_currency=by_currency,
        )

    def join_account(
        self,
        accounts: pd.DataFrame,
        how: JoinHow = "left",
        *,
        on: tuple[Hashable, Hashable] | None = None,
        orphans: OrphanPolicy = "warn",
    ) -> pd.DataFrame:
        """Add the account columns to each opportunity of this frame. See
        :func:`bspandas.frame.join_account`.
        """
        self._expect("opportunity", "join_account", "join_opportunities")
        return join_account(self._frame, accounts, how, on=on, orphans=orphans)

    # -- helpers -----------------------------------------------------------------------------

    # -- the server: more columns for these rows ----------------------------------------------

    @renamed(chunk_size="chunksize")
    def fetch(
        self,
        columns: Any,
        *,
        chunksize: int = 500,
        client: Client | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Fetch more columns for the rows already present and merge them on.

        The row ids go to the server as ``$in`` filters of ``chunksize`` ids, through the
        client's pacer and retries; row order, index and attrs are kept; rows the server no
        longer returns keep empty new columns and raise a
        :class:`bspandas.MissingRowsWarning`. ``options`` go to :func:`bspandas.read_query`
        (``validate``, ``on_missing``, ``dtype_backend``...).
        """
        from bspandas.frame.enrich import fetch_columns

        return fetch_columns(
            self._frame, self.object, columns, client=client, chunksize=chunksize, **options
        )

    def _expect(self, wanted: str, method: str, other: str) -> None:
        recorded = self._object or provenance(self._frame).get("object")
        found = str(recorded)
        if recorded is not None and found != wanted:
            raise InvalidColumnsError(
                f"{method} is for {wanted} frames; this frame holds {found} rows (say its "
                "object with df.backstory.as_object). "
                f"Use df.backstory.{other}(...) on an {found} frame."
            )
