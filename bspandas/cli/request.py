"""The query a read command sends: from OBJECT COLUMNS --where --sort, or a --payload file.

>>> column_arg("ootb_emails_sent:last_7_days,last_30_days")
('ootb_emails_sent', ['last_7_days', 'last_30_days'])
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bspandas.cli.session import CommandError

__all__ = ["column_arg", "query_from_args"]

_PAYLOAD_KEYS = ("object", "columns", "filter", "sort")
_SORT_SHAPE = '[{"attribute": {"slug": ..., "variation_id": ...}, "direction": "asc"|"desc"}]'


def _sort_from_payload(items: Any, source: str) -> list[tuple[Any, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise CommandError(f"{source}: 'sort' must be a list like {_SORT_SHAPE}")
    sort = []
    for item in items:
        attribute = item.get("attribute") if isinstance(item, dict) else None
        direction = item.get("direction", "asc") if isinstance(item, dict) else None
        if (
            not isinstance(attribute, dict)
            or not isinstance(attribute.get("slug"), str)
            or not isinstance(attribute.get("variation_id", ""), str | None)
            or set(attribute) - {"slug", "variation_id"}
            or set(item) - {"attribute", "direction"}
            or direction not in ("asc", "desc")
        ):
            raise CommandError(f"{source}: each 'sort' item must look like {_SORT_SHAPE}")
        spec: Any = attribute["slug"]
        if attribute.get("variation_id"):
            spec = {"slug": attribute["slug"], "variation_id": attribute["variation_id"]}
        sort.append((spec, direction))
    return sort


def _read_payload(source: str) -> dict[str, Any]:
    """The payload file as a dict of the keys the export takes, or a one-line error."""
    try:
        payload = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CommandError(f"cannot read the payload file {source}: {reason}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("object"), str):
        raise CommandError(f"{source} must be a JSON object with 'object' (a string) and 'columns'")
    unknown = sorted(set(payload) - set(_PAYLOAD_KEYS))
    if unknown:
        raise CommandError(
            f"{source} has keys bspandas does not send ({', '.join(unknown)}); "
            f"a payload holds {', '.join(_PAYLOAD_KEYS)}"
        )
    if not isinstance(payload.get("columns"), list) or not payload["columns"]:
        raise CommandError(f"{source}: 'columns' must be a non-empty list of column specs")
    if not isinstance(payload.get("filter", {}), dict):
        raise CommandError(f"{source}: 'filter' must be a JSON object (the API's filter)")
    return payload


def query_from_args(args: argparse.Namespace) -> Any:
    from bspandas.query.builder import Query

    if args.payload:
        payload = _read_payload(args.payload)
        if args.object and args.object != payload["object"]:
            raise CommandError(f"the payload is for {payload['object']!r}, not {args.object!r}")
        sort = _sort_from_payload(payload.get("sort"), args.payload)
        return Query(
            payload["object"],
            payload.get("columns"),
            filter=payload.get("filter"),
            where=args.where,
            sort=[_plain_sort(s) for s in sort] or None,
            variables={},
        )
    if not args.object or not args.columns:
        raise CommandError("give OBJECT and COLUMNS, or --payload FILE")
    return Query(
        args.object,
        [column_arg(c) for c in args.columns],
        where=args.where,
        sort=args.sort,
        variables={},
    )


def _plain_sort(item: tuple[Any, str]) -> tuple[Any, str]:
    spec, direction = item
    if isinstance(spec, dict) and "variation_id" in spec:
        return spec["variation_id"], direction
    return spec, direction


def column_arg(text: str) -> Any:
    """``slug`` or ``slug:period[,period]`` from the command line."""
    if ":" in text:
        slug, periods = text.split(":", 1)
        return (slug, periods.split(","))
    return text
