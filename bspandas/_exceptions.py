"""Every error and warning bspandas raises.

One base class for errors, one for warnings, so ``except bspandas.BackstoryError`` catches
everything the library raises on purpose and
``warnings.filterwarnings("ignore", category=bspandas.BackstoryWarning)`` silences it all::

    BackstoryError
    ├── ConfigurationError
    │   ├── MissingCredentialsError        no client id/secret found; lists where we looked
    │   └── OptionError (AttributeError, KeyError)  unknown option or a value it cannot take
    ├── QueryError (ValueError)            the request is wrong before anything is sent
    │   ├── UnknownObjectError             object is not account/opportunity/user/...
    │   ├── UnknownMetricError (LookupError)   slug unknown; carries close suggestions
    │   ├── InvalidVariationError          period not allowed for that metric; lists allowed
    │   ├── InvalidFilterError             filter/where= malformed or value of the wrong type
    │   └── InvalidColumnsError *          column spec of the wrong shape, empty, colliding
    │       └── MixedCurrencyError *       money in several currencies was to be added up
    ├── FrameError                         a problem with a DataFrame you passed, not a request
    │   ├── InvalidColumnsError *          a frame's columns are not what the function needs
    │   └── MixedCurrencyError *           (also an InvalidColumnsError)
    ├── APIError                           the server answered with an error status
    │   ├── AuthenticationError            401/403: credentials or token refused
    │   ├── BadRequestError                400: the server refused the query
    │   ├── RateLimitError                 429 until the retry budget was exhausted
    │   └── ServerError                    5xx until the retry budget was exhausted
    ├── TransportError                     connection refused/reset, timeouts
    ├── ResponseError                      the answer itself is unusable
    │   ├── TruncatedResponseError         cut mid-row or mid-quote, even after retries
    │   ├── ConversionError                a cell is not its catalog type (read again as text)
    │   ├── MissingColumnsError            the server dropped requested columns
    │   └── HeaderMismatchError            header cannot be mapped back to the request
    ├── IgnoredFilterError                 server ignored a filter (``on_ignored_filter="raise"``)
    ├── SchemaValidationError              a frame failed its catalog schema
    └── DatasetError                       a Parquet dataset is missing, foreign or mismatched

    BackstoryWarning (UserWarning)
    ├── MissingColumnsWarning              ``on_missing="warn"``
    ├── IgnoredFilterWarning               rows violate a filter the server ignored
    ├── ValidationWarning                  ``validate="warn"`` found failures
    ├── PossibleTypoWarning                a where-string value is a likely typo of a known one
    ├── UnregisteredMetricWarning          custom metric read as text; how to register it
    ├── VariationAdjustedWarning           a period was translated to the metric's own form
    ├── HeaderMismatchWarning              a known label differs from the one received
    ├── UnverifiedAnswerWarning            a chunked read ended without its terminating chunk
    ├── OrphanRowsWarning                  a join lost rows its how= promised to keep
    ├── MissingRowsWarning                 fetch: the server no longer returns some rows
    ├── PacingWarning                      the hourly budget made a read wait
    ├── CacheWarning                       a cached answer was unusable; it is fetched again
    └── InsecureConfigWarning              the credentials file is readable by others

``*``: drawn twice, it has both parents: raised about local frames too (joins, roll-ups,
``df.backstory``), these are frame errors, and stay query errors (and ``ValueError``) until
bspandas 0.3 so that ``except QueryError`` keeps catching them. Catch ``FrameError`` now.

Messages say what was wrong, what was expected and what to do next. They never contain a
client secret or a bearer token: ``bspandas._messages.redact`` scrubs anything that
reaches a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bspandas._messages import close_object, quote_input, redact, short_text

if TYPE_CHECKING:
    import pandas as pd


class BackstoryError(Exception):
    """Base class of every error bspandas raises on purpose.

    Parameters
    ----------
    message : str
        What was wrong, what was expected and what to do next. Secrets in it are
        redacted before it is stored.

    Examples
    --------
    >>> import bspandas
    >>> try:
    ...     bspandas.Query("account", ["ootb_acount_name"])
    ... except bspandas.BackstoryError as error:
    ...     print(type(error).__name__, "|", str(error).split(".")[0])
    UnknownMetricError | Unknown metric 'ootb_acount_name' for object 'account'
    """

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


# -- configuration -----------------------------------------------------------------------


class ConfigurationError(BackstoryError):
    """The client is configured wrongly (a bad base URL, plain http to a remote host...)."""


class MissingCredentialsError(ConfigurationError):
    """No client id or secret was found; the message lists every place that was looked at."""

    def __init__(self, missing: Sequence[str], looked_at: Sequence[str]) -> None:
        self.missing = list(missing)
        self.looked_at = list(looked_at)
        where = "\n".join(f"  - {place}" for place in looked_at)
        super().__init__(
            f"No {' or '.join(missing)} found. Looked at:\n{where}\n"
            "Pass both to bspandas.connect(your_client_id, your_client_secret), set the "
            "BACKSTORY_* environment variables, or write the config file. For a local "
            "sandbox use bspandas.sandbox.serve()."
        )


class OptionError(ConfigurationError, AttributeError, KeyError):
    """``bs.options``/``bs.set_option`` got a name that is not an option (the message
    suggests the closest) or a value the option cannot take. An ``AttributeError`` so that
    ``getattr(bs.options, name, default)`` works, a ``KeyError`` as in pandas."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# -- query errors --------------------------------------------------------------------------


