"""What every command shares: the client it reads with and its usage error.

Tests replace :func:`_client` to route ``--sandbox`` reads to a sandbox of their own, so the
commands look it up here when they run.

>>> str(CommandError("give OBJECT and COLUMNS, or --payload FILE"))
'give OBJECT and COLUMNS, or --payload FILE'
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["CommandError"]


class CommandError(Exception):
    """A usage problem reported as one line with exit status 2."""


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    """The client a command reads with: an embedded sandbox, or the configured tenant."""
    from bspandas._http.client import Client

    if getattr(args, "sandbox", False):
        from bspandas import sandbox

        with sandbox.serve(seed=args.seed) as sb, sb.client() as client:
            yield client
        return
    with Client(base_url=args.base_url) as client:
        yield client
