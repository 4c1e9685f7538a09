"""Settings once, for every read: ``bs.options``, ``set_option``, ``get_option``,
``reset_option`` and ``option_context``, as in pandas.

>>> import bspandas as bs
>>> bs.options.validate
'warn'
>>> with bs.option_context("validate", "raise"):
...     bs.get_option("validate")
'raise'
>>> bs.options.validate
'warn'

An argument given to ``read_query`` always wins over the option.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bspandas._exceptions import OptionError

__all__ = [
    "describe_option",
    "get_option",
    "option_context",
    "options",
    "reset_option",
    "set_option",
]


@dataclass(frozen=True)
class _Option:
    default: Any
    check: Callable[[Any], bool]
    expected: str
    doc: str


def _one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda value: any(value is c or (value == c and type(value) is type(c)) for c in choices)


def _cache_ok(value: Any) -> bool:
    from bspandas._io.cache import Cache

    return value is None or isinstance(value, bool | str | Path | Cache)


def _ttl_ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _client_ok(value: Any) -> bool:
    from bspandas._http.client import Client

    return value is None or isinstance(value, Client)


_OPTIONS: dict[str, _Option] = {
    "cache": _Option(
        None,
        _cache_ok,
        "None/False (no cache), True (the default folder), a folder or a bspandas.Cache",
        "where read_query caches answers as Parquet (cache= overrides)",
    ),
    "cache_ttl": _Option(
        3600.0,
        _ttl_ok,
        "a positive number of seconds",
        "how long a cached answer stays fresh when cache is True or a folder",
    ),
    "client": _Option(
        None,
        _client_ok,
        "None (connect()'s client, else one from the environment) or a bspandas.Client",
        "the client read_query uses without client=",
    ),
    "dtype_backend": _Option(
        "numpy_nullable",
        _one_of("numpy_nullable", "pyarrow"),
        "'numpy_nullable' or 'pyarrow'",
        "the dtypes of the frames read (dtype_backend= overrides)",
    ),
    "on_ignored_filter": _Option(
        "warn",
        _one_of("warn", "raise", "apply"),
        "'warn', 'raise' or 'apply'",
        "what to do when rows prove the server ignored a filter",
    ),
    "on_missing": _Option(
        "raise",
        _one_of("raise", "warn", "ignore"),
        "'raise', 'warn' or 'ignore'",
        "what to do when the server drops requested columns",
    ),
    "progress": _Option(
        None,
        _one_of(None, True, False),
        "None (reads longer than a second, in terminals and notebooks), True or False",
        "whether reads show a progress bar (the BSPANDAS_PROGRESS variable decides for None)",
    ),
    "validate": _Option(
        "warn",
        _one_of(True, False, "warn", "raise"),
        "'warn', 'raise', True (same as 'raise') or False",
        "whether frames are checked against the catalog schema",
    ),
}

_values: dict[str, Any] = {name: option.default for name, option in _OPTIONS.items()}


def _option(name: Any) -> _Option:
    if not isinstance(name, str) or name not in _OPTIONS:
        close = difflib.get_close_matches(str(name), list(_OPTIONS), n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise OptionError(
            f"No option {name!r}.{hint} The options are: {', '.join(sorted(_OPTIONS))}."
        )
    return _OPTIONS[name]


def get_option(name: str) -> Any:
    """The current value of option ``name``."""
    _option(name)
    return _values[name]


def set_option(*args: Any, **kwargs: Any) -> None:
    """``set_option("validate", "raise")``, several pairs, or ``set_option(validate="raise")``."""
    if len(args) % 2:
        raise OptionError(
            "set_option takes name, value pairs (set_option('validate', 'raise')) or keywords."
        )
    pairs = list(zip(args[::2], args[1::2], strict=True)) + list(kwargs.items())
    if not pairs:
        raise OptionError("set_option needs at least one name and value.")
    for name, value in pairs:  # check all before setting any
        option = _option(name)
        if not option.check(value):
            raise OptionError(f"Option {name!r} takes {option.expected}; got {value!r}.")
    for name, value in pairs:
        _values[name] = value


def reset_option(name: str = "all") -> None:
    """Back to the default: one option, or ``"all"``."""
    names = list(_OPTIONS) if name == "all" else [name]
    for each in names:
        _values[each] = _option(each).default


def describe_option(name: str | None = None) -> str:
    """What an option (or every option) means, takes and is now."""
    names = sorted(_OPTIONS) if name is None else [name]
    lines = []
    for each in names:
        option = _option(each)
        lines.append(
            f"{each}: {option.doc}. Takes {option.expected}. "
            f"Default {option.default!r}, now {_values[each]!r}."
        )
    return "\n".join(lines)


@contextmanager
def option_context(*args: Any, **kwargs: Any) -> Iterator[None]:
    """Set options inside a ``with`` block only (restored even when it raises)."""
    names = [*args[::2], *kwargs]
    for name in names:
        _option(name)
    saved = {name: _values[name] for name in names}
    set_option(*args, **kwargs)
    try:
        yield
    finally:
        _values.update(saved)


class Options:
    """Attribute access to the options (``bs.options.validate = "raise"``), like
    ``pd.options``; ``repr`` lists them all."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return get_option(name)

    def __setattr__(self, name: str, value: Any) -> None:
        set_option(name, value)

    def __dir__(self) -> list[str]:
        return sorted(_OPTIONS)

    def __repr__(self) -> str:
        return "\n".join(f"{name} = {_values[name]!r}" for name in sorted(_OPTIONS))


options = Options()


def resolve(name: str, value: Any) -> Any:
    """``value`` when the caller gave one (not None), else the option."""
    return _values[name] if value is None else value