class QueryError(BackstoryError, ValueError):
    """The query is wrong before anything was sent."""


class UnknownObjectError(QueryError):
    """The object is not one the Query API exports."""

    def __init__(self, obj: object, known: Iterable[str]) -> None:
        self.object = obj
        self.known = sorted(known)
        close = close_object(obj, self.known)
        hint = f" Did you mean {close!r}?" if close else ""
        shown = quote_input(obj) if isinstance(obj, str) else repr(obj)[:200]
        super().__init__(f"Unknown object {shown}.{hint} Expected one of: {', '.join(self.known)}.")


class UnknownMetricError(QueryError, LookupError):
    """A slug the catalog does not know, with the closest known slugs as suggestions."""

    def __init__(
        self, slug: str, object: str | None, suggestions: Sequence[str], *, hint: str = ""
    ) -> None:
        self.slug = slug
        self.object = object
        self.suggestions = list(suggestions)
        self.hint = hint
        where = f" for object {quote_input(object)}" if object else ""
        did_you_mean = (
            f" Did you mean: {', '.join(self.suggestions)}?"
            if self.suggestions
            else " Search with bspandas.catalog.search(...)."
        )
        custom = (
            ""
            if self.suggestions and not slug.startswith(("custom_", "derived_"))
            else " Custom metrics must start with custom_<object>_ or derived_<object>_ "
            "(register them with bspandas.catalog.register)."
        )
        super().__init__(
            f"Unknown metric {quote_input(str(slug))}{where}.{hint}{did_you_mean}{custom}"
        )

    def __str__(self) -> str:  # LookupError would quote the message like KeyError
        return str(self.args[0])


class InvalidVariationError(QueryError):
    """A period the metric does not allow (or a windowed metric asked without a period).
    ``allowed`` holds the metric's periods in the catalog's order of windows (``last_7_days``,
    ``last_14_days``, ... as ``catalog.periods`` gives them), whatever order they came in."""

    def __init__(
        self, slug: str, period: str | None, allowed: Sequence[str], reason: str = ""
    ) -> None:
        from bspandas.catalog.vocabulary import canonical_order  # the catalog imports errors

        self.slug = slug
        self.period = period
        self.allowed = canonical_order(list(dict.fromkeys(allowed)))
        what = (
            f"{slug!r} has no period {period!r}"
            if period is not None
            else f"{slug!r} needs a period"
        )
        allowed_txt = ", ".join(self.allowed) if self.allowed else "none (it takes no period)"
        example = f" e.g. ({slug!r}, {self.allowed[0]!r})" if self.allowed else ""
        extra = f" {reason}" if reason else ""
        super().__init__(f"{what}.{extra} Allowed periods: {allowed_txt}.{example}")


class InvalidFilterError(QueryError):
    """A filter, simple dict or ``where=`` string that cannot become a valid API filter."""


# -- frame errors ---------------------------------------------------------------------------


class FrameError(BackstoryError):
    """A problem with a DataFrame you passed, not with a request."""


class InvalidColumnsError(QueryError, FrameError):
    """A column specification of the wrong shape, or a frame without the columns a
    function needs. A :class:`FrameError`; also a :class:`QueryError` until bspandas 0.3."""


class MixedCurrencyError(InvalidColumnsError):
    """A sum, mean, roll-up or chart over money found several currencies and no converted
    amount. ``currencies`` lists the ISO codes found (most frequent first)."""

    def __init__(self, message: str, currencies: list[str]) -> None:
        self.currencies = list(currencies)
        super().__init__(message)


# -- server answers -------------------------------------------------------------------------


class APIError(BackstoryError):
    """The server answered with an error status. Carries the status and a short body."""

    def __init__(
        self, message: str, *, status: int | None = None, body: str | bytes | None = None
    ) -> None:
        self.status = status
        self.body = short_text(body)
        text = message if status is None else f"HTTP {status}: {message}"
        if self.body:
            text = f"{text}\nServer said: {self.body}"
        super().__init__(text)


class AuthenticationError(APIError):
    """Credentials or token refused (401/403)."""


class BadRequestError(APIError):
    """The server refused the query (400)."""


class RateLimitError(APIError):
    """Too many requests (429) even after backing off within the retry budget."""


class ServerError(APIError):
    """5xx answers even after retrying within the retry budget."""


class TransportError(BackstoryError):
    """The connection failed: refused, reset or timed out, after retries."""


