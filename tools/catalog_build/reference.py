"""The vendor reference (``object-metric-reference.txt``): its field and metric tables,
the common-variation table, and one catalog entry per row."""

from __future__ import annotations

import re
from typing import Any

from bspandas.catalog.model import Metric, Part
from catalog_build.common import _cells, _number, fail
from catalog_build.field_slugs import FIELD_SPELLING
from catalog_build.reference_types import DATA_TYPE_OF, REFERENCE_TYPES


def parse_reference(text: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rows of the field and metric tables, and the common-variation table."""
    rows: list[dict[str, Any]] = []
    variations: list[dict[str, str]] = []
    obj: str | None = None
    header: list[str] | None = None
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        match = re.fullmatch(r"(Account|Opportunity|User) Object", line)
        if match:
            obj, header = match.group(1).lower(), None
            continue
        if not line.endswith("|"):
            header = None
            section = line
            continue
        cells = _cells(line)
        if cells[0] in ("Field Name", "Metric Slug", "Variation ID"):
            header = cells
            continue
        if header is None:
            continue
        record = dict(zip(header, cells, strict=False))
        if header[0] == "Variation ID":
            variations.append(record)
            continue
        if obj is None:
            continue
        kind = "field" if header[0] == "Field Name" else "metric"
        rows.append({"object": obj, "kind": kind, "section": section, **record})
    return rows, variations


def _reference_entry(row: dict[str, Any]) -> Metric:
    slug = row.get("Field Name") or row["Metric Slug"]
    if slug not in REFERENCE_TYPES:
        fail(f"reference slug {slug!r} has no entry in REFERENCE_TYPES")
    spec = REFERENCE_TYPES[slug]
    typ = spec["type"]
    data_type = row["Data Type"]
    if DATA_TYPE_OF[typ] != data_type and not (typ == "count" and data_type == "Number"):
        fail(f"{slug}: reference says {data_type}, REFERENCE_TYPES says {typ}")
    rng: tuple[float, float] | None = None
    if row.get("Range"):
        lo, hi = row["Range"].split("-")
        rng = (_number(lo), _number(hi))
    periods: tuple[str, ...] = ()
    bare = False
    values: tuple[str, ...] = tuple(spec.get("values", ()))
    variations = row.get("Variations", "")
    if variations.startswith("Values:"):
        values = tuple(v.strip() for v in variations.removeprefix("Values:").split(","))
    elif variations:
        documented = [v.strip().lower() for v in variations.split(",")]
        bare = "current" in documented
        periods = tuple(
            dict.fromkeys(FIELD_SPELLING.get(p, p) for p in documented if p != "current")
        )
    example = row.get("Example Value") or row.get("Example Values") or None
    return Metric(
        object=row["object"],
        slug=slug,
        kind=row["kind"],
        description=row["Description"],
        data_type=data_type,
        type=typ,
        periods=periods,
        range=rng,
        bounds=_bounds(typ, rng, spec.get("bounds")),
        values=values,
        ordered=bool(spec.get("ordered", False)),
        picklist=bool(spec.get("picklist", False)),
        parts=(Part(suffix="", type=typ, key=spec.get("key"), values=values),),
        key=spec.get("key"),
        source="reference",
        example=example,
        category=row["section"],
        bare=not periods or bare,
    )


def _bounds(
    typ: str, rng: tuple[float, float] | None, explicit: tuple[float | None, float | None] | None
) -> tuple[float | None, float | None] | None:
    if explicit is not None:
        return explicit
    if rng is not None:
        return rng
    if typ in ("score", "percentage"):
        return (0, 100)
    if typ in ("count", "money", "duration"):
        return (0, None)
    return None


# -- the field notes -------------------------------------------------------------------------
