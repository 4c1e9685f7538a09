"""The documentation site: every public name has a reference entry, every entry imports, the
README links the docs, and notebooks are executed offline against the sandbox only.

The full site is built by ``make test`` (``mkdocs build --strict``); these checks fail faster
and say which name or page is wrong.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
import yaml

import bspandas

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
DIRECTIVE = re.compile(r"^\s*:::\s+(?P<path>[\w.]+)\s*$", re.MULTILINE)


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "tools/mkdocs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _directives(folder: Path) -> dict[str, Path]:
    return {
        match["path"]: page
        for page in sorted(folder.rglob("*.md"))
        for match in DIRECTIVE.finditer(page.read_text(encoding="utf-8"))
    }


def _documents(name: str, paths: set[str]) -> bool:
    """A public name is documented by ``::: bspandas.NAME`` or by entries of its members."""
    full = f"bspandas.{name}"
    return any(path == full or path.startswith(full + ".") for path in paths)


def test_every_public_name_has_a_reference_entry() -> None:
    paths = set(_directives(REFERENCE))
    missing = [
        name for name in bspandas.__all__ if name != "__version__" and not _documents(name, paths)
    ]
    assert missing == [], (
        f"public names without a '::: bspandas.NAME' entry in docs/reference: {missing}"
    )
    assert "__version__" in (REFERENCE / "index.md").read_text(encoding="utf-8")


def test_reference_entries_name_public_objects_that_import() -> None:
    hooks = _hooks()
    directives = _directives(DOCS)
    assert len(directives) > len(bspandas.__all__)
    for path, page in directives.items():
        head = path.split(".")[1] if path.startswith("bspandas.") else None
        assert path == "DataFrame.backstory" or head in bspandas.__all__, (
            f"{page.name}: '{path}' is not reached through a public name of bspandas"
        )
        assert hooks.defining_path(path)  # raises for a name that does not import


def test_defining_path_follows_the_object_not_the_public_name() -> None:
    hooks = _hooks()
    # bspandas.snapshot is the function, though a module of that name exists (today) too
    for public in ("read_query", "snapshot", "Client"):
        module, _, name = hooks.defining_path(f"bspandas.{public}").rpartition(".")
        assert name == public
        obj = getattr(importlib.import_module(module), name)
        assert obj is getattr(bspandas, public)
        assert obj.__module__ == module  # documented where it is defined
    accessor = hooks.defining_path("DataFrame.backstory")
    assert accessor.rpartition(".")[0] != "pandas"  # bspandas' class, not pandas' descriptor
    with pytest.raises(ValueError, match="does not import"):
        hooks.defining_path("bspandas.no_such_name")


def test_exception_tree_draws_every_public_error_and_warning_under_its_parent() -> None:
    tree = _hooks().exception_tree()
    lines = tree.splitlines()
    depth = {}
    for line in lines:
        match = re.search(r"(\w+(?:Error|Warning))\b", line)
        if match:
            depth[match[1]] = match.start(1)
    for name in bspandas.__all__:
        obj = getattr(bspandas, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert name in depth, f"{name} is missing from the drawn tree"
            parent = (
                next(
                    base
                    for base in obj.__mro__[1:]
                    if issubclass(base, bspandas.BackstoryError | bspandas.BackstoryWarning)
                )
                if obj not in (bspandas.BackstoryError, bspandas.BackstoryWarning)
                else None
            )
            if parent is not None:
                assert depth[name] > depth[parent.__name__], (name, parent.__name__)


def _nav_files(entries: list[object]) -> set[str]:
    files: set[str] = set()
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        files |= _nav_files(value) if isinstance(value, list) else {str(value)}
    return files


def test_nav_lists_every_page_and_both_notebooks() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    assert config["strict"] is True
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    notebooks = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert len(notebooks) == 2
    assert _nav_files(config["nav"]) == pages | notebooks


def test_readme_sections_the_site_includes_exist_once() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    included = {
        section
        for page in DOCS.rglob("*.md")
        for section in re.findall(r'--8<-- "README\.md:(\w+)"', page.read_text(encoding="utf-8"))
    }
    assert included >= {"intro", "quickstart"}
    for section in included:
        assert readme.count(f"<!-- --8<-- [start:{section}] -->") == 1, section
        assert readme.count(f"<!-- --8<-- [end:{section}] -->") == 1, section


def test_readme_links_the_docs_near_the_top_and_make_test_builds_them() -> None:
    """The README opens with make demo / make test, then says how to build and open the docs."""
    top = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:30]
    demo = next(i for i, line in enumerate(top) if line.startswith("make demo    # "))
    assert top[demo + 1].startswith("make test    # ")
    docs = next(i for i, line in enumerate(top) if "`make docs`" in line)
    assert demo < docs
    assert "site/index.html" in " ".join(top[docs : docs + 3])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(DOCS)" in test_recipe
    assert "$(DOCS) -q" not in test_recipe  # -q hides warnings from --strict: nothing would fail
    assert "DOCS   := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict" in makefile
    assert "--cov" in test_recipe
    assert "fail_under = " in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_notebooks_execute_without_the_users_tenant_and_warnings_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docs never read a real tenant: BACKSTORY_* is not passed to the kernel, so the
    notebooks take their embedded-sandbox branch; a printed warning fails the build."""
    monkeypatch.setenv("BACKSTORY_CLIENT_ID", "a-real-tenant-id")
    monkeypatch.setenv("BACKSTORY_BASE_URL", "https://api.people.ai")
    source = tmp_path / "probe.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\nsorted(k for k in os.environ if k.startswith('BACKSTORY_'))"
        ),
        nbformat.v4.new_code_cell("import warnings\nwarnings.warn('look out', UserWarning)"),
    ]
    nbformat.write(nb, source)
    target = tmp_path / "out" / "probe.ipynb"
    assert _hooks().execute(source, target) is False  # the warning was reported
    executed = nbformat.read(target, as_version=4)
    assert executed.cells[0].outputs[0]["data"]["text/plain"] == "[]"
    assert "UserWarning" in "".join(o.get("text", "") for o in executed.cells[1].outputs)
