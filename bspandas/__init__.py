"""bspandas: Backstory Query API metrics as typed pandas DataFrames.

>>> import bspandas
>>> bspandas.catalog.get("ootb_churn_risk_score").type
'score'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bspandas import _deprecated, catalog, frame
from bspandas._exceptions import (
    APIError,
    AuthenticationError,
    BackstoryError,
    BackstoryWarning,
    BadRequestError,
    CacheWarning,
    ConfigurationError,
    ConversionError,
    DatasetError,
    FrameError,
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
from bspandas._http.client import Client
from bspandas._http.default import connect, default_client, set_default_client
from bspandas._http.retry import RetryPolicy
from bspandas._io.cache import Cache
from bspandas._options import (
    describe_option,
    get_option,
    option_context,
    options,
    reset_option,
    set_option,
)
from bspandas._read.reader import read_query
from bspandas._version import __version__
from bspandas.frame import accessor as _accessor  # noqa: F401  (registers df.backstory)
from bspandas.frame import melt_variations, pivot_variations, unmelt_variations
from bspandas.frame.dataset import export_dataset, read_dataset
from bspandas.frame.snapshot import read_snapshots, snapshot
from bspandas.query import Query
from bspandas.validation import schema_for

_deprecated.install()

if TYPE_CHECKING:
    from bspandas import sandbox
    from bspandas.validation import models as schemas


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
    "ConversionError",
    "DatasetError",
    "FrameError",
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
    "default_client",
    "describe_option",
    "export_dataset",
    "frame",
    "get_option",
    "melt_variations",
    "option_context",
    "options",
    "pivot_variations",
    "read_dataset",
    "read_query",
    "read_snapshots",
    "reset_option",
    "sandbox",
    "schema_for",
    "schemas",
    "set_default_client",
    "set_option",
    "snapshot",
    "unmelt_variations",
]


def __getattr__(name: str) -> Any:
    """``bspandas.sandbox`` (an HTTP server) and ``bspandas.schemas`` (the pandera models of
    :mod:`bspandas.schemas`) are imported on first use, so ``import bspandas``
    stays fast; ``bspandas.reshape`` and the other 0.1 module paths warn and forward (see
    ``bspandas._deprecated``)."""
    if name == "sandbox":
        return import_module("bspandas.sandbox")
    if name == "schemas":
        return import_module("bspandas.schemas")
    if f"bspandas.{name}" in _deprecated.MOVED:
        return import_module(f"bspandas.{name}")
    raise AttributeError(f"module 'bspandas' has no attribute {name!r}")