# -- answers that cannot be used ------------------------------------------------------------


class ResponseError(BackstoryError):
    """The answer arrived but cannot be turned into a frame."""


class TruncatedResponseError(ResponseError):
    """The CSV answer was cut inside a row or a quoted field, even after retries."""


class ConversionError(ResponseError):
    """A cell could not be read as its catalog type. ``read_query`` reads the column again
    as text (so no value is lost) and validation reports the cells."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        super().__init__(f"Column {name!r} holds a value that is not its catalog type: {detail}")


class MissingColumnsError(ResponseError):
    """The server dropped requested columns (it answers 200 and leaves them out)."""

    def __init__(
        self, missing: Sequence[str], *, ambiguous: bool = False, detail: str = ""
    ) -> None:
        self.missing = list(missing)
        self.ambiguous = ambiguous
        shown = ", ".join(self.missing[:20])
        if len(self.missing) > 20:
            shown += f" and {len(self.missing) - 20} more (all in .missing)"
        if ambiguous:
            head = (
                "The server dropped columns and their labels do not tell which: one or more "
                f"of {shown}."
            )
        else:
            head = f"The server dropped {len(self.missing)} requested column(s): {shown}."
        tail = (
            " The Query API drops slugs and variations it does not know for this tenant "
            "without an error. Check the slug and period with bspandas.catalog.describe(...), "
            'or pass on_missing="warn" to keep the columns that came.'
        )
        super().__init__(head + (f" {detail}" if detail else "") + tail)


class HeaderMismatchError(ResponseError):
    """The CSV header cannot be mapped back to the requested columns."""


class IgnoredFilterError(BackstoryError):
    """The server ignored a filter: returned rows violate it."""


class SchemaValidationError(BackstoryError):
    """A frame failed its catalog schema. ``failure_cases`` holds pandera's table."""

    def __init__(self, summary: str, failure_cases: pd.DataFrame | None = None) -> None:
        self.summary = summary
        self.failure_cases = failure_cases
        super().__init__(summary)


class DatasetError(BackstoryError):
    """A Parquet dataset (``export_dataset``, ``snapshot``) cannot be written or read as
    asked: another query's dataset at that path, no dataset there, a file without metadata."""


# -- warnings ---------------------------------------------------------------------------------


class BackstoryWarning(UserWarning):
    """Base class of every warning bspandas emits."""


class MissingColumnsWarning(BackstoryWarning):
    """Requested columns were dropped by the server (``on_missing="warn"``)."""


class IgnoredFilterWarning(BackstoryWarning):
    """Rows violate a filter: the server ignored it."""


class ValidationWarning(BackstoryWarning):
    """Validation found failures (``validate="warn"``)."""


class PossibleTypoWarning(BackstoryWarning):
    """A where-string compares an enumeration with a value the catalog does not know but
    that is a small edit away from one it does (``'Closed-Won'`` for ``'Closed Won'``): the
    filter would silently select nothing. Tenants' own picklist values, far from every known
    value, do not warn."""


class UnregisteredMetricWarning(BackstoryWarning):
    """A custom metric without a registered definition was read as text."""


class VariationAdjustedWarning(BackstoryWarning):
    """A period was translated to the form the API takes (on the field vocabulary, the
    reference's ``current_quarter`` is sent as ``this_quarter``)."""


class HeaderMismatchWarning(BackstoryWarning):
    """A header label differs from the catalog's known label for that column."""


class UnverifiedAnswerWarning(BackstoryWarning):
    """A chunked read ended without its terminating chunk: its rows are complete, but
    bspandas could not check that none are missing (a whole read re-reads to check)."""


class MissingRowsWarning(BackstoryWarning):
    """``df.backstory.fetch`` got no row back for some ids (their new columns stay empty)."""


class OrphanRowsWarning(BackstoryWarning):
    """A join of accounts and opportunities lost rows that its ``how`` promised to keep.

    Orphans (opportunities whose account is not in the account frame; an account frame is
    usually a subset of the tenant) go where ``how`` says (``join_opportunities``:
    ``"left"``/``"inner"`` leave them out, ``"right"``/``"outer"`` keep them with empty
    account columns; ``join_account``: the mirror image) and are counted in
    ``attrs["backstory"]["join"]["orphans"]``, not warned about. It fires when ``how="right"``
    or ``"outer"`` promises every opportunity a place but a roll-up (``aggregate=``) must leave
    out those without an account id. Invented rows (an account key repeated in the account
    frame multiplies its opportunities) raise ``SchemaValidationError`` instead.
    ``orphans="ignore"`` silences the warning."""


class PacingWarning(BackstoryWarning):
    """The client waited to stay inside the hourly request budget."""


class CacheWarning(BackstoryWarning):
    """A cached answer was corrupt, truncated, foreign or a symlink: it was dropped and the
    answer is fetched again."""


class InsecureConfigWarning(BackstoryWarning):
    """The credentials file can be read by other users."""
