"""``bs.options``: the defaults every read uses, set once; arguments still win."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas.sandbox import Sandbox

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)


@pytest.fixture(autouse=True)
def _options_reset() -> Iterator[None]:
    yield
    bs.reset_option("all")


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client(retry=FAST) as c:
        yield c


def test_attribute_access_and_by_name_agree() -> None:
    assert bs.options.validate == "warn"
    bs.options.validate = "raise"
    assert bs.get_option("validate") == "raise"
    bs.set_option("dtype_backend", "pyarrow", "on_missing", "warn")
    assert (bs.options.dtype_backend, bs.options.on_missing) == ("pyarrow", "warn")
    bs.reset_option("dtype_backend")
    assert bs.options.dtype_backend == "numpy_nullable"
    assert "validate = 'raise'" in repr(bs.options)
    assert "validate" in dir(bs.options)
    assert "now 'warn'" in bs.describe_option("on_missing")


def test_unknown_names_raise_with_suggestions() -> None:
    with pytest.raises(bs.OptionError, match=r"No option 'valdate'\. Did you mean 'validate'"):
        bs.options.valdate = "raise"
    with pytest.raises(bs.OptionError, match="'dtype_backend'"):
        bs.get_option("dtype_backends")
    with pytest.raises(AttributeError):  # so getattr(bs.options, name, default) works
        _ = bs.options.nope
    assert getattr(bs.options, "nope", 1) == 1
    with pytest.raises(bs.OptionError, match="takes 'warn', 'raise'"):
        bs.options.validate = "loud"
    with pytest.raises(bs.OptionError, match="takes a positive number"):
        bs.set_option("cache_ttl", -1)
    assert bs.options.validate == "warn"  # nothing was set by a refused call


def test_a_refused_pair_sets_none_of_the_others() -> None:
    with pytest.raises(bs.OptionError):
        bs.set_option("on_missing", "warn", "validate", "loud")
    assert bs.options.on_missing == "raise"


def test_option_context_restores_even_on_error() -> None:
    seen: list[object] = []

    def inside() -> None:
        with bs.option_context("validate", False, on_missing="warn"):
            seen.extend([bs.options.validate, bs.options.on_missing])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        inside()
    assert seen == [False, "warn"]
    assert (bs.options.validate, bs.options.on_missing) == ("warn", "raise")


def test_reads_use_the_options_and_arguments_win(client: Client) -> None:
    columns = ["ootb_account_name", "annual_revenue"]
    bs.options.dtype_backend = "pyarrow"
    frame = bs.read_query("account", columns, client=client)
    assert isinstance(frame["ootb_account_name"].dtype, pd.ArrowDtype)
    assert frame.attrs["backstory"]["dtype_backend"] == "pyarrow"
    frame = bs.read_query("account", columns, client=client, dtype_backend="numpy_nullable")
    assert not isinstance(frame["ootb_account_name"].dtype, pd.ArrowDtype)


def test_the_default_client_option(sandbox: Sandbox, client: Client) -> None:
    bs.options.client = client
    frame = bs.read_query("account", ["ootb_account_name"])
    assert len(frame) == len(sandbox.tenant.accounts)
    assert frame.attrs["backstory"]["host"] == client.host


def test_on_missing_option_applies(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    columns = ["ootb_account_name", "industry"]
    with pytest.raises(bs.MissingColumnsError):
        bs.read_query("account", columns, client=client)
    bs.options.on_missing = "warn"
    with pytest.warns(bs.MissingColumnsWarning):
        frame = bs.read_query("account", columns, client=client)
    assert list(frame.columns) == ["ootb_account_name"]
    with pytest.raises(bs.MissingColumnsError):  # the argument wins
        bs.read_query("account", columns, client=client, on_missing="raise")


def test_cache_option_folder_and_ttl(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    bs.set_option(cache=str(tmp_path), cache_ttl=120)
    first = bs.read_query("account", ["ootb_account_name"], client=client)
    exports = sum(r.endpoint == "export" for r in sandbox.requests)
    second = bs.read_query("account", ["ootb_account_name"], client=client)
    assert sum(r.endpoint == "export" for r in sandbox.requests) == exports  # from cache
    pd.testing.assert_frame_equal(first, second)
    assert list(tmp_path.iterdir())
    bs.read_query("account", ["ootb_account_name"], client=client, cache=False)
    assert sum(r.endpoint == "export" for r in sandbox.requests) == exports + 1
