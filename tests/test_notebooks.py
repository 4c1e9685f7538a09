"""Both notebooks run top to bottom against a sandbox started for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_both_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_pipeline_health.ipynb"]


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def _stderr(notebook: Any) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sb = sandbox_factory(seed=11, accounts=300, hourly_budget=0)
    monkeypatch.setenv("BACKSTORY_CLIENT_ID", sb.client_id)
    monkeypatch.setenv("BACKSTORY_CLIENT_SECRET", sb.client_secret)
    monkeypatch.setenv("BACKSTORY_BASE_URL", sb.base_url)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    assert sb.count(endpoint="export") >= 2  # the notebook read through the sandbox
    assert "Warning" not in _stderr(notebook), _stderr(notebook)
    last = notebook.cells[-1]
    assert last.outputs, "the last cell shows a result"
