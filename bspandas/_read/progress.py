"""Progress bars of a read: whether one shows (``progress=``, ``BSPANDAS_PROGRESS``, CI,
notebooks, terminals), which tqdm class draws it, and the body wrapper that advances it.

>>> setting() in ("", "auto", "0", "1", "on", "off", "true", "false", "yes", "no")
True
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import Any

from bspandas._exceptions import (
    ConfigurationError,
)
from bspandas._http.body import Body

__all__ = ["OFF", "ON", "PROGRESS_ENV", "ProgressBody", "interactive", "setting", "tqdm_class"]


#: Environment variable that decides whether progress bars show when ``progress=None``:
#: ``1``/``on`` always, ``0``/``off`` never, unset or ``auto`` to decide from the session.
PROGRESS_ENV = "BSPANDAS_PROGRESS"


class ProgressBody:
    """Iterates a body, advancing a progress bar; keeps ``terminated`` (and every other
    attribute of the body) visible."""

    def __init__(self, body: Body, bar: Any) -> None:
        self.body = body
        self.bar = bar

    @property
    def terminated(self) -> bool:
        return self.body.terminated

    def __getattr__(self, name: str) -> Any:
        return getattr(self.body, name)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.bar.update(len(chunk))
            yield chunk


def tqdm_class() -> Any:
    """The notebook widget bar when ipywidgets is there, else the text bar (tqdm.auto would
    warn in a notebook without ipywidgets)."""
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm import tqdm

    return tqdm


ON = frozenset({"1", "true", "yes", "on"})


OFF = frozenset({"0", "false", "no", "off"})


def setting() -> str:
    return os.environ.get(PROGRESS_ENV, "").strip().lower()


def interactive() -> bool:
    """Whether ``progress=None`` shows a bar, decided at each read from one setting.

    ``BSPANDAS_PROGRESS`` (``1``/``on``, ``0``/``off``) decides when set; otherwise bars are
    off under CI (``CI`` set), on in a notebook kernel, and on when stderr is a terminal.
    Tests pin the variable, so modules a test imported (``ipykernel``) cannot change it.
    """
    value = setting()
    if value in ON:
        return True
    if value in OFF:
        return False
    if value not in ("", "auto"):
        raise ConfigurationError(
            f"{PROGRESS_ENV}={value!r} is not a setting bspandas knows: use 1 (always show "
            "progress bars), 0 (never) or auto (terminals and notebooks, not CI)."
        )
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())
