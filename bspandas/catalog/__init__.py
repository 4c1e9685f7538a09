"""The metric catalog: every field and metric of every object, typed.

Built from the vendor's metric reference and the field notes of the Query API (see
``tools/build_catalog.py``), plus the custom metrics you register.

>>> from bspandas import catalog
>>> catalog.get("ootb_churn_risk_score").range
(0, 100)
>>> catalog.periods("ootb_emails_sent")
['last_7_days', 'last_30_days', 'this_quarter', 'this_fyear']
>>> catalog.variation_id("ootb_emails_sent", "last_30_days")
'ootb_emails_sent_last_30_days'
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from bspandas._messages import robust_repr
from bspandas._read.probe import probe
from bspandas.catalog import vocabulary as period_vocabulary
from bspandas.catalog.model import OBJECTS, TYPES, Metric, Part
from bspandas.catalog.resolve import Column, Output, parse_name, resolve
from bspandas.catalog.search import metrics_frame, search_frame
from bspandas.catalog.store import clear_custom, lookup, register, register_file, version

__all__ = [
    "OBJECTS",
    "TYPES",
    "Column",
    "Metric",
    "MetricInfo",
    "Output",
    "Part",
    "clear_custom",
    "describe",
    "get",
    "metrics",
    "parse_name",
    "period_vocabulary",
    "periods",
    "probe",
    "register",
    "register_file",
    "resolve",
    "search",
    "variation_id",
    "version",
]


def get(slug: str, object: str | None = None) -> Metric:
    """The catalog entry of a slug; ``object`` is needed only when several objects share it.

    Unknown slugs raise :class:`bspandas.UnknownMetricError` with the closest known slugs.
    """
    return lookup(slug, object)


def metrics(object: str | None = None) -> pd.DataFrame:
    """All entries as a DataFrame (one row per slug), optionally for one object."""
    return metrics_frame(object)


def search(text: str, object: str | None = None, *, limit: int | None = 25) -> pd.DataFrame:
    """Entries whose slug, label or description match ``text``, best first (slugs verified
    live first, then seen in production bodies, then reference-only; ``evidence`` column).

    >>> hits = search("churn")
    >>> hits.loc[0, "slug"]
    'ootb_churn_risk_score'
    """
    return search_frame(text, object, limit)


def periods(slug: str, object: str | None = None) -> list[str]:
    """The periods a metric accepts, in canonical order (empty for plain fields)."""
    return period_vocabulary.canonical_order(list(get(slug, object).periods))


def variation_id(slug: str, period: str, object: str | None = None) -> str:
    """The full variation id the API wants for ``(slug, period)`` (checks the period)."""
    metric = get(slug, object)
    (column,) = resolve([(slug, period)], metric.object)
    vid = column.variation_id
    assert vid is not None
    return vid


class MetricInfo(dict[str, Any]):
    """What :func:`describe` returns: a plain dict that also displays nicely in notebooks."""

    def __str__(self) -> str:
        width = max(len(k) for k in self)
        lines = [f"{k:<{width}}  {v}" for k, v in self.items() if k != "periods"]
        rows = self.get("periods") or []
        if rows:
            lines.append("periods:")
            first = max(len(r["period"]) for r in rows)
            second = max(len(r["variation id"]) for r in rows)
            lines += [
                f"  {r['period']:<{first}}  {r['variation id']:<{second}}  {r['header label']}"
                for r in rows
            ]
        return "\n".join(lines)

    @robust_repr
    def _repr_html_(self) -> str:
        rows = []
        for key, value in self.items():
            if key == "periods" and value:
                inner = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(str(p[k]))}</td>" for k in p) + "</tr>"
                    for p in value
                )
                head = "".join(f"<th>{html.escape(k)}</th>" for k in value[0])
                value_html = f"<table><tr>{head}</tr>{inner}</table>"
            else:
                value_html = html.escape("" if value is None else str(value))
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(key)}</th><td>{value_html}</td></tr>"
            )
        return f"<table>{''.join(rows)}</table>"


def describe(slug: str, object: str | None = None) -> MetricInfo:
    """Everything known about a slug: types, dtypes, range, values, periods with their
    variation ids and header labels, parts, source, and the evidence that a live tenant
    serves it (``verified``, ``seen`` in a production body, ``reference`` only, or
    ``registered`` by you).

    >>> info = describe("ootb_account_count_of_meetings_standard")
    >>> info["periods"][2]["header label"]
    'Meetings (Last 30 Days)'
    """
    from bspandas._io.dtypes import dtype_for

    metric = get(slug, object)
    period_rows = [
        {
            "period": p,
            "label": period_vocabulary.label(p),
            "variation id": metric.variation_id(p),
            "column": f"{metric.slug}_{p}",
            "header label": " | ".join(x or "?" for x in metric.header_labels(p)),
        }
        for p in periods(metric.slug, metric.object)
    ]
    dtypes = {
        part.suffix or "(value)": str(
            dtype_for(part.type, values=part.values, ordered=metric.ordered)
        )
        for part in metric.parts
    }
    return MetricInfo(
        object=metric.object,
        slug=metric.slug,
        kind=metric.kind,
        description=metric.description,
        category=metric.category,
        data_type=metric.data_type,
        type=metric.type,
        dtype=dtypes if metric.expanded else next(iter(dtypes.values())),
        range=metric.range,
        bounds=metric.bounds,
        values=list(metric.values) or None,
        label=metric.label,
        label_known=metric.label_known,
        columns=[metric.slug + p.suffix for p in metric.parts],
        key=metric.key or [p.key for p in metric.parts if p.key] or None,
        bare=metric.bare,
        source=metric.source,
        evidence=metric.evidence,
        example=metric.example,
        periods=period_rows,
    )


def _repr_html_() -> str:
    """A summary of the catalog when ``bspandas.catalog`` is the last line of a cell."""
    frame = metrics()
    counts = frame.groupby("object", sort=False)["slug"].count()
    items = "".join(f"<li>{html.escape(str(o))}: {n} entries</li>" for o, n in counts.items())
    return (
        f"<p><b>bspandas catalog</b> {html.escape(version())}: {len(frame)} entries</p>"
        f"<ul>{items}</ul><p>catalog.search(text), catalog.describe(slug), "
        "catalog.metrics(object)</p>"
    )
