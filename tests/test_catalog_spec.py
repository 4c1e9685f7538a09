"""The shipped catalog against the spec it was generated from (skipped without ../shared)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bspandas import catalog
from tests.conftest import ROOT

pytestmark = pytest.mark.spec


def _reference_rows(text: str) -> list[dict[str, str]]:
    """A deliberately simple, independent reading of the reference tables."""
    rows, obj, header = [], None, None
    for line in (raw.strip() for raw in text.splitlines()):
        heading = re.fullmatch(r"(Account|Opportunity|User) Object", line)
        if heading:
            obj = heading.group(1).lower()
        if not line.endswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line[:-1].split("|")]
        if cells[0] in ("Field Name", "Metric Slug"):
            header = cells
        elif header and obj:
            rows.append({"object": obj, **dict(zip(header, cells, strict=False))})
    return rows


def test_every_reference_slug_is_present_with_type_range_and_variations(spec_dir: Path) -> None:
    rows = _reference_rows((spec_dir / "object-metric-reference.txt").read_text("utf-8"))
    assert len(rows) > 70
    for row in rows:
        slug = row.get("Field Name") or row["Metric Slug"]
        metric = catalog.get(slug, row["object"])
        assert metric.data_type == row["Data Type"], slug
        if row.get("Range"):
            lo, hi = (float(x) for x in row["Range"].split("-"))
            assert metric.range == (lo, hi), slug
        variations = row.get("Variations", "")
        if variations.startswith("Values:"):
            values = tuple(v.strip() for v in variations[len("Values:") :].split(","))
            assert metric.values == values, slug
        elif variations:
            periods = {v.strip().lower() for v in variations.split(",")}
            assert set(metric.periods) == periods, slug


def test_every_field_vocabulary_slug_is_present(spec_dir: Path) -> None:
    text = (spec_dir / "query-api.md").read_text("utf-8")
    body = text.split("### Field vocabulary", 1)[1].split("\n- custom CRM", 1)[0]
    for obj, listing in re.findall(r"^- (\w+): (.*?)(?=^- |\Z)", body, re.M | re.S):
        for item in re.split(r",\s*(?![^()]*\))", " ".join(listing.split())):
            name = re.sub(r"\s*\(.*\)", "", item).strip()
            slug = f"ootb_{obj}{name}" if name.startswith("_") else name
            assert catalog.get(slug, obj).source in ("field", "both"), slug


def test_labels_seen_in_the_field_are_the_catalogs(spec_dir: Path) -> None:
    text = (spec_dir / "query-api.md").read_text("utf-8")
    assert catalog.describe("ootb_user_count_emails_sent")["periods"][2]["header label"] == (
        "Emails Sent (Last 30 Days)"
    )
    for label in ("Total Time Spent (Last 90 Days)", "Upcoming Meetings (Next 14 Days)"):
        assert label in text


def test_shipped_catalog_is_what_the_build_script_makes(spec_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_catalog.py"),
            "--spec-dir",
            str(spec_dir),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_shipped_catalog_is_valid_json_with_version() -> None:
    data = json.loads((ROOT / "bspandas" / "catalog" / "catalog.json").read_text("utf-8"))
    assert re.fullmatch(r"[0-9a-f]{12}", data["version"])
    assert catalog.version() == data["version"]
