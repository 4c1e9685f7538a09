"""``bspandas sandbox``: serve the sandbox from the command line until stopped.

``add_parser(subparsers)`` registers the subcommand on the ``bspandas`` command line;
``python -m bspandas.sandbox`` runs it on its own. Every :class:`Faults` field is an option
(``--cut-mid-row 1``, ``--status-schedule 503,500``, ``--unknown-slugs a,b``,
``--no-two-leaves-500``; the fault generator's seed is ``--fault-seed``).

>>> parser = build_parser()
>>> args = parser.parse_args(["--accounts", "50", "--status-schedule", "503,500"])
>>> sandbox_options(args)["accounts"], sandbox_options(args)["status_schedule"]
(50, (503, 500))
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, TextIO

from bspandas._exceptions import InsecureConfigWarning
from bspandas.sandbox.faults import Faults
from bspandas.sandbox.server import Sandbox
from bspandas.sandbox.tenant import AS_OF, VOCABULARIES, TenantOptions, as_instant

__all__ = ["add_arguments", "add_parser", "build_parser", "main", "run", "sandbox_options"]

_TENANT_HELP = {
    "seed": "seed of the synthetic tenant",
    "accounts": "number of accounts",
    "opportunities_per_account": "mean opportunities per account",
    "users": "number of users",
    "contacts_per_account": "mean contacts per account",
    "activities_per_account": "mean logged activities per account",
    "history_days": "how far back the activity log reaches",
    "fiscal_year_start": "month (1-12) the tenant's fiscal year starts in",
}


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.replace(" ", "").split(",") if x)


def _words(text: str) -> frozenset[str]:
    return frozenset(x.strip() for x in text.split(",") if x.strip())


def _instant(text: str) -> datetime:
    return as_instant(text)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "int | None": int,
    "float": float,
    "float | None": float,
    "tuple[int, ...]": _numbers,
    "frozenset[str]": _words,
}


_METAVARS = {
    "int": "N",
    "int | None": "N",
    "float": "X",
    "float | None": "X",
    "tuple[int, ...]": "S1,S2",
    "frozenset[str]": "SLUG,...",
}


def _flag(name: str) -> str:
    return "--fault-seed" if name == "seed" else "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox options (server, tenant, faults) to a parser."""
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    server.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    server.add_argument("--client-id", help="client id (default: random)")
    server.add_argument("--client-secret", help="client secret (default: random)")
    server.add_argument(
        "--max-body-bytes", type=int, default=1 << 20, help="largest accepted request body"
    )
    tenant = parser.add_argument_group("tenant")
    defaults = TenantOptions()
    for f in fields(TenantOptions):
        if f.name in ("as_of", "vocabulary"):
            continue
        convert = _CONVERTERS[str(f.type)]
        tenant.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=convert,
            default=getattr(defaults, f.name),
            metavar=_METAVARS[str(f.type)],
            help=f"{_TENANT_HELP.get(f.name, f.name)} (default: %(default)s)",
        )
    tenant.add_argument(
        "--as-of",
        type=_instant,
        default=AS_OF,
        help="the tenant's 'now', sent as the answers' Date header (ISO 8601, UTC)",
    )
    tenant.add_argument(
        "--vocabulary",
        choices=VOCABULARIES,
        default="field",
        help="period spellings served: the field's (live tenants) or the vendor reference's "
        "(default: %(default)s)",
    )
    faults = parser.add_argument_group("faults")
    for f in fields(Faults):
        dest = "fault_" + f.name
        text = f.metadata.get("help", f.name)
        if str(f.type) == "bool":
            faults.add_argument(
                _flag(f.name),
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{text} (default: {'on' if f.default else 'off'})",
            )
            continue
        faults.add_argument(
            _flag(f.name),
            dest=dest,
            type=_CONVERTERS[str(f.type)],
            default=None,
            metavar=_METAVARS[str(f.type)],
            help=text,
        )


def sandbox_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :class:`Sandbox` named by parsed arguments."""
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "max_body_bytes": args.max_body_bytes,
        "as_of": args.as_of,
    }
    for f in fields(TenantOptions):
        if f.name != "as_of":
            options[f.name] = getattr(args, f.name)
    changes: dict[str, Any] = {}
    for f in fields(Faults):
        value = getattr(args, "fault_" + f.name)
        if value is not None:
            changes[f.name] = value
    options.update({name: value for name, value in changes.items() if name != "seed"})
    if "seed" in changes:
        options["fault_seed"] = changes["seed"]
    return options


def _banner(sb: Sandbox) -> str:
    o = sb.tenant.options
    active = ", ".join(sb.faults.active()) or "none"
    return "\n".join(
        [
            f"bspandas sandbox serving {sb.base_url}",
            f"  client_id:     {sb.client_id}",
            f"  client_secret: {sb.client_secret}",
            f"  tenant: seed={o.seed} accounts={o.accounts} "
            f"opportunities={sb.tenant.size('opportunity')} users={o.users} "
            f"as_of={o.as_of.isoformat()} fiscal_year_start={o.fiscal_year_start}",
            f"  faults: {active}",
            f"  budget: {_budget(sb)} (--hourly-budget N to change, 0 for none; "
            "clients pace to it)",
            f"  export BACKSTORY_BASE_URL={sb.base_url} BACKSTORY_CLIENT_ID={sb.client_id} "
            f"BACKSTORY_CLIENT_SECRET={sb.client_secret}",
            "Serving until stopped (Ctrl+C).",
        ]
    )


def _budget(sb: Sandbox) -> str:
    budget = sb.faults.hourly_budget
    if budget is None or budget <= 0:
        return "unlimited export requests"
    window = sb.faults.budget_window
    span = "hour" if window == 3600 else f"{window:g} s"
    return f"{budget} export requests per client per {span}"


def run(
    args: argparse.Namespace,
    *,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Start the sandbox, print its URL and credentials, serve until ``stop`` is set,
    Ctrl+C or SIGTERM. Binding anything but loopback is announced on ``err`` (stderr)."""
    out = out or sys.stdout
    err = err or sys.stderr
    stop = stop or threading.Event()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InsecureConfigWarning)
        sb = Sandbox(**sandbox_options(args))
    for warning in caught:
        if issubclass(warning.category, InsecureConfigWarning):
            print(f"WARNING: {warning.message}", file=err, flush=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    sb.start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(_banner(sb), file=out, flush=True)
        while not stop.wait(0.2):
            continue
    except KeyboardInterrupt:
        print("stopping", file=out, flush=True)
    finally:
        sb.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def add_parser(subparsers: Any) -> None:
    """Register ``sandbox`` on an argparse subparsers object (``bspandas sandbox ...``)."""
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a local Query API with a synthetic tenant",
        description="Serve a faithful local Query API with a deterministic synthetic tenant.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bspandas sandbox",
        description="Serve a faithful local Query API with a deterministic synthetic tenant.",
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bspandas.sandbox``."""
    return run(build_parser().parse_args(argv))
