"""Catalog entries of field slugs: their parts and labels, and how a slug documented by
the vendor and seen in the field merges into one entry."""

from __future__ import annotations

import re
from typing import Any

from bspandas.catalog.model import Metric, Part
from bspandas.catalog.vocabulary import label as period_label
from catalog_build.common import fail
from catalog_build.reference import _bounds
from catalog_build.reference_types import DATA_TYPE_OF

# Period labels the spec does not spell out are in bspandas.catalog.periods; the build checks
# that the labels the spec does spell out agree with them.
TAG_SUFFIX = {"id": "_id", "name": "_name", "amount": "", "currency_iso_code": "_currency"}


def _field_entry(
    obj: str,
    slug: str,
    spec: dict[str, Any],
    note: dict[str, Any],
    labels: dict[str, list[str]],
    evidence: str,
) -> Metric:
    typ = spec["type"]
    periods = tuple(spec.get("periods", ()))
    values = tuple(note.get("values", spec.get("values", ())))
    doubled = typ == "percentage" and bool(periods)
    seen, window_in_label = _seen_labels(slug, periods, labels, doubled)
    parts = _parts(slug, typ, spec, values)
    label, label_known = _label(slug, seen, parts)
    if label is None:
        label = _derived_label(obj, slug, parts)
    return Metric(
        object=obj,
        slug=slug,
        kind="metric" if periods else "field",
        description=spec["description"],
        data_type="Reference" if typ == "reference" else DATA_TYPE_OF[typ],
        type=typ,
        periods=periods,
        bounds=_bounds(typ, None, spec.get("bounds")),
        values=values,
        ordered=bool(spec.get("ordered", False)),
        picklist=bool(spec.get("picklist", False)),
        label=label,
        label_known=label_known,
        window_in_label=window_in_label,
        doubled_suffix=doubled,
        parts=parts,
        key=spec.get("key"),
        source="field",
        evidence=evidence,
        filterable=bool(spec.get("filterable", True)),
        future=bool(spec.get("future", False)),
        category="Field vocabulary",
        bare=not periods,
        currency=spec.get("currency"),
    )


def _seen_labels(
    slug: str, periods: tuple[str, ...], labels: dict[str, list[str]], doubled: bool
) -> tuple[list[str] | None, bool]:
    """The labels recorded for a slug (bare, else with one of its periods, the window's
    words removed when every label ends with them), and whether they carried the window."""
    window_in_label = True
    seen = labels.get(slug)
    if seen is None:
        for period in periods:
            suffix = f"_{period}_{period}" if doubled else f"_{period}"
            if slug + suffix in labels:
                seen = labels[slug + suffix]
                window = f" ({period_label(period)})"
                window_in_label = all(x.endswith(window) for x in seen)
                if window_in_label:
                    seen = [x.removesuffix(window) for x in seen]
                break
    return seen, window_in_label


def _parts(slug: str, typ: str, spec: dict[str, Any], values: tuple[str, ...]) -> tuple[Part, ...]:
    """The columns a slug gives: id and name for references, amount and currency for the
    opportunity amount, else one."""
    parts: tuple[Part, ...]
    if typ == "reference":
        id_key, name_key = spec["refs"]
        parts = (
            Part(suffix="_id", type="internal_id", tag="id", key=id_key),
            Part(suffix="_name", type="text", tag="name", key=name_key),
        )
    elif slug == "ootb_opportunity_amount":
        parts = (
            Part(suffix="", type="money", tag="amount"),
            Part(suffix="_currency", type="text", tag="currency_iso_code"),
        )
    else:
        parts = (Part(suffix="", type=typ, key=spec.get("key"), values=values),)
    return parts


def _label(slug: str, seen: list[str] | None, parts: tuple[Part, ...]) -> tuple[str | None, bool]:
    """The label recorded for a slug (the common base of its parts' labels), and whether
    one was recorded at all."""
    label: str | None = None
    label_known = False
    if seen is not None:
        label_known = True
        if len(parts) > 1:
            bases = {re.sub(r" \([^)]*\)$", "", x) for x in seen}
            tags = [re.search(r"\(([^)]*)\)$", x).group(1) for x in seen]  # type: ignore[union-attr]
            if len(bases) != 1 or tags != [p.tag for p in parts]:
                fail(f"{slug}: labels {seen} do not match parts {[p.tag for p in parts]}")
            label = bases.pop()
        else:
            label = seen[0]
    return label, label_known


def _derived_label(obj: str, slug: str, parts: tuple[Part, ...]) -> str:
    """A readable label for slugs whose real label nobody recorded (label_known=False)."""
    tokens = slug.removeprefix(f"ootb_{obj}_").removeprefix("ootb_").split("_")
    if tokens[:2] == ["count", "of"]:
        tokens = tokens[2:]
    elif tokens[:1] == ["count"]:
        tokens = tokens[1:]
    words = [w for w in tokens if w and w != "standard"]
    return " ".join(w.upper() if w == "crm" else w.capitalize() for w in words)


def _merge(reference: Metric, field: Metric) -> Metric:
    """A slug documented by the vendor and also seen in the field: keep the reference's
    type, range and periods, take the field's label, and note both sources."""
    return Metric(
        **{
            **reference.to_dict(),
            "parts": reference.parts,
            "periods": reference.periods,
            "values": reference.values,
            "range": reference.range,
            "bounds": reference.bounds,
            "label": field.label,
            "label_known": field.label_known,
            "window_in_label": field.window_in_label,
            "key": reference.key or field.key,
            "source": "both",
            "evidence": field.evidence,
            "picklist": reference.picklist or field.picklist,
            "bare": reference.bare or field.bare,
            "currency": reference.currency or field.currency,
        }
    )


def _reference_label(entry: Metric) -> Metric:
    if entry.label is not None:
        return entry
    label = _derived_label(entry.object, entry.slug, entry.parts)
    return Metric(**{**entry.to_dict(), "parts": entry.parts, "label": label, "label_known": False})
