"""The ``bspandas`` command line.

    bspandas demo                                  # the day-one analysis on the sandbox
    bspandas sandbox --port 8080                   # a local Query API until Ctrl-C
    bspandas catalog search emails sent
    bspandas catalog describe ootb_emails_sent
    bspandas query account ootb_account_name --where "ootb_churn_risk_score > 80"
    bspandas export opportunity --payload payload.json -o deals.parquet
    bspandas export activity ootb_activity_uid ootb_activity_timestamp \\
        --dataset s3://bucket/activity --split-by ootb_activity_timestamp:month
    bspandas snapshot account ootb_account_crm_id ootb_churn_risk_score --dataset snaps/

``query`` and ``export`` use the credentials of ``BACKSTORY_*`` / the config file, or an
embedded sandbox with ``--sandbox``. Errors are one line on stderr with exit status 2.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from bspandas._exceptions import BackstoryError, MissingCredentialsError, UnknownMetricError
from bspandas._messages import describe_failure, quote_input, redact
from bspandas.cli.output import visible
from bspandas.cli.parser import attached, build_parser
from bspandas.cli.session import CommandError

__all__ = ["build_parser", "main"]


#: ``('slug', 'period')`` in a message, written as the CLI takes it: ``slug:period``.
_CLI_PAIR = re.compile(r"\('([\w.-]+)', '([\w.-]+)'\)")


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one line on stderr (``bspandas: PacingWarning: ...``), no source line."""
    text = " ".join(str(message).split())
    print(f"bspandas: {category.__name__}: {visible(text)}", file=file or sys.stderr)


def _for_the_shell(exc: BackstoryError | CommandError) -> str:
    """The error as one line for a shell user: CLI usage instead of Python advice."""
    if isinstance(exc, CommandError):
        return str(exc)
    text = describe_failure(exc)
    if isinstance(exc, MissingCredentialsError):
        text = text.replace(
            "For a local sandbox use bspandas.sandbox.serve().",
            "Or run the command on a local sandbox: add --sandbox.",
        )
    elif isinstance(exc, UnknownMetricError):
        text = _unknown_metric(exc)
    return _CLI_PAIR.sub(r"\1:\2", text)  # the CLI's own syntax for (slug, period)


def _unknown_metric(exc: UnknownMetricError) -> str:
    """An unknown slug, with what to type next at the command line (not the Python API)."""
    obj = exc.object or "OBJECT"
    where = f" for object {quote_input(exc.object)}" if exc.object else ""
    close = f" Did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
    slug = str(exc.slug)
    custom = (
        f" A custom slug is read as text when it names the object: custom_{obj}_..., "
        f"derived_{obj}_... or a CRM field ...__c."
        if slug.startswith(("custom_", "derived_")) or "__c" in slug
        else ""
    )
    return redact(
        f"{type(exc).__name__}: Unknown metric {quote_input(slug)}{where}.{exc.hint}{close}"
        f"{custom} Find slugs with: bspandas catalog search WORDS; ask the tenant whether it "
        f"serves one with: bspandas catalog probe {obj} SLUG."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bspandas`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``bspandas``; ``None`` (default) reads ``sys.argv``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a search or probe found nothing (or unserved
        columns), 2 for an error (one line on stderr, secrets redacted), 130 on Ctrl-C.

    Examples
    --------
    >>> main(["catalog", "describe", "ootb_churn_risk_score"])  # doctest: +ELLIPSIS
    object       account
    slug         ootb_churn_risk_score
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(attached(list(sys.argv[1:] if argv is None else argv)))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            code: int = args.func(args)
    except (BackstoryError, CommandError) as exc:
        text = _for_the_shell(exc)
        print(f"bspandas: {visible(' '.join(text.split()))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
