"""``read_query``: one call from a question to a typed, validated DataFrame.

>>> import bspandas as bs
>>> bs.read_query("account", ["ootb_account_name", ("ootb_emails_sent", "last_30_days")],
...               where="ootb_churn_risk_score >= 70", dry_run=True)["filter"]
{'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gte': 70}}
"""

from __future__ import annotations

import copy
import dataclasses
import email.utils
import hashlib
import importlib.util
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

import pandas as pd

from bspandas import _options as options
from bspandas._exceptions import (
    BackstoryError,
    ConfigurationError,
    ConversionError,
    IgnoredFilterError,
    IgnoredFilterWarning,
    MissingColumnsError,
    MissingColumnsWarning,
    QueryError,
    TruncatedResponseError,
    UnverifiedAnswerWarning,
    ValidationWarning,
)
from bspandas._http.client import Body, Client, default_client
from bspandas._io.align import HeaderPlan
from bspandas._io.answer import Answer, iter_answer, read_answer
from bspandas._io.cache import Cache, as_cache
from bspandas._io.dtypes import BACKENDS, Backend
from bspandas._utils import find_stacklevel
from bspandas.catalog import store
from bspandas.catalog.resolve import Column, Output, parse_name
from bspandas.query.builder import Query, caller_variables
from bspandas.query.filters import Node, conjuncts
from bspandas.validation.schema import schema_for, validate_frame

__all__ = ["PROGRESS_ENV", "read_query"]

#: Environment variable that decides whether progress bars show when ``progress=None``:
#: ``1``/``on`` always, ``0``/``off`` never, unset or ``auto`` to decide from the session.
PROGRESS_ENV = "BSPANDAS_PROGRESS"

log = logging.getLogger("bspandas")

OnMissing = Literal["raise", "warn", "ignore"]
OnIgnored = Literal["warn", "raise", "apply"]
OnUnknown = Literal["raise", "text"]
Validate = bool | Literal["warn", "raise"]


def _check_options(
    dtype_backend: str,
    validate: Any,
    on_missing: str,
    on_ignored_filter: str,
    chunksize: Any,
    dtypes: Any = None,
) -> None:
    if dtype_backend not in BACKENDS:
        raise QueryError(f"dtype_backend must be one of {BACKENDS}, got {dtype_backend!r}.")
    if validate not in (True, False, "warn", "raise"):
        raise QueryError(f"validate must be True, False, 'warn' or 'raise', got {validate!r}.")
    if on_missing not in ("raise", "warn", "ignore"):
        raise QueryError(f"on_missing must be 'raise', 'warn' or 'ignore', got {on_missing!r}.")
    if on_ignored_filter not in ("warn", "raise", "apply"):
        raise QueryError(
            f"on_ignored_filter must be 'warn', 'raise' or 'apply', got {on_ignored_filter!r}."
        )
    if chunksize is not None and (
        isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1
    ):
        raise QueryError(f"chunksize must be a positive integer, got {chunksize!r}.")
    if dtypes is not None:
        _check_dtypes(dtypes)


def _check_dtypes(dtypes: Any) -> None:
    """``dtypes=`` must map column names to things pandas accepts as a dtype."""
    if not isinstance(dtypes, Mapping):
        raise QueryError(
            f"dtypes= takes a mapping of column name to dtype, got {type(dtypes).__name__}."
        )
    for name, value in dtypes.items():
        if not isinstance(name, str):
            raise QueryError(f"dtypes= keys are column names (str), got {name!r}.")
        try:
            pd.api.types.pandas_dtype(value)
        except (TypeError, ValueError) as exc:
            raise QueryError(
                f"dtypes={{{name!r}: {value!r}}} is not a dtype pandas knows ({exc}). Use a "
                "dtype or its name, such as 'string', 'Float64' or 'category'."
            ) from None


def _check_dtype_columns(dtypes: Mapping[str, Any], query: Query) -> None:
    requested = {o.name for c in query.columns for o in c.outputs()}
    unknown = [name for name in dtypes if name not in requested]
    if unknown:
        raise QueryError(
            f"dtypes= names columns that are not requested: {', '.join(unknown)}. "
            f"Requested: {', '.join(sorted(requested))}."
        )


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


