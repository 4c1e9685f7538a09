"""Catalog tables and ranked search over slugs, labels and descriptions.

>>> from bspandas import catalog
>>> hits = catalog.search("emails sent")
>>> "ootb_emails_sent" in set(hits["slug"])
True
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import pandas as pd

from bspandas.catalog import store
from bspandas.catalog import vocabulary as _periods
from bspandas.catalog.model import Metric

__all__ = ["metrics_frame", "search_frame"]

_COLUMNS = [
    "object",
    "slug",
    "kind",
    "type",
    "label",
    "periods",
    "range",
    "values",
    "description",
    "category",
    "source",
    "evidence",
]

#: Search order of the evidence (query-api.md appendix): what answered live comes first.
_EVIDENCE_RANK = {"verified": 0, "seen": 1, "reference": 2, "registered": 3}


def _row(metric: Metric) -> dict[str, Any]:
    return {
        "object": metric.object,
        "slug": metric.slug,
        "kind": metric.kind,
        "type": metric.type,
        "label": metric.label,
        "periods": ", ".join(_periods.canonical_order(list(metric.periods))),
        "range": "" if metric.range is None else f"{metric.range[0]}-{metric.range[1]}",
        "values": ", ".join(metric.values),
        "description": metric.description,
        "category": metric.category,
        "source": metric.source,
        "evidence": metric.evidence,
    }


def metrics_frame(object: str | None = None) -> pd.DataFrame:
    """One row per catalog entry (and registered custom metric)."""
    rows = [_row(m) for m in store.all_metrics(object)]
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    objects = ("account", "opportunity", "user", "activity", "person")
    order = {name: i for i, name in enumerate(objects)}
    frame = frame.sort_values(
        ["object", "slug"], key=lambda s: s.map(order) if s.name == "object" else s
    )
    return frame.reset_index(drop=True).astype("string")


_WORD = re.compile(r"[a-z0-9%#]+")


def _words(text: str) -> set[str]:
    found = set(_WORD.findall(text.lower()))
    # plural-insensitive: "emails" matches "email" and the reverse
    return found | {w[:-1] for w in found if w.endswith("s") and len(w) > 3}


def _phrase_score(query: str, slug: str, label: str, desc: str) -> float:
    """Points for the whole query found in the slug, the label or the description."""
    score = 0.0
    if query == slug:
        score += 100
    elif query in slug:
        score += 30
    if label and query == label:
        score += 60
    elif label and query in label:
        score += 25
    if query in desc:
        score += 15
    return score


def _score(query: str, words: set[str], metric: Metric) -> float:
    slug = metric.slug.lower()
    label = (metric.label or "").lower()
    desc = metric.description.lower()
    if not words:
        return 0.0
    score = _phrase_score(query, slug, label, desc)
    slug_words, label_words, desc_words = _words(slug), _words(label), _words(desc)
    for word in words:
        if word in slug_words:
            score += 10
        if word in label_words:
            score += 8
        if word in desc_words:
            score += 5
    matched = sum(1 for w in words if w in slug_words | label_words | desc_words)
    if matched < len(words):
        score *= matched / len(words)
    score += 10 * difflib.SequenceMatcher(None, query, slug).ratio() if score else 0.0
    return round(score, 2)


def search_frame(text: str, object: str | None = None, limit: int | None = 25) -> pd.DataFrame:
    """Entries matching ``text``, best first, with a ``score`` column.

    Slugs verified live come first, then those seen in production bodies, then the ones
    only the vendor reference lists (``evidence`` column), each group by score.
    """
    query = " ".join(text.lower().split())
    words = {w for w in _words(query) if w != "ootb"}
    scored = [(_score(query, words, m), m) for m in store.all_metrics(object)]
    hits = sorted(
        ((s, m) for s, m in scored if s > 0),
        key=lambda p: (_EVIDENCE_RANK.get(p[1].evidence, 9), -p[0], p[1].slug),
    )
    if limit is not None:
        hits = hits[:limit]
    frame = pd.DataFrame([{**_row(m), "score": s} for s, m in hits], columns=[*_COLUMNS, "score"])
    frame = frame.astype(dict.fromkeys(_COLUMNS, "string")).astype({"score": "Float64"})
    return frame.reset_index(drop=True)
