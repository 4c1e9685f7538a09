"""MkDocs hooks for the bspandas site (``mkdocs.yml`` names this file under ``hooks:``).

* ``::: bspandas.NAME`` lines name objects by their PUBLIC path only. At build time each is
  imported and rewritten to the module that defines it, so the pages follow the code when
  modules move; ``::: DataFrame.backstory`` becomes the class pandas registered as the
  accessor.
* ``{{ exception_tree }}`` and ``{{ options_table }}`` are drawn from the live package (the
  class hierarchy under ``BackstoryError``/``BackstoryWarning``, ``describe_option``).
* ``DoctestFences`` (a griffe extension, named in ``mkdocs.yml``) shows doctests written in a
  docstring's prose as Python console blocks, not as Markdown quotes.
* Both notebooks are executed against the embedded sandbox (no ``BACKSTORY_*`` variable is
  passed on, so a developer's real tenant is never read; nothing leaves the machine) into
  ``build/docs-notebooks/`` and rendered by mkdocs-jupyter with their outputs; the
  ``.ipynb`` files in the repository stay output-free. An executed copy is reused while
  neither the notebook nor the package source changed. A notebook that fails, or prints a
  warning, fails the build.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import inspect
import logging
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import griffe
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "docs-notebooks"
log = logging.getLogger("mkdocs.hooks.bspandas")

_DIRECTIVE = re.compile(r"^(?P<indent>\s*):::\s+(?P<path>[\w.]+)\s*$", re.MULTILINE)


# -- public paths to defining modules ---------------------------------------------------------


def _lookup(path: str) -> Any:
    """The object at a dotted public path (``bspandas.reshape.person_labels``)."""
    if path == "DataFrame.backstory":
        import pandas as pd

        return pd.DataFrame.backstory  # the registered accessor class
    # attribute first, as `bs.snapshot` reads: the function, not the module of that name
    parts = path.split(".")
    obj: Any = importlib.import_module(parts[0])
    for depth, name in enumerate(parts[1:], start=2):
        if hasattr(obj, name) or not inspect.ismodule(obj):
            obj = getattr(obj, name)
        else:
            obj = importlib.import_module(".".join(parts[:depth]))
    return obj


def defining_path(path: str) -> str:
    """Where mkdocstrings finds the object named by a public path: the module that defines a
    class or function, the object's class for instances (``bspandas.options``), else the
    path itself (modules, constants)."""
    try:
        obj = _lookup(path)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"docs name {path!r}, which does not import: {error}") from error
    if inspect.ismodule(obj):
        return obj.__name__
    if not (inspect.isclass(obj) or inspect.isfunction(obj)) and not _is_constant(obj):
        obj = type(obj)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        obj = inspect.unwrap(obj)
        return f"{obj.__module__}.{obj.__qualname__}"
    return path


def _is_constant(obj: Any) -> bool:
    return isinstance(obj, str | int | float | bytes | tuple | frozenset | type(None))


# -- drawn from the live package ---------------------------------------------------------------


def exception_tree() -> str:
    """The error and warning classes as a tree, with the builtins each one also is (private
    classes left out, public ones that ``bspandas`` does not export marked)."""
    import bspandas

    public = {getattr(bspandas, name) for name in bspandas.__all__}

    def lines(cls: type, prefix: str, last: bool, top: bool) -> list[str]:
        extra = [b.__name__ for b in cls.__bases__ if b.__module__ == "builtins"]
        label = cls.__name__ + (f" ({', '.join(extra)})" if extra else "")
        if cls not in public:
            label += "  [not exported]"
        out = [label if top else f"{prefix}{'└── ' if last else '├── '}{label}"]
        children = sorted(
            (
                c
                for c in cls.__subclasses__()
                if c.__module__.startswith("bspandas") and not c.__name__.startswith("_")
            ),
            key=lambda c: c.__name__,
        )
        inner = "" if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(children):
            out += lines(child, inner, i == len(children) - 1, False)
        return out

    tree = lines(bspandas.BackstoryError, "", True, True)
    tree += ["", *lines(bspandas.BackstoryWarning, "", True, True)]
    return "```text\n" + "\n".join(tree) + "\n```"


def options_table() -> str:
    """One row per option: its name and what ``describe_option`` says about it."""
    import bspandas

    rows = ["| option | meaning, values, default |", "| --- | --- |"]
    for line in bspandas.describe_option().splitlines():
        name, _, text = line.partition(": ")
        text = text.replace("|", "\\|").rsplit(", now ", 1)[0] + "."
        rows.append(f"| `{name}` | {text} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    markdown = _DIRECTIVE.sub(lambda m: f"{m['indent']}::: {defining_path(m['path'])}", markdown)
    if "{{ exception_tree }}" in markdown:
        markdown = markdown.replace("{{ exception_tree }}", exception_tree())
    if "{{ options_table }}" in markdown:
        markdown = markdown.replace("{{ options_table }}", options_table())
    return markdown


def fence_doctests(text: str) -> str:
    """Wrap each run of ``>>>`` lines and their output in a ``pycon`` fence, except inside a
    numpydoc ``Examples`` section (griffe reads those itself) and in indented code blocks."""
    lines = text.splitlines()
    out: list[str] = []
    in_examples = False
    i = 0
    while i < len(lines):
        line = lines[i]
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.strip() and len(underline) >= 3 and set(underline) == {"-"}:
            in_examples = line.strip() == "Examples"
        if not in_examples and line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += ["```pycon", *block, "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Doctests in docstring prose become ``pycon`` blocks in the reference pages."""

    def on_instance(self, *, obj: griffe.Object, **_: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)


