"""The public surface: a sorted, documented ``__all__`` and a version from metadata."""

from __future__ import annotations

import re
from importlib.metadata import version

import bspandas
from tests.paths import ROOT


def _readme_api_names() -> set[str]:
    """Names in the README's API section: the first `name` of each bullet, or every name
    of the Errors and Warnings bullets."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- "):
            bullets.append(line[2:])
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    names: set[str] = set()
    for bullet in bullets:
        found = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", bullet)
        if bullet.startswith(("Errors", "Warnings")):
            names.update(found)
        elif found:
            names.add(found[0])
    return names


def test_all_is_sorted_and_unique() -> None:
    assert list(bspandas.__all__) == sorted(set(bspandas.__all__))


def test_all_matches_readme_api_section() -> None:
    documented = _readme_api_names()
    exported = set(bspandas.__all__)
    assert exported - documented == set(), "exported but not documented in README ## API"
    assert documented - exported == set(), "documented in README ## API but not exported"


def test_every_exported_name_exists() -> None:
    for name in bspandas.__all__:
        assert hasattr(bspandas, name), name


def test_version_comes_from_metadata() -> None:
    assert bspandas.__version__ == version("bspandas")


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "bspandas" / "py.typed").is_file()
