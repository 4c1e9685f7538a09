"""Build catalog.json from the spec folder, and the command line of the build."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import catalog_build
from bspandas.catalog.model import Metric
from bspandas.catalog.vocabulary import label as period_label
from catalog_build.appendix_slugs import APPENDIX_SLUGS
from catalog_build.common import fail
from catalog_build.entries import _field_entry, _merge, _reference_label
from catalog_build.field_notes import (
    parse_expansions,
    parse_field_vocabulary,
    parse_known_bad,
    parse_labels,
    parse_more_labels,
    parse_seen,
    parse_verified,
    parse_window_labels,
)
from catalog_build.field_slugs import FIELD_SLUGS
from catalog_build.reference import _reference_entry, parse_reference

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = Path(os.environ.get("BSPANDAS_SPEC_DIR") or ROOT.parent / "shared" / "spec")
OUTPUT = ROOT / "bspandas" / "catalog" / "catalog.json"


def build(spec_dir: Path) -> dict[str, Any]:
    """The catalog (as written to catalog.json) from the two documents in ``spec_dir``."""
    reference_text = (spec_dir / "object-metric-reference.txt").read_text(encoding="utf-8")
    api_text = (spec_dir / "query-api.md").read_text(encoding="utf-8")
    entries, variations = _reference_entries(reference_text)
    _add_field_entries(entries, api_text)
    _check_window_labels(api_text)

    ordered = [_reference_label(e) for e in entries.values()]
    ordered.sort(
        key=lambda e: (
            ("account", "opportunity", "user", "activity", "person").index(e.object),
            e.slug,
        )
    )
    metrics = [e.to_dict() for e in ordered]
    digest = hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest()[:12]
    return {
        "version": digest,
        "generated_from": ["object-metric-reference.txt", "query-api.md"],
        "reference_variations": variations,
        "known_bad": parse_known_bad(api_text),
        "metrics": metrics,
    }


def _reference_entries(
    reference_text: str,
) -> tuple[dict[tuple[str, str], Metric], list[dict[str, str]]]:
    """One entry per row of the vendor reference, and its common-variation table."""
    rows, variations = parse_reference(reference_text)
    if len(rows) < 60:
        fail(f"only {len(rows)} rows parsed from the reference; the table format changed?")
    entries: dict[tuple[str, str], Metric] = {}
    for row in rows:
        entry = _reference_entry(row)
        entries[(entry.object, entry.slug)] = entry
    return entries, variations


def _add_field_entries(entries: dict[tuple[str, str], Metric], api_text: str) -> None:
    """Add (or merge into the reference's) an entry per slug of the field notes."""
    labels = parse_labels(api_text)
    labels.update(parse_more_labels(api_text))  # the appendix's labels win
    expansions = set(parse_expansions(api_text))
    expansions |= {slug for slug, seen in labels.items() if seen[-1].endswith("(name)")}
    verified = parse_verified(api_text)
    seen = parse_seen(api_text)
    vocabulary = _vocabulary(api_text, verified, seen)
    for obj, slugs in vocabulary.items():
        for slug, note in slugs.items():
            spec = _field_spec(obj, slug, expansions, verified)
            evidence = _evidence(obj, slug, verified, seen)
            field = _field_entry(obj, slug, spec, note, labels, evidence)
            key = (obj, slug)
            merged = _merge(entries[key], field) if key in entries else field
            if verified.get(key) is not None and merged.periods != field.periods:
                merged = Metric(
                    **{
                        **merged.to_dict(),
                        "parts": merged.parts,
                        "periods": field.periods,
                        "bare": field.bare,
                        "kind": field.kind,
                    }
                )
            entries[key] = merged
    _check_coverage(entries, vocabulary, verified)


def _vocabulary(
    api_text: str,
    verified: dict[tuple[str, str], tuple[str, ...] | None],
    seen: set[tuple[str, str]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """The field vocabulary, plus the appendix slugs (each checked against the appendix)."""
    vocabulary = parse_field_vocabulary(api_text)
    for obj, slugs in APPENDIX_SLUGS.items():
        for slug in slugs:
            if (obj, slug) not in verified and (obj, slug) not in seen:
                fail(f"APPENDIX_SLUGS names {obj}.{slug}, which the appendix does not")
            vocabulary.setdefault(obj, {}).setdefault(slug, {})
    return vocabulary


def _field_spec(
    obj: str,
    slug: str,
    expansions: set[str],
    verified: dict[tuple[str, str], tuple[str, ...] | None],
) -> dict[str, Any]:
    """A field slug's hand-written spec, with the periods verified live when recorded."""
    spec = FIELD_SLUGS.get(obj, {}).get(slug) or APPENDIX_SLUGS.get(obj, {}).get(slug)
    if spec is None:
        fail(f"field slug {obj}.{slug} from query-api.md has no entry in FIELD_SLUGS")
    assert spec is not None
    listed = slug in FIELD_SLUGS.get(obj, {})
    if listed and (spec["type"] == "reference") != (slug in expansions):
        fail(f"{slug}: expansion in query-api.md and FIELD_SLUGS disagree")
    recorded = verified.get((obj, slug))
    if recorded is not None:  # the periods verified live win
        spec = {**spec, "periods": recorded}
    return spec


def _evidence(
    obj: str,
    slug: str,
    verified: dict[tuple[str, str], tuple[str, ...] | None],
    seen: set[tuple[str, str]],
) -> str:
    """How sure the field notes are of a slug: verified live, seen, or the reference's."""
    return (
        "verified"
        if (obj, slug) in verified
        else "seen"
        if (obj, slug) in seen or slug in FIELD_SLUGS.get(obj, {})
        else "reference"
    )


def _check_coverage(
    entries: dict[tuple[str, str], Metric],
    vocabulary: dict[str, dict[str, dict[str, Any]]],
    verified: dict[tuple[str, str], tuple[str, ...] | None],
) -> None:
    """FIELD_SLUGS names only slugs of the notes; every verified slug has an entry."""
    for obj, slugs in FIELD_SLUGS.items():
        extra = set(slugs) - set(vocabulary.get(obj, {}))
        if extra:
            fail(f"FIELD_SLUGS names slugs query-api.md does not: {sorted(extra)}")
    missing = sorted(f"{o}.{s}" for o, s in verified if (o, s) not in entries)
    known_missing = {"activity.ootb_activity_match_result"}  # 9 columns, labels not recorded
    if set(missing) - known_missing:
        fail(f"verified slugs without a catalog entry: {sorted(set(missing) - known_missing)}")


def _check_window_labels(api_text: str) -> None:
    """The window labels the spec spells out are the catalog's."""
    window_labels = parse_window_labels(api_text)
    for period, label in window_labels.items():
        if period_label(period) != label:
            fail(f"period {period}: spec label {label!r} != catalog label {period_label(period)!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(catalog_build.__doc__ or "").splitlines()[0])
    parser.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the shipped file differs")
    args = parser.parse_args(argv)
    if not args.spec_dir.is_dir():
        fail(f"spec directory {args.spec_dir} not found")
    data = build(args.spec_dir)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `make catalog`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(data['metrics'])} entries)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(data['metrics'])} entries, version {data['version']})")
    return 0
