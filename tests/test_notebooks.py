"""Both notebooks run top to bottom against a sandbox started for them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.paths import ROOT

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
    sb = sandbox_factory(seed=7, accounts=300, hourly_budget=0)  # two Kenji Kims own deals
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
    summary = ast.literal_eval(last.outputs[0]["data"]["text/plain"])
    check_summary(path.stem, summary, sb.tenant)


def check_summary(name: str, summary: dict[str, Any], tenant: Any) -> None:
    """The notebook's closing figures against plain pandas over the tenant's raw tables:
    money in the corporate currency, owners by id (this tenant has two pairs of namesakes)."""
    opps = tenant.opportunities
    assert set(opps["currency"].astype(str)) == {"USD", "EUR", "GBP", "JPY"}
    open_deals = opps[~opps["is_closed"]]
    assert summary["currency"] == "corporate"
    if name == "01_quickstart":
        accounts = tenant.accounts
        risky = accounts[accounts["churn_risk_score"] >= 70]["internal_id"]
        expected = open_deals[open_deals["account_id"].isin(risky)]["converted_amount"].sum()
        assert summary["open pipeline"] == pytest.approx(expected, rel=1e-9)
        return
    assert summary["open pipeline"] == pytest.approx(open_deals["converted_amount"].sum(), rel=1e-9)
    users = tenant.users.set_index("internal_id")["name"]
    per_owner = open_deals.groupby("owner_id")["converted_amount"].sum()
    present = users[users.index.isin(opps["owner_id"])]  # labels tell apart who is there
    shared = present[present.duplicated(keep=False)]
    assert len(shared) >= 2
    assert len(summary["owners"]) == len(per_owner)
    for owner, amount in per_owner.items():
        name_ = users[owner]
        label = f"{name_} (…{str(owner)[-4:]})" if owner in shared.index else name_
        assert summary["owners"][label] == pytest.approx(amount, rel=1e-9)
