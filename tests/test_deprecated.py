"""bspandas 0.1's module paths still import, with a DeprecationWarning at the user's line,
and every public name of 0.1 is still reachable through them (issue 18)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator

import pytest

import bspandas as bs
from bspandas import _deprecated

#: Every 0.1 module path and its ``__all__`` then (taken from 2a6672d).
PUBLIC_01: dict[str, tuple[str, ...]] = {
    "errors": (
        "APIError",
        "AuthenticationError",
        "BackstoryError",
        "BackstoryWarning",
        "BadRequestError",
        "CacheWarning",
        "ConfigurationError",
        "ConversionError",
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
        "OrphanRowsWarning",
        "PacingWarning",
        "QueryError",
        "RateLimitError",
        "ResponseError",
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
        "redact",
    ),
    "client": ("Body", "Client", "RetryPolicy", "connect", "default_client", "set_default_client"),
    "config": (
        "Credentials",
        "DEFAULT_BASE_URL",
        "check_base_url",
        "default_config_path",
        "resolve_credentials",
    ),
    "pacer": ("Pacer",),
    "parse": (
        "Answer",
        "HeaderPlan",
        "empty_frame",
        "iter_answer",
        "match_header",
        "read_answer",
        "to_frame",
        "unify_categories",
    ),
    "dtypes": (
        "Backend",
        "TABLE",
        "TEXT_DTYPE",
        "arrow_read_type",
        "dtype_for",
        "dtype_table_markdown",
    ),
    "cache": ("Cache", "as_cache", "default_cache_dir"),
    "filters": ("AllOf", "AnyOf", "Condition", "Node", "conjuncts", "parse_filter", "parse_where"),
    "reader": ("PROGRESS_ENV", "read_query"),
    "schema": (
        "FAILURE_SAMPLE",
        "PRIMARY_KEYS",
        "schema_for",
        "summarize_failures",
        "validate_frame",
    ),
    "reshape": (
        "ACCOUNT_KEYS",
        "AggregateSpec",
        "CORPORATE",
        "ColumnInfo",
        "DEFAULT_STAGE_PROBABILITY",
        "JoinHow",
        "JoinKey",
        "Money",
        "OrphanPolicy",
        "aggregate_opportunities",
        "catalog_columns",
        "describe_columns",
        "detect_backend",
        "flatten_variations",
        "infer_object",
        "is_long",
        "join_account",
        "join_key",
        "join_opportunities",
        "melt_variations",
        "money_column",
        "person_labels",
        "pivot_variations",
        "primary_key_column",
        "provenance",
        "unmelt_variations",
        "variation_columns",
    ),
    "accessor": ("BackstoryAccessor",),
    "enrich": ("fetch_columns", "plan_fetch"),
    "dataset": (
        "DatasetPlan",
        "MANIFEST",
        "Window",
        "WindowDone",
        "dictionary_columns",
        "export_dataset",
        "read_dataset",
        "storage_types",
        "windows_for",
    ),
    "snapshot": ("read_snapshots", "snapshot", "trend"),
}


@pytest.fixture(autouse=True)
def _restore_the_package() -> Iterator[None]:
    """Importing an old path binds it on the package (over ``bspandas.snapshot``, the
    function): put the package back as it was after each test."""
    before = dict(vars(bs))
    yield
    for name in _deprecated.MOVED:
        sys.modules.pop(name, None)
        child = name.rpartition(".")[2]
        if child in before:
            setattr(bs, child, before[child])
        elif child in vars(bs):
            delattr(bs, child)


def _forget(name: str) -> None:
    sys.modules.pop(name, None)
    parent, _, child = name.rpartition(".")
    if isinstance(vars(sys.modules[parent]).get(child), types.ModuleType):
        delattr(sys.modules[parent], child)


def test_the_table_covers_every_old_path() -> None:
    assert set(_deprecated.MOVED) == {f"bspandas.{m}" for m in PUBLIC_01}


@pytest.mark.parametrize("module", sorted(PUBLIC_01))
def test_an_old_path_warns_at_the_importing_line_and_keeps_its_names(module: str) -> None:
    name = f"bspandas.{module}"
    _forget(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module(name)
    deprecations = [w for w in caught if w.category is DeprecationWarning]
    assert len(deprecations) == 1, [str(w.message) for w in caught]
    assert name in str(deprecations[0].message)
    assert "0.3" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__  # the user's line, not importlib's
    for public in PUBLIC_01[module]:
        assert getattr(old, public) is not None, f"{name}.{public} is gone"
    with pytest.raises(AttributeError, match="no_such_name"):
        old.no_such_name  # noqa: B018


def test_from_import_of_an_old_path_warns_once() -> None:
    _forget("bspandas.reshape")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from bspandas.reshape import person_labels
    assert [w.category for w in caught] == [DeprecationWarning]
    assert person_labels is bs.frame.person_labels


def test_the_attribute_bs_reshape_still_works_with_a_warning() -> None:
    _forget("bspandas.reshape")
    with pytest.warns(DeprecationWarning, match="bspandas.frame"):
        reshape = bs.reshape  # type: ignore[attr-defined]
    assert reshape.pivot_variations is bs.pivot_variations


def test_bs_schemas_is_public_as_an_attribute_and_a_module_without_a_warning() -> None:
    # bspandas.schemas is in bs.__all__: a public namespace, not a moved 0.1 path
    _forget("bspandas.schemas")
    models = importlib.import_module("bspandas.validation.models")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bs.schemas.AccountModel is models.AccountModel
        _forget("bspandas.schemas")
        import bspandas.schemas as schemas
        from bspandas.schemas import OpportunityModel
    assert OpportunityModel is models.OpportunityModel
    assert set(schemas.__all__) == set(models.__all__)


def test_importing_bspandas_imports_no_old_path() -> None:
    code = (
        "import sys, warnings; warnings.simplefilter('error'); import bspandas, pandas as pd; "
        "pd.DataFrame().backstory; bspandas.frame; bspandas.schemas; bspandas.query; "
        f"print(sorted(n for n in sys.modules if n in {sorted(_deprecated.MOVED)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_old_snapshot_module_path_does_not_hide_the_snapshot_function() -> None:
    _forget("bspandas.snapshot")
    function = bs.snapshot
    with pytest.warns(DeprecationWarning, match="bspandas.snapshot is deprecated"):
        import bspandas.snapshot  # noqa: F401
    assert callable(bs.snapshot)
    assert bs.snapshot.__wrapped__ is function  # type: ignore[attr-defined]
    assert bs.snapshot.read_snapshots is bs.read_snapshots  # type: ignore[attr-defined]
    assert (function.__doc__ or "") in (bs.snapshot.__doc__ or "")  # help() still documents it
    assert "bs.snapshot(...)" in (bs.snapshot.__doc__ or "")
