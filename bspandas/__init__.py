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

from bspandas import catalog, schemas
from bspandas.cache import Cache
from bspandas.client import Client, RetryPolicy, connect
from bspandas.errors import (
    APIError,
    AuthenticationError,
    BackstoryError,
    BackstoryWarning,
    BadRequestError,
    ConfigurationError,
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
    PacingWarning,
    QueryError,
    RateLimitError,
    ResponseError,
    SchemaValidationError,
    ServerError,
    TransportError,
    TruncatedResponseError,
    UnexpectedValuesWarning,
    UnknownMetricError,
    UnknownObjectError,
    UnregisteredMetricWarning,
    ValidationWarning,
    VariationAdjustedWarning,
)
from bspandas.query import Query
from bspandas.reader import read_query
from bspandas.schema import schema_for

if TYPE_CHECKING:
    from bspandas import sandbox

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
    "Client",
    "ConfigurationError",
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
    "PacingWarning",
    "Query",
    "QueryError",
    "RateLimitError",
    "ResponseError",
    "RetryPolicy",
    "SchemaValidationError",
    "ServerError",
    "TransportError",
    "TruncatedResponseError",
    "UnexpectedValuesWarning",
    "UnknownMetricError",
    "UnknownObjectError",
    "UnregisteredMetricWarning",
    "ValidationWarning",
    "VariationAdjustedWarning",
    "__version__",
    "catalog",
    "connect",
    "read_query",
    "sandbox",
    "schema_for",
    "schemas",
]


def __getattr__(name: str) -> Any:
    """``bspandas.sandbox`` is imported on first use (it carries an HTTP server)."""
    if name == "sandbox":
        return import_module("bspandas.sandbox")
    raise AttributeError(f"module 'bspandas' has no attribute {name!r}")
