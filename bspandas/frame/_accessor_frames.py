"""The ``df.backstory`` methods that build a new frame from this one: variations pivoted,
melted and back, a snapshot trend, joins and roll-ups, more columns fetched from the server.

:class:`bspandas.frame.accessor.BackstoryAccessor` inherits them; each one calls the
function of the same job in :mod:`bspandas.frame`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas._http.client import Client
from bspandas._utils import renamed
from bspandas.frame._provenance import provenance
from bspandas.frame.join_keys import JoinHow, OrphanPolicy
from bspandas.frame.joins import join_account, join_opportunities
from bspandas.frame.melt import melt_variations
from bspandas.frame.pivot import flatten_variations, pivot_variations
from bspandas.frame.rollups import AggregateSpec
from bspandas.frame.unmelt import unmelt_variations

__all__: list[str] = []


class _FrameMethods:
    """Methods of ``df.backstory`` that return a new frame (see the module docstring)."""

    _frame: pd.DataFrame
    _object: str | None

    @property
    def object(self) -> str:  # pragma: no cover - BackstoryAccessor defines it
        raise NotImplementedError

    # -- variations --------------------------------------------------------------------------

    def pivot_variations(self, metric: str | None = None) -> pd.DataFrame:
        """Periods as columns.

        Parameters
        ----------
        metric : str, optional
            Pivot only this metric: the plain columns, then one column per period
            (canonical order). By default every metric, under ``(metric, period)`` column
            levels where plain columns are ``(name, "")``.

        Returns
        -------
        pandas.DataFrame
            The pivoted frame (a long frame is unmelted first). See
            :func:`bspandas.frame.pivot_variations`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the frame has no variation columns, or ``metric`` has none.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A"],
        ...                       "ootb_emails_sent_last_30_days": pd.array([9], dtype="Int64"),
        ...                       "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64")})
        >>> frame.backstory.pivot_variations("ootb_emails_sent").columns.tolist()
        ['ootb_account_crm_id', 'last_7_days', 'last_30_days']
        """
        return pivot_variations(self._frame, self._object, metric)

    def flatten_variations(self, metric: str | None = None) -> pd.DataFrame:
        """Undo :meth:`pivot_variations`: variation columns named ``{slug}_{period}``.

        Parameters
        ----------
        metric : str, optional
            The metric of a one-metric pivot whose attrs were lost.

        Returns
        -------
        pandas.DataFrame
            The flat frame. See :func:`bspandas.frame.flatten_variations`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the period columns of a one-metric pivot cannot be traced to a metric.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ootb_account_crm_id": ["001A"],
        ...                       "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64")})
        >>> wide = frame.backstory.pivot_variations()
        >>> wide.backstory.flatten_variations().equals(frame)
        True
        """
        return flatten_variations(self._frame, self._object, metric=metric)

    @renamed(id_columns="id_vars")
    def melt_variations(self, id_vars: Sequence[Hashable] | None = None) -> pd.DataFrame:
        """The long form ``[*id_vars, "metric", "period", "value"]``.

        Parameters
        ----------
        id_vars : sequence of hashable, optional
            The plain columns repeated on every row; by default all of them.
            ``id_columns=`` is a deprecated spelling.

        Returns
        -------
        pandas.DataFrame
            The long frame; :meth:`unmelt_variations` goes back. See
            :func:`bspandas.frame.melt_variations`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the frame has no variation columns or ``id_vars`` names a wrong column.

        Examples
        --------
        >>> import pandas as pd
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
        """Back from the long form to one column per variation.

        Returns
        -------
        pandas.DataFrame
            The wide frame (exactly the original for an untouched long frame). See
            :func:`bspandas.frame.unmelt_variations`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the frame is not a long frame or holds duplicate (row, metric, period).

        Examples
        --------
        >>> import pandas as pd
        >>> long = pd.DataFrame({"ootb_account_crm_id": ["001A"],
        ...                      "metric": ["ootb_emails_sent"], "period": ["last_7_days"],
        ...                      "value": [3]}, index=[0])
        >>> long.backstory.unmelt_variations().columns.tolist()
        ['ootb_account_crm_id', 'ootb_emails_sent_last_7_days']
        """
        return unmelt_variations(self._frame, self._object)

    # -- snapshots ---------------------------------------------------------------------------

    def trend(self, metric: str, *, index: str | None = None) -> pd.DataFrame:
        """One row per key, one column per snapshot: ``metric`` over the days.

        Parameters
        ----------
        metric : str
            The column to follow (a prefix naming one column is enough).
        index : str, optional
            The key column; by default the object's row id column.

        Returns
        -------
        pandas.DataFrame
            Indexed by key, one column per snapshot day. See
            :func:`bspandas.frame.trend`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the frame is not a :func:`bspandas.read_snapshots` frame, ``metric`` names
            no single column, or there is no key column.

        Examples
        --------
        >>> import pandas as pd
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
        """Join an opportunity frame onto this account frame.

        Parameters
        ----------
        opportunities : pandas.DataFrame
            The opportunity frame.
        how : {"left", "inner", "right", "outer"}, default "left"
            Which rows stay: by default one row per (account, opportunity) pair and
            accounts without opportunities once.
        aggregate : bool or dict, optional
            ``True`` for one row per account with the standard roll-up, or pandas named
            aggregations ``{name: (column, func)}``.
        on : tuple of (hashable, hashable), optional
            ``(account_column, opportunity_column)``; by default the catalog's key.
        orphans : {"warn", "ignore"}, default "warn"
            Whether a right/outer roll-up warns about opportunities it cannot keep.
        currency : str, optional
            With ``aggregate``: roll up only this currency's opportunities.
        by_currency : bool, default False
            With ``aggregate=True``: one money column per currency.

        Returns
        -------
        pandas.DataFrame
            The joined frame. See :func:`bspandas.frame.join_opportunities`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If this frame holds another object than accounts, or the join cannot be made
            (no common key, unknown ``how``...).
        bspandas.SchemaValidationError
            If an account key appears on several rows.
        bspandas.MixedCurrencyError
            If the roll-up would add up several currencies.

        Examples
        --------
        >>> import pandas as pd
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
        """Add the account columns to each opportunity of this frame.

        Parameters
        ----------
        accounts : pandas.DataFrame
            The account frame (each account key once).
        how : {"left", "inner", "right", "outer"}, default "left"
            Which rows stay: by default every opportunity.
        on : tuple of (hashable, hashable), optional
            ``(account_column, opportunity_column)``; by default the catalog's key.
        orphans : {"warn", "ignore"}, default "warn"
            Accepted for symmetry with :meth:`join_opportunities` (nothing is lost here).

        Returns
        -------
        pandas.DataFrame
            The joined frame. See :func:`bspandas.frame.join_account`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If this frame holds another object than opportunities, or the join cannot be
            made.
        bspandas.SchemaValidationError
            If an account key appears on several rows.

        Examples
        --------
        >>> import pandas as pd
        >>> accounts = pd.DataFrame({"ootb_account_crm_id": ["A"], "region": ["EU"]})
        >>> opps = pd.DataFrame({"crm_account_id": ["A", "A"]})
        >>> opps.backstory.join_account(accounts)["region"].tolist()
        ['EU', 'EU']
        """
        self._expect("opportunity", "join_account", "join_opportunities")
        return join_account(self._frame, accounts, how, on=on, orphans=orphans)

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

        Parameters
        ----------
        columns : str, sequence or mapping
            The columns to fetch, in any form :func:`bspandas.read_query` accepts.
        chunksize : int, default 500
            How many ids go into one ``$in`` request. ``chunk_size=`` is deprecated.
        client : bspandas.Client, optional
            The client to ask (it must talk to the frame's host); else the default one.
        **options
            Passed to :func:`bspandas.read_query` (``validate``, ``on_missing``,
            ``dtype_backend``...).

        Returns
        -------
        pandas.DataFrame
            The frame with the new columns (row order, index and attrs kept). See
            :func:`bspandas.frame.fetch_columns`.

        Raises
        ------
        bspandas.InvalidColumnsError
            If the frame has no row id column or nothing is left to fetch.
        bspandas.QueryError
            If the client talks to another host than the frame came from.

        Warns
        -----
        bspandas.MissingRowsWarning
            When the server no longer returns some rows (their new columns stay empty).

        Examples
        --------
        >>> import bspandas as bs
        >>> from bspandas.sandbox import serve
        >>> with serve(accounts=4, users=2, seed=3) as sb:
        ...     base = bs.read_query("account", ["ootb_account_crm_id"], client=sb.client())
        ...     enriched = base.backstory.fetch(["industry"], client=sb.client())
        >>> enriched.columns.tolist()
        ['ootb_account_crm_id', 'industry']
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
