"""bspandas: Backstory Query API metrics as typed pandas DataFrames.

>>> import bspandas
>>> bspandas.catalog.get("ootb_churn_risk_score").type
'score'
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

from bspandas import accessor as _accessor  # noqa: F401  (registers df.backstory)
from bspandas import catalog, reshape
from bspandas._options import (
    describe_option,
    get_option,
    option_context,
    options,
    reset_option,
    set_option,
)
from bspandas.cache import Cache
from bspandas.client import Client, RetryPolicy, connect
from bspandas.dataset import export_dataset, read_dataset
from bspandas.errors import (
    APIError,
    AuthenticationError,
    BackstoryError,
    BackstoryWarning,
    BadRequestError,
    CacheWarning,
    ConfigurationError,
    DatasetError,
    HeaderMismatchError,
    HeaderMismatchWarning,
    IgnoredFilterError,
    IgnoredFilterWarning,
    InsecureConfigWarning,
    InvalidColumnsError,
    InvalidFilterError,
    InvalidVariationError,
    MissingColumnsError,
    MissingColumnsWarning,
    MissingCredentialsError,
    MissingRowsWarning,
    MixedCurrencyError,
    OptionError,
    OrphanRowsWarning,
    PacingWarning,
    PossibleTypoWarning,
    QueryError,
    RateLimitError,
    ResponseError,
    SchemaValidationError,
    ServerError,
    TransportError,
    TruncatedResponseError,
    UnknownMetricError,
    UnknownObjectError,
    UnregisteredMetricWarning,
    UnverifiedAnswerWarning,
    ValidationWarning,
    VariationAdjustedWarning,
)
from bspandas.query import Query
from bspandas.reader import read_query
from bspandas.reshape import melt_variations, pivot_variations, unmelt_variations
from bspandas.schema import schema_for
from bspandas.snapshot import read_snapshots, snapshot

if TYPE_CHECKING:
    from bspandas import sandbox, schemas

try:
    __version__ = _version("bspandas")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "APIError",
    "AuthenticationError",
    "BackstoryError",
    "BackstoryWarning",
    "BadRequestError",
    "Cache",
    "CacheWarning",
    "Client",
    "ConfigurationError",
    "DatasetError",
    "HeaderMismatchError",
    "HeaderMismatchWarning",
    "IgnoredFilterError",
    "IgnoredFilterWarning",
    "InsecureConfigWarning",
    "InvalidColumnsError",
    "InvalidFilterError",
    "InvalidVariationError",
    "MissingColumnsError",
    "MissingColumnsWarning",
    "MissingCredentialsError",
    "MissingRowsWarning",
    "MixedCurrencyError",
    "OptionError",
    "OrphanRowsWarning",
    "PacingWarning",
    "PossibleTypoWarning",
    "Query",
    "QueryError",
    "RateLimitError",
    "ResponseError",
    "RetryPolicy",
    "SchemaValidationError",
    "ServerError",
    "TransportError",
    "TruncatedResponseError",
    "UnknownMetricError",
    "UnknownObjectError",
    "UnregisteredMetricWarning",
    "UnverifiedAnswerWarning",
    "ValidationWarning",
    "VariationAdjustedWarning",
    "__version__",
    "catalog",
    "connect",
    "describe_option",
    "export_dataset",
    "get_option",
    "melt_variations",
    "option_context",
    "options",
    "pivot_variations",
    "read_dataset",
    "read_query",
    "read_snapshots",
    "reset_option",
    "reshape",
    "sandbox",
    "schema_for",
    "schemas",
    "set_option",
    "snapshot",
    "unmelt_variations",
]


def __getattr__(name: str) -> Any:
    """``bspandas.sandbox`` (an HTTP server) and ``bspandas.schemas`` (pandera models) are
    imported on first use, so ``import bspandas`` stays fast."""
    if name in ("sandbox", "schemas"):
        return import_module(f"bspandas.{name}")
    raise AttributeError(f"module 'bspandas' has no attribute {name!r}")
