"""Small helpers shared across the package."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def find_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside bspandas,
    the user's line (what ``pandas.util._exceptions.find_stack_level`` does for pandas).

    Call it in the ``warnings.warn(...)`` call itself: level 1 is the function calling
    ``warnings.warn``.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and inside_package(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def inside_package(filename: str) -> bool:
    """Whether ``filename`` is a file of bspandas itself."""
    path = os.path.abspath(filename)
    return path == _PACKAGE or path.startswith(_PACKAGE + os.sep)


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Keep an old keyword spelling working for one release, with a ``FutureWarning`` at
    the caller's line: ``@renamed(obj="object")``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{function.__name__}() got both {old}= and {new}=: pass {new}= only."
                    )
                warnings.warn(
                    f"{function.__name__}({old}=...) is deprecated and will be removed in the "
                    f"next release: use {new}=, the spelling used across bspandas.",
                    FutureWarning,
                    stacklevel=find_stacklevel(),
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
