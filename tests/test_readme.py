"""Every ```python block of the README runs, in order, in one namespace, against the sandbox."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from bspandas._http.default import default_client, set_default_client
from tests.paths import ROOT


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_has_python_blocks() -> None:
    assert len(python_blocks()) >= 6


def check_money_and_owners(namespace: dict[str, object]) -> None:
    """The quickstart's roll-up and owner totals are in the corporate currency, per owner id,
    and equal plain pandas over the sandbox tenant's raw table."""
    per_account = namespace["quickstart_rollup"]
    assert isinstance(per_account, pd.DataFrame)
    assert per_account.attrs["backstory"]["money"]["currency"] == "corporate"
    by_owner = namespace["by_owner"]
    assert isinstance(by_owner, pd.Series)
    raw = namespace["sb"].tenant.opportunities  # type: ignore[attr-defined]
    since = pd.Timestamp("2026-07-01", tz="UTC")
    expected = raw[raw["close_date"] >= since].groupby("owner_id")["converted_amount"].sum()
    assert set(raw[raw["close_date"] >= since]["currency"].astype(str)) > {"USD"}
    assert by_owner.index.tolist() == sorted(by_owner.index.tolist())
    for owner, amount in expected.items():
        assert by_owner[owner] == pytest.approx(amount, rel=1e-12)


def test_readme_python_blocks_run() -> None:
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            code = compile(block, f"README.md python block {number}", "exec")
            exec(code, namespace)
            if number == 2:  # the quickstart; a later block reuses the names
                namespace["quickstart_rollup"] = namespace["per_account"]
        assert isinstance(namespace["accounts"], pd.DataFrame)
        assert isinstance(namespace["deals"], pd.DataFrame)
        check_money_and_owners(namespace)
    finally:
        sandbox = namespace.get("sb")
        if sandbox is not None:
            default_client().close()
            sandbox.stop()  # type: ignore[attr-defined]
        set_default_client(None)
