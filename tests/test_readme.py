"""Every ```python block of the README runs, in order, in one namespace, against the sandbox."""

from __future__ import annotations

import re

import pandas as pd

from bspandas.client import default_client, set_default_client
from tests.conftest import ROOT


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_has_python_blocks() -> None:
    assert len(python_blocks()) >= 6


def test_readme_python_blocks_run() -> None:
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            code = compile(block, f"README.md python block {number}", "exec")
            exec(code, namespace)
        assert isinstance(namespace["accounts"], pd.DataFrame)
        assert isinstance(namespace["deals"], pd.DataFrame)
    finally:
        sandbox = namespace.get("sb")
        if sandbox is not None:
            default_client().close()
            sandbox.stop()  # type: ignore[attr-defined]
        set_default_client(None)
