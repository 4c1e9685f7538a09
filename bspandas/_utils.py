"""Small helpers shared across the package."""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def find_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside bspandas,
    the user's line (what ``pandas.util._exceptions.find_stack_level`` does for pandas).

    Call it in the ``warnings.warn(...)`` call itself: level 1 is the function calling
    ``warnings.warn``.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and _inside(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _inside(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path == _PACKAGE or path.startswith(_PACKAGE + os.sep)
