"""The shipped catalog against the spec it was generated from (skipped without ../shared)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bspandas import catalog
from bspandas._exceptions import InvalidColumnsError
from bspandas.catalog import store
from tests.paths import ROOT, SPEC_DIR

pytestmark = pytest.mark.spec

# query-api.md section 2: the field's spellings of the documented-only windows.
FIELD_SPELLING = {
    "current_week": "this_week",
    "current_month": "this_month",
    "current_quarter": "this_quarter",
    "current_year": "this_fyear",
    "last_year": "last_fyear",
}
F9 = [
    "last_7_days",
    "last_14_days",
    "last_30_days",
    "last_60_days",
    "last_90_days",
    "last_month",
    "last_quarter",
    "this_quarter",
    "any_time",
]


@pytest.fixture
def spec_dir() -> Path:
    """The spec folder: ``$BSPANDAS_SPEC_DIR``, else ``../shared/spec`` (skip when absent)."""
    folder = Path(os.environ.get("BSPANDAS_SPEC_DIR") or SPEC_DIR)
    if not (folder / "object-metric-reference.txt").is_file():
        pytest.skip(
            f"the spec folder {folder} is not present (set BSPANDAS_SPEC_DIR; it exists only "
            "on dev and CI machines)"
        )
    return folder


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
            documented = {v.strip().lower() for v in variations.split(",")}
            periods = {FIELD_SPELLING.get(p, p) for p in documented} - {"current"}
            if metric.evidence != "verified":  # periods verified live win (appendix)
                assert set(metric.periods) == periods, slug
                assert metric.bare == ("current" in documented or not periods), slug


def _appendix(spec_dir: Path) -> str:
    return (spec_dir / "query-api.md").read_text("utf-8").split("## Appendix", 1)[1]


def test_periods_verified_live_are_the_catalogs(spec_dir: Path) -> None:
    table = _appendix(spec_dir).split("### Slugs verified live", 1)[1].split("Known bad", 1)[0]
    checked = 0
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] not in catalog.OBJECTS:
            continue
        obj, listing, windowing = cells
        slugs = [re.sub(r"\(.*\)", "", x).strip() for x in listing.split(",")]
        slugs = [f"ootb_{obj}{s}" if s.startswith("_") else s for s in slugs]
        for slug in slugs:
            if slug == "ootb_activity_match_result":
                continue  # nine columns whose labels nobody recorded
            metric = catalog.get(slug, obj)
            assert metric.evidence == "verified", slug
            if windowing.startswith("F9"):
                assert list(metric.periods) == F9, slug
                checked += 1
            elif windowing.startswith("bare only"):
                assert metric.periods == (), slug
                assert metric.bare, slug
                checked += 1
    assert checked >= 15
    closing = catalog.get("ootb_account_open_opportunity_amount_closing_standard")
    assert {"last_7_days", "last_90_days", "last_quarter"} <= set(closing.periods)
    upcoming = catalog.get("ootb_user_count_of_upcoming_meetings_standard")
    assert set(upcoming.periods) == {"next_14_days", "next_30_days", "this_week"}


def test_appendix_labels_win_over_derived_ones(spec_dir: Path) -> None:
    assert "| ootb_user_role | Permission |" in _appendix(spec_dir)
    assert catalog.get("ootb_user_role").label == "Permission"
    assert catalog.get("ootb_user_primary_key").label == "User Identification"
    team = catalog.get("ootb_user_team")
    assert team.header_labels(None) == ["Team (id)", "Team (name)"]
    assert [o.name for o in catalog.resolve(["ootb_user_team"], "user")[0].outputs()] == [
        "ootb_user_team_id",
        "ootb_user_team_name",
    ]


def test_known_bad_slugs_raise_naming_why(spec_dir: Path) -> None:
    assert "`ootb_user_total_activity` empties the whole answer" in _appendix(spec_dir)
    with pytest.raises(InvalidColumnsError, match="empties the whole answer"):
        catalog.resolve(["ootb_user_total_activity"], "user")
    with pytest.raises(InvalidColumnsError, match="every cell empty"):
        catalog.resolve(["ootb_activity_summary_ai"], "activity")


def test_every_appendix_slug_has_its_evidence(spec_dir: Path) -> None:
    appendix = _appendix(spec_dir)
    seen = appendix.split("### Slugs seen in production bodies", 1)[1].split("- custom", 1)[0]
    assert "_closed_won_opportunities" in seen
    assert catalog.get("ootb_account_closed_won_opportunities").evidence == "seen"
    assert catalog.get("ootb_account_count_of_emails_sent").evidence == "verified"
    assert catalog.get("ootb_emails_sent").evidence == "reference"
    people = list(store.all_metrics("person"))
    assert len(people) == 12
    assert {m.evidence for m in people} == {"verified"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (column,) = catalog.resolve(["ootb_person_job_title"], "person")
    assert column.metric.type == "text"


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