def _describe_missing(columns: Sequence[Column]) -> list[str]:
    return [
        c.slug if c.variation_id is None else f"{c.slug} (variation {c.variation_id})"
        for c in columns
    ]


class _Reader:
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
        _check_dtype_columns(self.dtypes, query)

    # -- header -------------------------------------------------------------------------------

    def check_header(self, plan: HeaderPlan) -> None:
        """Stop before the rows arrive when requested columns were dropped (and say which)."""
        filtered = (
            {c.column.name for c in self.query.filter.attributes()} if self.query.filter else set()
        )
        missing_filtered = [c for c in plan.missing if c.name in filtered]
        if missing_filtered:
            raise MissingColumnsError(
                _describe_missing(missing_filtered),
                detail=(
                    "The query filters on them, and the server dropped them: this tenant does "
                    "not serve that slug (or variation), so the Query API would have ignored "
                    "the filter and sent unfiltered rows. No frame was returned. Check which "
                    f"slugs the tenant serves with bspandas.catalog.probe({self.query.object!r}, "
                    "[...]) and filter on one of those."
                ),
            )
        if plan.missing and self.on_missing == "raise":
            raise MissingColumnsError(_describe_missing(plan.missing))
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
                f"{', '.join(_describe_missing(plan.missing))}. The frame has the others. "
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
            enabled = _interactive()
            delay = 0.0 if _setting() in _ON else 1.0
        if not enabled:
            return None
        return _tqdm_class()(
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
        return _ProgressBody(body, bar)

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
            mask = query.local_filter.evaluate(
                frame, now=self.server_now, trusted=frozenset(map(id, applied))
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
        verdict = node.evaluate(frame, now=now, certain=True)
        violating = (verdict == False).fillna(False).astype(bool)  # noqa: E712 (nullable mask)
        count = int(violating.sum())
        if not count:
            return frame
        culprits = [
            str(c)
            for c in node.attributes()
            if c.name in frame.columns
            and bool(
                (c.evaluate(frame[violating.to_numpy()], now=now, certain=True) == False)  # noqa: E712
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


class _ProgressBody:
    """Iterates a body, advancing a progress bar; keeps ``terminated`` (and every other
    attribute of the body) visible."""

    def __init__(self, body: Body, bar: Any) -> None:
        self.body = body
        self.bar = bar

    @property
    def terminated(self) -> bool:
        return self.body.terminated

    def __getattr__(self, name: str) -> Any:
        return getattr(self.body, name)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.bar.update(len(chunk))
            yield chunk


def _tqdm_class() -> Any:
    """The notebook widget bar when ipywidgets is there, else the text bar (tqdm.auto would
    warn in a notebook without ipywidgets)."""
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm import tqdm

    return tqdm


_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def _setting() -> str:
    return os.environ.get(PROGRESS_ENV, "").strip().lower()


def _interactive() -> bool:
    """Whether ``progress=None`` shows a bar, decided at each read from one setting.

    ``BSPANDAS_PROGRESS`` (``1``/``on``, ``0``/``off``) decides when set; otherwise bars are
    off under CI (``CI`` set), on in a notebook kernel, and on when stderr is a terminal.
    Tests pin the variable, so modules a test imported (``ipykernel``) cannot change it.
    """
    setting = _setting()
    if setting in _ON:
        return True
    if setting in _OFF:
        return False
    if setting not in ("", "auto"):
        raise ConfigurationError(
            f"{PROGRESS_ENV}={setting!r} is not a setting bspandas knows: use 1 (always show "
            "progress bars), 0 (never) or auto (terminals and notebooks, not CI)."
        )
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: None = ...,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: bool | str | Path | Cache | None = ...,
    dry_run: Literal[True],
) -> dict[str, Any]: ...


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: int,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: None = ...,
    dry_run: Literal[False] = ...,
) -> Iterator[pd.DataFrame]: ...


@overload
def read_query(
    object: str | Query,
    columns: Any = ...,
    *,
    where: str | None = ...,
    filter: Mapping[str, Any] | None = ...,
    sort: Any = ...,
    variations: Mapping[str, Sequence[str] | str] | None = ...,
    client: Client | None = ...,
    dtype_backend: Backend | None = ...,
    dtypes: Mapping[str, Any] | None = ...,
    validate: Validate | None = ...,
    on_missing: OnMissing | None = ...,
    on_ignored_filter: OnIgnored | None = ...,
    on_unknown: OnUnknown = ...,
    chunksize: None = ...,
    progress: bool | None = ...,
    nrows: int | None = ...,
    index_col: str | Sequence[str] | None = ...,
    local_dict: Mapping[str, Any] | None = ...,
    global_dict: Mapping[str, Any] | None = ...,
    cache: bool | str | Path | Cache | None = ...,
    dry_run: Literal[False] = ...,
) -> pd.DataFrame: ...


def read_query(
    object: str | Query,
    columns: Any = None,
    *,
    where: str | None = None,
    filter: Mapping[str, Any] | None = None,
    sort: Any = None,
    variations: Mapping[str, Sequence[str] | str] | None = None,
    client: Client | None = None,
    dtype_backend: Backend | None = None,
    dtypes: Mapping[str, Any] | None = None,
    validate: Validate | None = None,
    on_missing: OnMissing | None = None,
    on_ignored_filter: OnIgnored | None = None,
    on_unknown: OnUnknown = "raise",
    chunksize: int | None = None,
    progress: bool | None = None,
    nrows: int | None = None,
    index_col: str | Sequence[str] | None = None,
    local_dict: Mapping[str, Any] | None = None,
    global_dict: Mapping[str, Any] | None = None,
    cache: bool | str | Path | Cache | None = None,
    dry_run: bool = False,
) -> pd.DataFrame | Iterator[pd.DataFrame] | dict[str, Any]:
    """Read metrics of one object into a typed DataFrame.

    ``object`` is ``"account"``, ``"opportunity"``, ``"user"``, ``"activity"`` (or a
    prepared :class:`bspandas.Query`). ``columns`` are slugs, variation ids,
    ``(slug, period)`` or ``(slug, [periods])``; ``variations={slug: [periods]}`` adds more.
    ``where=`` is a pandas-query string (``@name`` reads a Python variable), ``filter=`` an
    API or simple dict. dtypes come from the catalog (``dtypes=`` overrides); the result is
    validated against the catalog schema (``validate="warn"``). Columns the server drops
    raise :class:`bspandas.MissingColumnsError` (``on_missing``); rows that prove the server
    ignored a filter warn (``on_ignored_filter``). A slug the catalog does not know raises
    :class:`bspandas.UnknownMetricError` with the closest ones; ``on_unknown="text"`` reads it
    as text instead, with a warning (your tenant may serve slugs the catalog lacks).
    ``chunksize=`` gives an iterator of frames with identical dtypes, ``cache=`` stores
    answers as Parquet, ``dry_run=True`` returns the exact JSON payload without sending
    anything. ``nrows=`` reads the first rows and closes the stream, ``index_col=`` sets the
    index as in ``pd.read_csv``, ``columns=`` takes an earlier frame's ``df.columns``,
    ``local_dict=``/``global_dict=`` give ``@name`` its variables as in ``DataFrame.query``.
    Options left at ``None`` come from :data:`bspandas.options`.
    """
    dtype_backend = options.resolve("dtype_backend", dtype_backend)
    validate = options.resolve("validate", validate)
    on_missing = options.resolve("on_missing", on_missing)
    on_ignored_filter = options.resolve("on_ignored_filter", on_ignored_filter)
    progress = options.resolve("progress", progress)
    if cache is None:
        cache = options.get_option("cache")
        if isinstance(cache, str | Path) or cache is True:
            cache = Cache(None if cache is True else cache, ttl=options.get_option("cache_ttl"))
    # options are never None
    assert dtype_backend is not None
    assert validate is not None
    assert on_missing is not None
    assert on_ignored_filter is not None
    _check_options(dtype_backend, validate, on_missing, on_ignored_filter, chunksize, dtypes)
    _check_nrows(nrows)
    index_names = _check_index_col(index_col)
    if isinstance(object, Query):
        if any(v is not None for v in (columns, where, filter, sort, variations)):
            raise QueryError(
                "read_query(query) takes a prepared Query as is: pass columns, where, filter, "
                "sort and variations to Query(...) instead."
            )
        query = object
    else:
        variables = None
        if where is not None:
            if local_dict is not None or global_dict is not None:
                variables = {**(global_dict or {}), **(local_dict or {})}
            else:
                variables = caller_variables()
        query = Query(
            object,
            _frame_columns(object, columns),
            where=where,
            filter=filter,
            sort=sort,
            variations=variations,
            variables=variables,
            on_unknown=on_unknown,
        )
    if dtypes:
        _check_dtype_columns(dtypes, query)
    if dry_run:
        return copy.deepcopy(query.payload())
    client = client or options.get_option("client") or default_client()
    _refuse_unserved(query, client, on_missing)
    reader = _Reader(
        query,
        client,
        dtype_backend=dtype_backend,
        dtypes=dtypes,
        validate=validate,
        on_missing=on_missing,
        on_ignored_filter=on_ignored_filter,
        progress=progress,
    )
    if chunksize is not None:
        if cache:
            raise QueryError("cache= cannot be combined with chunksize=: read whole to cache.")
        return _indexed(_iterate(reader, chunksize, nrows), index_names)
    if nrows is not None:
        # no cache: a cached whole answer would be served for a first-rows read and back
        return _set_index(_first_rows(reader, nrows), index_names)
    store_in = as_cache(cache)
    key = ""
    if store_in is not None:
        key = store_in.key(
            host=reader.client.host,
            tenant=reader.client.client_id,
            payload=query.payload(),
            extra=_cache_extra(query, dtype_backend, on_missing),
        )
        hit = store_in.load(key, arrow_dtypes=dtype_backend == "pyarrow")
        if hit is not None:
            frame, meta = hit
            if meta.get("server_date"):
                reader.server_now = datetime.fromisoformat(meta["server_date"])
            plan = _cached_plan(query, frame)
            fetched = meta.get("fetched_at")
            if plan is not None and isinstance(fetched, str):
                reader.check_header(plan)  # the rules of a fresh read (on_missing...)
                return _set_index(reader.finish(frame, plan, fetched), index_names)
            store_in.drop(key, "its columns or metadata are not those of this query's answer")
    frame, plan = reader.fetch()
    fetched_at = _now()
    if store_in is not None:
        store_in.store(
            key,
            frame,
            {
                "fetched_at": fetched_at,
                "server_date": None if reader.server_now is None else reader.server_now.isoformat(),
                "missing": [c.name for c in plan.missing],
                "rows": len(frame),
            },
        )
    return _set_index(reader.finish(frame, plan, fetched_at), index_names)


def _check_nrows(nrows: Any) -> None:
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise QueryError(f"nrows must be a non-negative integer, got {nrows!r}.")


def _check_index_col(index_col: Any) -> list[str]:
    if index_col is None or index_col is False:
        return []
    names = [index_col] if isinstance(index_col, str) else index_col
    if not isinstance(names, Sequence) or not names or not all(isinstance(n, str) for n in names):
        raise QueryError(
            f"index_col takes a column name or a list of them (as pd.read_csv), got {index_col!r}."
        )
    return list(names)


def _set_index(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if not names:
        return frame
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise QueryError(
            f"index_col names {', '.join(absent)}, which the frame does not have. Columns: "
            f"{', '.join(map(str, frame.columns))}. Ask for the column in columns= too."
        )
    attrs = copy.deepcopy(frame.attrs)
    indexed = frame.set_index(names if len(names) > 1 else names[0])
    indexed.attrs = attrs
    return indexed


def _indexed(frames: Iterator[pd.DataFrame], names: list[str]) -> Iterator[pd.DataFrame]:
    for frame in frames:
        yield _set_index(frame, names)


def _frame_columns(object: str, columns: Any) -> Any:
    """``df.columns`` of an earlier read (a pandas Index) as column specs: variation names
    ``{slug}_{period}`` and expansion names (``_id``, ``_name``, ``_currency``) map back to
    the column they came from. Anything else is passed on as given."""
    if not isinstance(object, str) or not isinstance(columns, pd.Index | list):
        return columns  # Query reports a wrong object or spec
    specs: list[Any] = []
    for item in columns:
        spec: Any = item
        if isinstance(item, str) and store.find(item, object) is None:
            try:
                found = parse_name(item, store.check_object(object))
            except BackstoryError:
                found = None
            if found is not None:
                metric, period, _ = found
                spec = metric.slug if period is None else (metric.slug, period)
        specs.append(spec)
    return specs


class _RowGate:
    """Passes an answer's bytes on up to the end of its ``rows``-th row after the header,
    then ends (quoted line breaks are not row ends)."""

    def __init__(self, rows: int) -> None:
        self.wanted = rows + 1  # the header line too
        self.closed = False

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        quoted = False
        for chunk in chunks:
            start = 0
            while True:
                end = _row_end(chunk, start, quoted)
                if end is None:
                    quoted = (chunk.count(b'"', start) % 2 == 1) != quoted
                    break
                start, quoted = end + 1, False  # a row ends outside quotes
                self.wanted -= 1
                if self.wanted == 0:
                    self.closed = True
                    yield chunk[:start]
                    return
            yield chunk


def _row_end(chunk: bytes, start: int, quoted: bool) -> int | None:
    """The index of the first line break at or after ``start`` outside quotes (``quoted``:
    whether ``start`` lies inside a quoted field), or None."""
    while True:
        newline = chunk.find(b"\n", start)
        if newline < 0:
            return None
        quoted = (chunk.count(b'"', start, newline) % 2 == 1) != quoted
        if not quoted:
            return newline
        start = newline + 1


def _first_rows(reader: _Reader, nrows: int) -> pd.DataFrame:
    """The first ``nrows`` rows of the answer; the stream is closed once they are in."""
    frames = list(_iterate(reader, max(1, min(nrows, 50_000)), nrows, keep_empty=True))
    attrs = copy.deepcopy(frames[0].attrs)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reset_index(drop=True)
    attrs["backstory"]["rows"] = len(frame)
    attrs["backstory"]["nrows"] = nrows
    frame.attrs = attrs
    return frame


def _refuse_unserved(query: Query, client: Client, on_missing: str) -> None:
    """Fail before any request when a cached :func:`bspandas.catalog.probe` of this tenant
    found it does not serve a column the read needs (a filtered one, or any requested one
    under ``on_missing="raise"``), with the catalog's nearest slugs as suggestions."""
    from bspandas._read.probe import unserved

    try:
        dropped = unserved(client, query.object, query.request_columns)
    except (AttributeError, TypeError):  # a stand-in client without host/client_id
        return
    filtered = {c.column.name for c in query.filter.attributes()} if query.filter else set()
    fatal = [c for c in dropped if on_missing == "raise" or c.name in filtered]
    if not fatal:
        return
    hints = []
    for c in fatal:
        close = [s for s in store.suggest(c.slug, query.object) if s != c.slug][:3]
        if close:
            hints.append(f"{c.slug}: perhaps {', '.join(close)}")
    raise MissingColumnsError(
        _describe_missing(fatal),
        detail=(
            "A probe of this tenant (bspandas.catalog.probe, kept for a day) found that it "
            "does not serve them, so nothing was sent."
            + (f" Nearest catalog slugs: {'; '.join(hints)}." if hints else "")
            + " Probe the alternatives before using them."
        ),
    )


def _cache_extra(query: Query, dtype_backend: str, on_missing: str) -> str:
    """What besides host, tenant and payload decides a cached answer: the catalog version,
    the backend, ``on_missing`` and the full definition of every requested column (a
    custom metric registered again with another type or label is another entry)."""
    definitions = [
        {"name": c.name, "period": c.period, "metric": dataclasses.asdict(c.metric)}
        for c in query.request_columns
    ]
    digest = hashlib.sha256(
        json.dumps(definitions, sort_keys=True, default=str).encode()
    ).hexdigest()
    return f"{store.version()}|{dtype_backend}|on_missing={on_missing}|columns={digest}"


def _cached_plan(query: Query, frame: pd.DataFrame) -> HeaderPlan | None:
    """The header plan of a cached frame: requested columns absent from it are missing (as
    if the server had dropped them); None when it holds columns the query did not ask for."""
    outputs = [o for c in query.request_columns for o in c.outputs()]
    names = {o.name for o in outputs}
    if any(str(name) not in names for name in frame.columns):
        return None
    present = set(map(str, frame.columns))
    missing = [c for c in query.request_columns if any(o.name not in present for o in c.outputs())]
    dropped = {c.name for c in missing}
    kept = [o for o in outputs if o.column.name not in dropped]
    if [o.name for o in kept] != [str(name) for name in frame.columns]:
        return None
    return HeaderPlan(kept, missing)


def _iterate(
    reader: _Reader, chunksize: int, nrows: int | None = None, *, keep_empty: bool = False
) -> Iterator[pd.DataFrame]:
    """The chunks of one streamed read; ``nrows`` bounds their total and closes the stream
    once it is reached (``keep_empty``: a first chunk cut to no rows is still yielded, for
    its columns). Each warning class is shown once per read, not once per chunk."""
    query = reader.query
    shown: set[type[Warning]] = set()
    if nrows == 0 and not keep_empty:
        return
    fetched_at = _now()
    with reader.client.stream(query.payload()) as body:
        reader.server_now = server_date(body.headers)
        bar = reader._bar(body)
        try:
            first = True
            position = 0
            plan_holder: list[HeaderPlan] = []

            def on_header(plan: HeaderPlan) -> None:
                reader.check_header(plan)
                plan_holder.append(plan)

            # enumerations given another dtype arrive as text: their categories may not be
            # known from the first chunk alone
            as_text = frozenset(
                o.name
                for o in query.outputs()
                if o.name in reader.dtypes and o.part.type == "enumeration"
            )
            # the parser reads ahead by megabytes: without a filter applied here, the rows
            # wanted are the first nrows of the answer, so the stream ends right after them
            gate = None if nrows is None or query.local_filter is not None else _RowGate(nrows)
            source = reader.chunks(body, bar)
            for chunk in iter_answer(
                source if gate is None else gate.feed(source),
                query.request_columns,
                chunksize,
                dtype_backend=reader.dtype_backend,
                as_text=as_text,
                on_header=on_header,
            ):
                plan = plan_holder[0]
                if not first:
                    plan = HeaderPlan(plan.outputs)  # report dropped columns once
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    finished = reader.finish(chunk, plan, fetched_at)
                for item in caught:
                    if item.category not in shown:
                        shown.add(item.category)
                        message: Warning | str = item.message
                        if issubclass(item.category, ValidationWarning):
                            message = (
                                f"{item.message} (Chunked read: this is the first chunk with "
                                f"failures, rows {position}-{position + len(finished) - 1}; "
                                "later chunks are not reported again and may hold more. "
                                "Validate the concatenated frame with df.backstory.validate() "
                                "for every failure.)"
                            )
                        warnings.warn(message, item.category, stacklevel=find_stacklevel())
                if nrows is not None and position + len(finished) >= nrows:
                    finished = finished.iloc[: nrows - position]
                    finished.attrs["backstory"]["rows"] = len(finished)
                    if len(finished) or (first and keep_empty):
                        yield finished.set_axis(pd.RangeIndex(position, nrows))
                    return  # leaving the with block closes the stream: no more bytes read
                first = False
                yield finished.set_axis(pd.RangeIndex(position, position + len(finished)))
                position += len(finished)
                if bar is not None:
                    bar.set_postfix(rows=f"{position:,}", refresh=False)
            if not body.terminated and not (gate is not None and gate.closed):
                warnings.warn(
                    f"The answer ended without its terminating chunk after {position} rows. "
                    "Its last row is complete, so these are probably all the rows, but a "
                    "chunked read cannot check it; read without chunksize= to have bspandas "
                    "re-read and confirm.",
                    UnverifiedAnswerWarning,
                    stacklevel=find_stacklevel(),
                )
        finally:
            if bar is not None:
                bar.close()
