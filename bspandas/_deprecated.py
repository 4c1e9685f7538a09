"""Old module paths, importable for one release with a ``DeprecationWarning``.

bspandas 0.2 moved its implementation into private, layered packages (``_http``, ``_io``,
``_read``, ``query``, ``validation``, ``frame``). Code that imported a module by its 0.1 path
(``import bspandas.reshape``, ``from bspandas.client import Client``) keeps working until 0.3:
the import warns once, at the importing line, and the module forwards every attribute to
where it lives now. The table below is the whole list.

>>> MOVED["bspandas.reshape"][0]
('bspandas.frame',)
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from bspandas._utils import inside_package

__all__ = ["MOVED", "install"]

#: old module path -> (where its names live now, in lookup order; what to use instead)
MOVED: dict[str, tuple[tuple[str, ...], str]] = {
    "bspandas.errors": (
        ("bspandas", "bspandas._exceptions", "bspandas._messages"),
        "import errors and warnings from bspandas (for example bspandas.APIError)",
    ),
    "bspandas.client": (
        ("bspandas", "bspandas._http.body"),
        "use bspandas.Client, bspandas.connect, bspandas.RetryPolicy and "
        "bspandas.set_default_client",
    ),
    "bspandas.config": (
        ("bspandas._http.config",),
        "configure a client with bspandas.Client(...) or bspandas.connect()",
    ),
    "bspandas.pacer": (("bspandas._http.pacer",), "pacing is internal to bspandas.Client"),
    "bspandas.parse": (
        ("bspandas._io.answer", "bspandas._io.align", "bspandas._io.convert"),
        "parsing is internal to bspandas.read_query",
    ),
    "bspandas.dtypes": (
        ("bspandas._io.dtypes",),
        "bspandas.catalog.describe(slug) shows a metric's dtype",
    ),
    "bspandas.cache": (("bspandas", "bspandas._io.cache"), "use bspandas.Cache"),
    "bspandas.filters": (
        (
            "bspandas.query",
            "bspandas.query.tree",
            "bspandas.query.grammar",
            "bspandas.query.dict_reader",
            "bspandas.query.where",
            "bspandas.query.simplification",
            "bspandas.query.attributes",
            "bspandas.query.typos",
            "bspandas.query.values",
            "bspandas.query.where_syntax",
        ),
        "the filter tree lives in bspandas.query",
    ),
    "bspandas.reader": (("bspandas", "bspandas._read.reader"), "use bspandas.read_query"),
    "bspandas.schema": (
        (
            "bspandas",
            "bspandas.validation",
            "bspandas.validation.failures",
            "bspandas.catalog.business",
        ),
        "use bspandas.schema_for or bspandas.validation",
    ),
    "bspandas.reshape": (
        ("bspandas.frame",),
        "its functions are in bspandas.frame (for example bspandas.frame.person_labels)",
    ),
    "bspandas.accessor": (
        ("bspandas.frame.accessor",),
        "the df.backstory accessor is registered by import bspandas",
    ),
    "bspandas.enrich": (
        ("bspandas.frame", "bspandas.frame.enrich"),
        "use df.backstory.fetch(...)",
    ),
    "bspandas.dataset": (
        (
            "bspandas",
            "bspandas.frame.dataset",
            "bspandas.frame.dataset.windows",
            "bspandas.frame.dataset.filesystem",
            "bspandas.frame.dataset.manifest",
            "bspandas.frame.dataset.storage",
            "bspandas.frame.dataset.convert",
            "bspandas.frame.dataset.plan",
            "bspandas.frame.dataset.fetch",
            "bspandas.frame.dataset.export",
            "bspandas.frame.dataset.pushdown",
            "bspandas.frame.dataset.read",
        ),
        "use bspandas.export_dataset and bspandas.read_dataset",
    ),
    "bspandas.snapshot": (
        ("bspandas", "bspandas.frame.snapshot"),
        "call the functions bs.snapshot(...) and bs.read_snapshots(...) after "
        "`import bspandas as bs` (no module import needed)",
    ),
}

_IMPORTLIB = os.path.dirname(importlib.__file__)


def _stacklevel() -> int:
    """The importing line: the first frame outside bspandas and importlib.

    ``warnings.warn`` itself does not count ``importlib._bootstrap`` frames, so neither
    does this count.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        filename = frame.f_code.co_filename
        if "importlib" in filename and "_bootstrap" in filename:
            frame = frame.f_back  # type: ignore[assignment]
            continue
        if not (inside_package(filename) or filename.startswith(_IMPORTLIB)):
            break
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


class _CallableModule(types.ModuleType):
    """An old module path that is also the name of a function of the package
    (``bspandas.snapshot``): importing the old path binds the module over the function on
    the package, so the module answers calls the way the function does."""

    __wrapped__: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        parent, _, child = spec.name.rpartition(".")
        function = vars(sys.modules[parent]).get(child)
        if callable(function) and not isinstance(function, types.ModuleType):
            module = _CallableModule(spec.name)
            module.__wrapped__ = function
            return module
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        old = module.__name__
        targets, hint = MOVED[old]
        warnings.warn(
            f"{old} is deprecated and will be removed in bspandas 0.3: {hint}.",
            DeprecationWarning,
            stacklevel=_stacklevel(),
        )
        modules = [importlib.import_module(target) for target in targets]

        def __getattr__(name: str) -> Any:  # noqa: N807 (a module's __getattr__)
            for target in modules:
                if hasattr(target, name):
                    return getattr(target, name)
            raise AttributeError(f"module {old!r} has no attribute {name!r} ({hint})")

        def __dir__() -> list[str]:  # noqa: N807
            return sorted({name for target in modules for name in dir(target)})

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__dir__ = __dir__  # type: ignore[method-assign]
        module.__doc__ = f"Deprecated: {hint}."
        if isinstance(module, _CallableModule):  # help() shows the function it calls
            module.__doc__ += f"\n\n{module.__wrapped__.__doc__ or ''}"


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader())


_FINDER = _Finder()


def install() -> None:
    """Put the finder for the old paths on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
