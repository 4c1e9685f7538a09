"""Shared fixtures: paths, the spec directory (when present), catalog cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bspandas import catalog

pytest_plugins = ["bspandas.sandbox.testing"]

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = ROOT.parent / "shared" / "spec"


@pytest.fixture
def spec_dir() -> Path:
    """The read-only spec folder; tests that compare against it skip when it is absent."""
    if not (SPEC_DIR / "object-metric-reference.txt").is_file():
        pytest.skip(
            f"the spec folder {SPEC_DIR} is not present (it exists only on dev and CI machines)"
        )
    return SPEC_DIR


@pytest.fixture(autouse=True)
def _no_custom_metrics_leak() -> Iterator[None]:
    yield
    catalog.clear_custom()
