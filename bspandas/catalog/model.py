"""The catalog's record types: :class:`Metric` (one slug of one object) and its :class:`Part` s.

A metric that the API expands into several CSV columns (an owner gives ``(id)`` and
``(name)``, an amount gives ``(amount)`` and ``(currency_iso_code)``) has several parts; every
other metric has exactly one part with an empty suffix. A money metric says where its
currency is (``Metric.currency``).

>>> from bspandas import catalog
>>> m = catalog.get("ootb_opportunity_owner")
>>> [p.suffix for p in m.parts]
['_id', '_name']
>>> catalog.get("ootb_opportunity_amount").currency  # its ISO code: the _currency column
'_currency'
>>> catalog.get("ootb_opportunity_converted_amount").currency
'corporate'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bspandas._messages import robust_repr
from bspandas.catalog import vocabulary as _periods

__all__ = ["EVIDENCE", "KINDS", "OBJECTS", "TYPES", "Metric", "Part"]

OBJECTS: tuple[str, ...] = ("account", "opportunity", "user", "activity", "person")
KINDS: tuple[str, ...] = ("field", "metric")

#: The finer types. Each maps to one pandas dtype per backend (see ``bspandas._io.dtypes``).
TYPES: tuple[str, ...] = (
    "text",
    "id",
    "internal_id",
    "count",
    "number",
    "score",
    "percentage",
    "money",
    "boolean",
    "date",
    "timestamp",
    "duration",
    "enumeration",
    "list",
)

Source = Literal["reference", "field", "both", "custom"]
#: How sure anyone is that a live tenant serves the slug (query-api.md appendix):
#: ``verified`` answered with data live, ``seen`` in a working production body,
#: ``reference`` in the vendor reference only, ``registered`` added by the user.
Evidence = Literal["verified", "seen", "reference", "registered"]
EVIDENCE: tuple[str, ...] = ("verified", "seen", "reference", "registered")


@dataclass(frozen=True, slots=True)
class Part:
    """One CSV column produced by a metric.

    ``suffix`` is appended to the frame column name (``""``, ``"_id"``, ``"_name"``,
    ``"_currency"``); ``tag`` is what the API puts in the header (``"id"``,
    ``"currency_iso_code"``); ``key`` names what the values identify (``"user.internal_id"``).
    """

    suffix: str
    type: str
    tag: str = ""
    key: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Metric:
    """Everything the catalog knows about one slug of one object."""

    object: str
    slug: str
    kind: Literal["field", "metric"]
    description: str
    data_type: str
    type: str
    periods: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    bounds: tuple[float | None, float | None] | None = None
    values: tuple[str, ...] = ()
    ordered: bool = False
    #: A CRM picklist (stage, forecast category): ``values`` are the reference's examples
    #: and every tenant has its own, so values outside them are kept and not flagged.
    picklist: bool = False
    label: str | None = None
    label_known: bool = False
    window_in_label: bool = True
    doubled_suffix: bool = False
    parts: tuple[Part, ...] = field(default_factory=tuple)
    key: str | None = None
    source: Source = "reference"
    evidence: Evidence = "reference"
    example: str | None = None
    filterable: bool = True
    future: bool = False
    category: str = ""
    #: May be requested without a period. Fields and point-in-time metrics can; a windowed
    #: metric sent without a variation gets the server's silent 7-day default, so bspandas
    #: makes the user pick a period instead.
    bare: bool = True
    #: Where the currency of a money value is: ``"_currency"`` (the suffix of the part that
    #: holds each row's ISO code, ``ootb_opportunity_amount_currency``), ``"corporate"`` (the
    #: tenant's corporate currency, ``ootb_opportunity_converted_amount``), or ``None``
    #: (not money, or a currency nobody recorded).
    currency: str | None = None

    @robust_repr
    def __repr__(self) -> str:
        extra = f" {self.range[0]}-{self.range[1]}" if self.range else ""
        periods = f", periods={list(self.periods)}" if self.periods else ""
        return f"<Metric {self.object}.{self.slug}: {self.type}{extra}{periods}>"

    @property
    def windowed(self) -> bool:
        """True when the metric takes a time period other than ``current``."""
        return any(p != "current" for p in self.periods)

    @property
    def expanded(self) -> bool:
        """True when the API returns several columns for this slug."""
        return len(self.parts) > 1

    def variation_id(self, period: str) -> str:
        """The full variation id the API wants for ``period`` (doubled for percentages)."""
        return self.slug + _periods.variation_suffix(period, doubled=self.doubled_suffix)

    def header_labels(self, period: str | None) -> list[str | None]:
        """The header label of each part for a period (``None`` where unknown)."""
        if self.label is None:
            return [None] * len(self.parts)
        base = self.label
        if period is not None and self.window_in_label and period != "current":
            base = f"{base} ({_periods.label(period)})"
        if self.expanded:
            return [f"{base} ({p.tag})" for p in self.parts]
        return [base]

    @robust_repr
    def _repr_html_(self) -> str:
        from bspandas.catalog import describe

        return describe(self.slug, self.object)._repr_html_()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every attribute (the shape of ``catalog.json``)."""
        data = asdict(self)
        data["parts"] = [asdict(p) for p in self.parts]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["parts"] = tuple(
            Part(**{**p, "values": tuple(p.get("values", ()))}) for p in values.get("parts", ())
        )
        for name in ("periods", "values"):
            values[name] = tuple(values.get(name) or ())
        for name in ("range", "bounds"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)
