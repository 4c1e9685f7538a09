"""The steps of one read after its query is built: download and verify the answer, check
the header against the request, filter locally what the server cannot, apply ``dtypes=``,
check the rows against the filter sent, record provenance and validate.

>>> server_date({"Date": "Wed, 15 Oct 2025 09:30:00 GMT"}).isoformat()
'2025-10-15T09:30:00+00:00'
"""

from __future__ import annotations

import copy
import email.utils
import logging
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from bspandas._exceptions import (
    ConversionError,
    IgnoredFilterError,
    IgnoredFilterWarning,
    MissingColumnsError,
    MissingColumnsWarning,
    TruncatedResponseError,
    ValidationWarning,
)
from bspandas._http.body import Body
from bspandas._http.client import Client
from bspandas._io.align import HeaderPlan
from bspandas._io.answer import Answer, read_answer
from bspandas._io.dtypes import Backend
from bspandas._io.evaluate import evaluate
from bspandas._read import progress as bars
from bspandas._read.checks import check_dtype_columns, describe_missing
from bspandas._typing import OnIgnored, OnMissing, Validate
from bspandas._utils import find_stacklevel
from bspandas.catalog import store
from bspandas.catalog.resolve import Output
from bspandas.query.builder import Query
from bspandas.query.tree import Node, conjuncts
from bspandas.validation.builder import schema_for
from bspandas.validation.validate import validate_frame

__all__ = ["Reader", "now_iso", "server_date"]

log = logging.getLogger("bspandas")


