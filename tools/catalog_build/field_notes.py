"""The field notes (``query-api.md``): the field vocabulary, the labels seen, the id/name
expansions, the window labels and the appendix (slugs verified live or seen, known bad)."""

from __future__ import annotations

import re
from typing import Any

from bspandas.catalog.vocabulary import PERIODS
from catalog_build.common import _cells, fail
from catalog_build.field_slugs import F9

#: Slugs the field record says must not be requested (appendix, "Known bad").
KNOWN_BAD_HEADING = "Known bad [field]:"


def _section(text: str, title: str) -> str:
    start = text.index(title)
    rest = text[start + len(title) :]
    nxt = re.search(r"^#{2,3} ", rest, flags=re.MULTILINE)
    return rest[: nxt.start()] if nxt else rest


def parse_field_vocabulary(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Slugs per object from the bullet list of the field vocabulary (with notes)."""
    body = _section(text, "### Field vocabulary")
    bullets = re.split(r"^- ", body, flags=re.MULTILINE)
    vocabulary: dict[str, dict[str, dict[str, Any]]] = {}
    for bullet in bullets:
        match = re.match(r"(account|opportunity|user|activity): (.*)", bullet, flags=re.DOTALL)
        if not match:
            continue
        obj, listing = match.group(1), " ".join(match.group(2).split())
        slugs: dict[str, dict[str, Any]] = {}
        for item in re.split(r",\s*(?![^()]*\))", listing):
            note = re.search(r"\((.*)\)", item)
            name = re.sub(r"\s*\(.*\)", "", item).strip()
            slug = f"ootb_{obj}{name}" if name.startswith("_") else name
            info: dict[str, Any] = {}
            if note and "values like" in note.group(1):
                info["values"] = tuple(re.findall(r"`([^`]+)`", note.group(1)))
            slugs[slug] = info
        vocabulary[obj] = slugs
    return vocabulary


def parse_labels(text: str) -> dict[str, list[str]]:
    """``{slug with variation: [labels]}`` from the 'Labels seen for field slugs' table."""
    body = _section(text, "### Labels seen for field slugs")
    labels: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("| ootb_"):
            continue
        slug_cell, label_cell = _cells(line.strip("|"))
        slug_list = [s.strip() for s in slug_cell.split("/")]
        label_list = [s.strip() for s in label_cell.split(" / ")]
        if len(label_list) != len(slug_list):
            label_list = [label_cell] * len(slug_list)
        for slug, label in zip(slug_list, label_list, strict=True):
            labels[slug] = [part.strip() for part in label.split(", ")]
    return labels


def parse_expansions(text: str) -> list[str]:
    """Slugs that expand into ``(id)`` and ``(name)`` columns."""
    match = re.search(r"give `X \(id\)` and\s+`X \(name\)` \(([^)]*)\)", text)
    if not match:
        fail("cannot find the list of id/name expansions in query-api.md")
    return re.findall(r"`([^`]+)`", match.group(1))


def parse_window_labels(text: str) -> dict[str, str]:
    match = re.search(r"Window labels follow one pattern: `([^`]*)`", text)
    if not match:
        fail("cannot find the window label list in query-api.md")
    out = {}
    for label in (part.strip() for part in " ".join(match.group(1).split()).split(",")):
        out[label.lower().replace(" ", "_")] = label
    return out


_PERIOD_IDS = {p.id for p in PERIODS}


def _appendix(text: str) -> str:
    return text[text.index("## Appendix") :]


def parse_verified(text: str) -> dict[tuple[str, str], tuple[str, ...] | None]:
    """``{(object, slug): periods}`` from the appendix table of slugs verified live.

    ``None`` keeps the slug's own periods (attributes, or only the bare default probed);
    ``()`` means bare only.
    """
    body = _section(_appendix(text), "### Slugs verified live")
    out: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for line in body.splitlines():
        cells = _cells(line.strip().strip("|")) if line.startswith("| ") else []
        if len(cells) != 3 or cells[0] not in (
            "account",
            "opportunity",
            "user",
            "activity",
            "person",
        ):
            continue
        obj, slugs, windowing = cells
        periods: tuple[str, ...] | None
        if windowing.startswith("F9"):
            periods = F9
        elif windowing.startswith("bare only"):
            periods = ()
        elif windowing.startswith("last_7/14/30/60_days"):
            periods = ("last_7_days", "last_14_days", "last_30_days", "last_60_days")
        else:
            found = tuple(w for w in re.findall(r"[a-z0-9_]+", windowing) if w in _PERIOD_IDS)
            periods = found or None
        for item in slugs.split(","):
            name = re.sub(r"\s*\(.*\)", "", item).strip()
            slug = f"ootb_{obj}{name}" if name.startswith("_") else name
            out[(obj, slug)] = periods
    if len(out) < 40:
        fail(f"only {len(out)} verified slugs parsed from the appendix; the table changed?")
    return out


def parse_seen(text: str) -> set[tuple[str, str]]:
    """``(object, slug)`` pairs of the appendix list of slugs seen in production bodies."""
    body = _section(_appendix(text), "### Slugs seen in production bodies")
    out: set[tuple[str, str]] = set()
    for bullet in re.split(r"^- ", body, flags=re.MULTILINE):
        match = re.match(r"(account|opportunity|activity|user): (.*)", bullet, flags=re.DOTALL)
        if not match:
            continue
        obj = match.group(1)
        listing = re.sub(r"\([^)]*\)", "", " ".join(match.group(2).split()))
        for item in re.split(r"[,.]\s*", listing):
            name = item.strip().split(" ")[0]
            if name.startswith("_"):
                out.add((obj, f"ootb_{obj}{name}"))
            elif name.startswith("ootb_"):
                out.add((obj, name))
    return out


def parse_known_bad(text: str) -> dict[str, str]:
    """``{slug: why}`` from the appendix's "Known bad" paragraph."""
    body = _appendix(text)
    start = body.index(KNOWN_BAD_HEADING) + len(KNOWN_BAD_HEADING)
    paragraph = " ".join(body[start : body.index("\n\n", start)].split())
    out: dict[str, str] = {}
    for sentence in paragraph.split(";"):
        match = re.search(r"`([^`]+)` (.*)", sentence)
        if match:
            out[match.group(1)] = match.group(2).split(". ")[0].strip().rstrip(".")
    if len(out) != 2:
        fail(f"expected two known-bad slugs in the appendix, found {sorted(out)}")
    return out


def parse_more_labels(text: str) -> dict[str, list[str]]:
    """``{slug: [labels]}`` from the appendix's "More labels" table (these win)."""
    body = _section(_appendix(text), "### More labels")
    labels: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("| ootb_"):
            continue
        slug_cell, label_cell = _cells(line.strip("|"))
        if "/" in slug_cell:
            continue  # participants parts: not in the catalog
        label_cell = label_cell.replace("[probable]", "").strip()
        labels[slug_cell] = [part.strip() for part in label_cell.split(", ")]
    return labels
