"""Shared fixtures: paths, the spec directory (when present), catalog cleanup."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bspandas import catalog
from tests.paths import SPEC_DIR

pytest_plugins = ["bspandas.sandbox.testing"]

# Locally hypothesis explores new examples on every run; CI (CI=1, set by .ci/run) replays
# a fixed set so a landing never depends on luck. A failure found locally is kept in
# .hypothesis/ and replayed until it is fixed.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def spec_dir() -> Path:
    """The read-only spec folder; tests that compare against it skip when it is absent."""
    if not (SPEC_DIR / "object-metric-reference.txt").is_file():
        pytest.skip(
            f"the spec folder {SPEC_DIR} is not present (it exists only on dev and CI machines)"
        )
    return SPEC_DIR


@pytest.fixture(autouse=True)
def _progress_bars_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress bars are decided by one setting, pinned here: whatever a test imported
    before (``ipykernel`` by the notebook runner), ``progress=None`` shows no bar. Tests of
    the setting itself change it with their own ``monkeypatch``."""
    monkeypatch.setenv("BSPANDAS_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _no_custom_metrics_leak() -> Iterator[None]:
    yield
    catalog.clear_custom()
