"""The rules that keep the house layered (issue 18): small modules, one concern each, and
no module inside the package importing the package root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

MAX_LINES = 400
CHECKED = ("bspandas", "tools", "benchmarks")


def _python_files() -> list[Path]:
    return sorted(p for folder in CHECKED for p in (ROOT / folder).rglob("*.py"))


def test_no_python_file_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by concern (the limit is {MAX_LINES} lines): {long}"


def _imports_root(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "bspandas" for a in node.names):
            lines.append(node.lineno)
        # `from bspandas import catalog` names a subpackage: fine; anything else is a name
        # of the public surface, which only bspandas/__init__.py assembles
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "bspandas"
            and node.level == 0
            and any(
                not (ROOT / "bspandas" / a.name).exists()
                and not (ROOT / "bspandas" / f"{a.name}.py").exists()
                for a in node.names
            )
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in (ROOT / "bspandas").rglob("*.py")
        if p.name != "__init__.py" or p.parent.name != "bspandas"
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_imports_the_package_root(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # doctests may (they show the public API), so only code is checked
    assert not _imports_root(tree), (
        f"{path.relative_to(ROOT)} imports the package root (lines {_imports_root(tree)}): "
        "import from the module that defines the name instead"
    )


def _test_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    found += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return [m for m in found if m.startswith("tests")]


def test_tests_share_helpers_through_support_modules_only() -> None:
    # conftest holds fixtures, test modules hold tests: helpers two tests share live in a
    # support module (tests/paths.py, tests/streams.py, tests/wire.py, tests/frame/frames.py)
    wrong = {
        str(p.relative_to(ROOT)): bad
        for p in sorted((ROOT / "tests").rglob("*.py"))
        if (
            bad := [
                m
                for m in _test_imports(p)
                if m.split(".")[-1] == "conftest" or m.split(".")[-1].startswith("test_")
            ]
        )
    }
    assert not wrong, f"import these from a support module instead: {wrong}"


def test_architecture_lists_every_module_with_its_job() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed: set[str] = set()
    group = ""
    for line in text.splitlines():
        if line.startswith("**`bspandas/"):
            group = line.strip("*`")
        elif line.startswith("- `") and group:
            listed.add(group + line[3:].split("`")[0])
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "bspandas").rglob("*.py")}
    assert not modules - listed, f"add these to ARCHITECTURE.md: {sorted(modules - listed)}"
    assert not listed - modules, f"gone, drop from ARCHITECTURE.md: {sorted(listed - modules)}"
