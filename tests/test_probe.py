"""catalog.probe against the sandbox with slugs it drops (issue 14, tenant discovery)."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

import bspandas as bs
from bspandas import catalog
from bspandas._read.probe import cached
from bspandas.cli import main
from bspandas.sandbox import Sandbox

LABELLED = ["ootb_account_name", "industry", "ootb_account_crm_id", "annual_revenue"]
UNLABELLED = [
    ("ootb_emails_sent", "last_7_days"),
    ("ootb_emails_sent", "last_30_days"),
    ("ootb_emails_received", "last_7_days"),
    ("ootb_emails_received", "last_30_days"),
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_probe_names_what_the_tenant_drops_in_one_request(sandbox: Sandbox) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    with sandbox.client() as client:
        frame = catalog.probe("account", LABELLED, client=client)
    assert frame["slug"].tolist() == LABELLED
    assert frame["served"].tolist() == [True, False, True, True]
    assert frame.loc[0, "label"] == "Account Name"
    assert pd.isna(frame.loc[1, "label"])
    assert frame.attrs["requests"] == 1
    assert sandbox.count(endpoint="export") == 1
    # a filter matching no row answered with the header alone: the name filter is applied
    assert bool(frame.loc[0, "filterable"]) is True
    assert sandbox.requests[-1].rows == 0


def test_dropped_unlabelled_column_is_found_by_splitting(sandbox: Sandbox) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"ootb_emails_received"}))
    with sandbox.client() as client:
        frame = catalog.probe("account", UNLABELLED, client=client)
    assert frame["served"].tolist() == [True, True, False, False]
    # fewer requests than one per column would take, plus the first
    assert frame.attrs["requests"] <= len(UNLABELLED)
    assert sandbox.count(endpoint="export") == frame.attrs["requests"]


def test_budget_bounds_a_whole_catalog_probe(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        frame = catalog.probe("account", client=client, budget=2, batch=10)
    assert frame.attrs["requests"] == 2
    assert sandbox.count(endpoint="export") == 2
    told = int(frame["served"].notna().sum())
    assert 0 < told <= 20  # two requests of at most 10 columns each (a split halves one)
    assert int(frame["served"].isna().sum()) == len(frame) - told  # unknown, not "dropped"


@pytest.fixture
def home_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "bspandas"


def test_a_cached_probe_makes_read_query_fail_early(sandbox: Sandbox, home_cache: Path) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    with sandbox.client() as client:
        catalog.probe("account", LABELLED, client=client)
        files = list(home_cache.glob("bspandas-probe-*.json"))
        assert len(files) == 1
        stored = files[0].read_text()
        assert client.client_id not in stored
        assert client.client_id not in files[0].name
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
        exports = sandbox.count(endpoint="export")
        with pytest.raises(bs.MissingColumnsError, match="does not serve") as info:
            bs.read_query(
                "account", ["ootb_account_crm_id"], where="industry == 'Retail'", client=client
            )
        assert "industry" in str(info.value)
        assert sandbox.count(endpoint="export") == exports  # nothing was sent
        frame = bs.read_query("account", ["ootb_account_crm_id", "annual_revenue"], client=client)
    assert len(frame) == len(sandbox.tenant.accounts)


def test_probe_cache_expires_after_a_day(sandbox: Sandbox, home_cache: Path) -> None:
    now = [1_000_000.0]
    with sandbox.client() as client:
        catalog.probe("account", LABELLED, client=client, clock=lambda: now[0])
        assert cached(client, "account", clock=lambda: now[0])["industry"]["served"] is True
        now[0] += 86_401
        assert cached(client, "account", clock=lambda: now[0]) == {}


def test_cli_probe_prints_the_table(home_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["catalog", "probe", "account", "ootb_account_name", "industry", "--sandbox"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Account Name" in out
    assert "1 request(s) used." in out
    assert not list(home_cache.glob("bspandas-probe-*.json"))  # an embedded sandbox: not kept


def test_probe_tells_which_attributes_the_tenant_filters(sandbox: Sandbox) -> None:
    # spec §2: a filter on an attribute the server cannot filter on is silently ignored
    sandbox.set_faults(unfilterable_slugs=frozenset({"industry"}))
    columns = ["ootb_account_name", "industry", "annual_revenue", "ootb_account_original_owner"]
    with sandbox.client() as client:
        frame = catalog.probe("account", columns, client=client, filters=True, cache=False)
    assert frame["filterable"].tolist() == [True, False, True, True]
    assert frame.attrs["requests"] == 1 + 3  # the batch, then one per attribute but the name
    assert sandbox.count(endpoint="export") == 4


def test_a_batch_the_tenant_drops_whole_is_unserved(sandbox: Sandbox) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry", "annual_revenue"}))
    with sandbox.client() as client:
        frame = catalog.probe("account", ["industry", "annual_revenue"], client=client, cache=False)
    assert frame["served"].tolist() == [False, False]
    assert frame.attrs["requests"] == 1