def server_date(headers: Mapping[str, str]) -> datetime | None:
    """The instant in an answer's HTTP ``Date`` header (UTC), or ``None`` without one."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class Reader:
    """The state of one read: query, options, and the steps after the download."""

    def __init__(
        self,
        query: Query,
        client: Client,
        *,
        dtype_backend: Backend,
        dtypes: Mapping[str, Any] | None,
        validate: Validate,
        on_missing: OnMissing,
        on_ignored_filter: OnIgnored,
        progress: bool | None,
    ) -> None:
        self.query = query
        self.client = client
        self.dtype_backend = dtype_backend
        self.dtypes = dict(dtypes or {})
        self.validate = validate
        self.on_missing = on_missing
        self.on_ignored_filter = on_ignored_filter
        self.progress = progress
        #: The server's "now" (its answer's ``Date`` header): relative periods are its own.
        self.server_now: datetime | None = None
        check_dtype_columns(self.dtypes, query)

    # -- header -------------------------------------------------------------------------------

    def check_header(self, plan: HeaderPlan) -> None:
        """Stop before the rows arrive when requested columns were dropped (and say which)."""
        filtered = (
            {c.column.name for c in self.query.filter.attributes()} if self.query.filter else set()
        )
        missing_filtered = [c for c in plan.missing if c.name in filtered]
        if missing_filtered:
            raise MissingColumnsError(
                describe_missing(missing_filtered),
                detail=(
                    "The query filters on them, and the server dropped them: this tenant does "
                    "not serve that slug (or variation), so the Query API would have ignored "
                    "the filter and sent unfiltered rows. No frame was returned. Check which "
                    f"slugs the tenant serves with bspandas.catalog.probe({self.query.object!r}, "
                    "[...]) and filter on one of those."
                ),
            )
        sorted_on = {column.name for column, _ in self.query.sort}
        missing_sorted = [c for c in plan.missing if c.name in sorted_on]
        if missing_sorted:
            raise MissingColumnsError(
                describe_missing(missing_sorted),
                detail=(
                    "The query sorts on them, and the server dropped them: this tenant does not "
                    "serve that slug (or variation), so the Query API would have ignored the "
                    "sort and sent the rows in another order. No frame was returned. Check "
                    f"which slugs the tenant serves with bspandas.catalog.probe("
                    f"{self.query.object!r}, [...]) and sort on one of those (or sort the frame "
                    "with DataFrame.sort_values)."
                ),
            )
        if plan.missing and self.on_missing == "raise":
            raise MissingColumnsError(describe_missing(plan.missing))
        if plan.mismatched:
            from bspandas._exceptions import HeaderMismatchWarning

            pairs = "; ".join(
                f"{o.name}: expected {o.label!r}, got {label!r}" for o, label in plan.mismatched
            )
            warnings.warn(
                f"Header labels differ from the catalog's (columns mapped by position): {pairs}.",
                HeaderMismatchWarning,
                stacklevel=find_stacklevel(),
            )

    def report_missing(self, plan: HeaderPlan) -> None:
        if plan.missing and self.on_missing == "warn":
            warnings.warn(
                f"The server dropped {len(plan.missing)} requested column(s): "
                f"{', '.join(describe_missing(plan.missing))}. The frame has the others. "
                "The Query API drops slugs and variations this tenant does not know.",
                MissingColumnsWarning,
                stacklevel=find_stacklevel(),
            )

    # -- body ---------------------------------------------------------------------------------

    def _bar(self, body: Body) -> Any:
        """A bar for this read, or None. Asked for (``progress=True`` or the setting ``1``):
        shown at once; otherwise (terminals and notebooks, never CI or a pipe) only once the
        read has taken a second (tqdm's ``delay``), so quick reads stay quiet."""
        enabled = self.progress
        delay = 0.0
        if enabled is None:
            enabled = bars.interactive()
            delay = 0.0 if bars.setting() in bars.ON else 1.0
        if not enabled:
            return None
        return bars.tqdm_class()(
            total=body.length,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"{self.query.object} export",
            delay=delay,
            leave=True,
        )

    def chunks(self, body: Body, bar: Any) -> Iterable[bytes]:
        if bar is None:
            return body
        return bars.ProgressBody(body, bar)

    def download(self, as_text: frozenset[str]) -> Answer:
        def consume(body: Body) -> Answer:
            self.server_now = server_date(body.headers)
            bar = self._bar(body)
            try:
                answer = read_answer(
                    self.chunks(body, bar),
                    self.query.request_columns,
                    dtype_backend=self.dtype_backend,
                    as_text=as_text,
                    on_header=self.check_header,
                )
                if bar is not None:
                    bar.set_postfix(rows=f"{len(answer.frame):,}", refresh=False)
            finally:
                if bar is not None:
                    bar.close()
            return answer

        return self.client.export(self.query.payload(), consume)

    def verified(self, as_text: frozenset[str]) -> Answer:
        """An answer that ended with its terminating chunk, or that a second unterminated
        answer confirms row for row.

        The API sometimes ends a complete answer without its terminating chunk, and such an
        answer cannot be told from one cut exactly at the end of a row (or right after the
        header). So bspandas reads again: a properly terminated answer, or two identical
        ones, are accepted; anything else is retried within the client's retry budget.
        """
        unterminated: list[Answer] = []
        for _ in range(max(2, self.client.retry.attempts)):
            answer = self.download(as_text)
            if answer.terminated:
                return answer
            for earlier in unterminated:
                if len(earlier.frame) == len(answer.frame) and earlier.frame.equals(answer.frame):
                    return answer
            unterminated.append(answer)
            log.debug(
                "answer without terminating chunk (%d rows): reading again", len(answer.frame)
            )
        counts = ", ".join(str(len(a.frame)) for a in unterminated)
        raise TruncatedResponseError(
            f"{len(unterminated)} answers ended without their terminating chunk and did not "
            f"agree (rows: {counts}). No frame was returned; try again later or narrow the query."
        )

    def fetch(self) -> tuple[pd.DataFrame, HeaderPlan]:
        """Download (retrying columns that hold values of the wrong type as text)."""
        as_text: frozenset[str] = frozenset()
        while True:
            try:
                answer = self.verified(as_text)
            except ConversionError as exc:
                if exc.name in as_text:
                    raise
                warnings.warn(
                    f"{exc} It is read again as text so no value is lost; validation will "
                    "report the cells.",
                    ValidationWarning,
                    stacklevel=find_stacklevel(),
                )
                as_text = as_text | {exc.name}
                continue
            for name, reason in answer.kept_as_text.items():
                # repaired from the bytes already parsed: no second download
                warnings.warn(
                    f"Column {name!r} holds values that do not convert to its type "
                    f"({reason}). It is kept as text so no value is lost; validation will "
                    "report the cells.",
                    ValidationWarning,
                    stacklevel=find_stacklevel(),
                )
            return answer.frame, answer.plan

    # -- after the download ----------------------------------------------------------------------

    def finish(self, frame: pd.DataFrame, plan: HeaderPlan, fetched_at: str) -> pd.DataFrame:
        query = self.query
        self.report_missing(plan)
        if query.local_filter is not None:
            # what the server applied is not judged again (it knows its fiscal calendar);
            # an ignored part of it is check_ignored's business
            # only what holds on every row: a condition inside an $or the server applied may
            # be false on a row that another branch let through
            applied = conjuncts(query.server_filter)
            as_of = self.server_now or pd.Timestamp.now(tz="UTC").to_pydatetime()
            mask = evaluate(
                query.local_filter, frame, as_of=as_of, trusted=frozenset(map(id, applied))
            )
            mask = mask.fillna(False).astype(bool)
            frame = frame.loc[mask.to_numpy()]
        if query.server_filter is not None:
            frame = self.check_ignored(frame, query.server_filter)
        if query.hidden:
            drop = [o.name for c in query.hidden for o in c.outputs() if o.name in frame.columns]
            frame = frame.drop(columns=drop)
        frame = frame.reset_index(drop=True)
        if self.dtypes:
            frame = self.apply_dtypes(frame)
        frame.attrs["backstory"] = {
            "object": query.object,
            "payload": copy.deepcopy(query.payload()),
            "host": self.client.host,
            "fetched_at": fetched_at,
            "server_date": None if self.server_now is None else self.server_now.isoformat(),
            "rows": len(frame),
            "catalog_version": store.version(),
            "dtype_backend": self.dtype_backend,
            "where": None if query.filter is None else str(query.filter),
        }
        self.check_schema(frame)
        return frame

    def apply_dtypes(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The ``dtypes=`` overrides; a column whose values do not fit names itself."""
        for name, dtype in self.dtypes.items():
            if name not in frame.columns:
                continue
            try:
                frame[name] = frame[name].astype(dtype)
            except (TypeError, ValueError, OverflowError) as exc:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConversionError(
                    name,
                    f"dtypes= asked for {dtype!r}, which cannot hold the values received "
                    f"({detail}). Choose a nullable dtype such as 'Int64' or 'Float64'.",
                ) from None
        return frame

    def check_ignored(self, frame: pd.DataFrame, node: Node) -> pd.DataFrame:
        """Rows that surely violate the filter sent prove the server ignored (part of) it.

        Relative periods are evaluated at the server's ``Date``, and only where the client
        can be sure (never fiscal quarters or years, never near a window's edge, never
        without a ``Date``): a row that might satisfy the filter is never reported, so
        ``on_ignored_filter="apply"`` never drops a row the server rightly sent.
        """
        now = self.server_now
        verdict = evaluate(node, frame, as_of=now, certain=True)
        violating = (verdict == False).fillna(False).astype(bool)  # noqa: E712 (nullable mask)
        count = int(violating.sum())
        if not count:
            return frame
        culprits = [
            str(c)
            for c in node.attributes()
            if c.name in frame.columns
            and bool(
                (evaluate(c, frame[violating.to_numpy()], as_of=now, certain=True) == False)  # noqa: E712
                .fillna(False)
                .any()
            )
        ]
        what = "; ".join(culprits) or str(node)
        message = (
            f"The server returned {count} of {len(frame)} rows that do not satisfy {what}: it "
            "ignored that filter (the Query API ignores some filters without an error)."
        )
        if self.on_ignored_filter == "raise":
            raise IgnoredFilterError(message)
        if self.on_ignored_filter == "apply":
            return frame.loc[~violating.to_numpy()]
        warnings.warn(
            message + ' They are kept; pass on_ignored_filter="apply" to drop them or "raise" '
            "to stop.",
            IgnoredFilterWarning,
            stacklevel=find_stacklevel(),
        )
        return frame

    def check_schema(self, frame: pd.DataFrame) -> None:
        if self.validate is False:
            return
        names = [
            o.name for o in self.outputs() if o.name in frame.columns and o.name not in self.dtypes
        ]
        schema = schema_for(
            self.query.object, names, dtype_backend=self.dtype_backend, coerce=False
        )

        def report(summary: str, cases: pd.DataFrame) -> None:
            warnings.warn(
                f"{summary} Every failing cell: df.backstory.validate() raises a "
                "SchemaValidationError whose .failure_cases lists them (so does reading with "
                "validate='raise'); validate=False skips validation.",
                ValidationWarning,
                stacklevel=find_stacklevel(),
            )

        on_fail: Literal["raise", "return"] = "return" if self.validate == "warn" else "raise"
        validate_frame(frame[names], schema, on_fail=on_fail, report=report, inplace=True)

    def outputs(self) -> list[Output]:
        return [o for c in self.query.columns for o in c.outputs()]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