_AUTOREF = re.compile(r"<autoref (?P<attrs>[^>]*)>(?P<title>.*?)</autoref>", re.DOTALL)
_IDENTIFIER = re.compile(r'\bidentifier="(?P<id>[^"]*)"')
_PYTHON_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def on_page_content(content: str, **_: Any) -> str:
    """Give back as text the brackets that Markdown took for reference links in docstrings
    (``attrs["a"]["b"]``, a doctest's ``[...]`` output under a ``[...]`` line): their
    "identifier" is no Python name. A bracketed Python name stays a cross-reference, so a
    broken one still fails the strict build."""

    def restore(match: re.Match[str]) -> str:
        found = _IDENTIFIER.search(match["attrs"])
        identifier = html.unescape(found["id"]) if found else ""
        if _PYTHON_PATH.fullmatch(identifier):
            return match[0]
        return f"[{match['title']}][{html.escape(identifier)}]"

    return _AUTOREF.sub(restore, content)


# -- executed notebooks ------------------------------------------------------------------------


def _fingerprint(notebook: Path) -> str:
    """Changes when the notebook, the package source or the interpreter/pandas changes."""
    import pandas as pd

    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(f"{sys.version}|{pd.__version__}".encode())
    package = ROOT / "bspandas"
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".json"} and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def execute(notebook: Path, target: Path) -> bool:
    """Run one notebook top to bottom against the embedded sandbox; write it with outputs.
    False when it printed a warning (logged, so a strict build fails)."""
    import nbformat
    from nbclient import NotebookClient

    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend puts charts in the outputs
    env["BSPANDAS_PROGRESS"] = "0"
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="bspandas-docs-") as cwd:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": cwd}}
        ).execute(env=env)
    stderr = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    if "Warning" in stderr:
        log.warning("%s printed a warning when executed:\n%s", notebook.name, stderr)
        return False
    return True


def _refresh(notebook: Path) -> None:
    """Execute one notebook unless its executed copy is still current."""
    target = BUILD / "notebooks" / notebook.name
    stamp = target.with_suffix(".sha256")
    fingerprint = _fingerprint(notebook)
    if target.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return
    log.info("executing %s against the embedded sandbox", notebook.name)
    stamp.unlink(missing_ok=True)
    if execute(notebook, target):
        stamp.write_text(fingerprint)


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    # one kernel and one sandbox each, side by side: the build waits for the slower only
    with ThreadPoolExecutor(max_workers=len(notebooks) or 1) as pool:
        list(pool.map(_refresh, notebooks))
    for notebook in notebooks:
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(BUILD),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_post_build(config: Any) -> None:
    """Each notebook became a page that shows its results: a table and a chart at least."""
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        page = Path(config["site_dir"], "notebooks", notebook.stem)
        page = page / "index.html" if config["use_directory_urls"] else page.with_suffix(".html")
        text = page.read_text(encoding="utf-8") if page.exists() else ""
        for what, mark in (("a table", "<table"), ("a chart", "data:image/png;base64,")):
            if mark not in text:
                log.warning("%s: the rendered page %s shows no %s", notebook.name, page, what)
