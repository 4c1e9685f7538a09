"""Turning what a user writes into exact API columns: slugs, periods and variation ids.

Every spelling below names the same column::

    "ootb_emails_sent_last_30_days"
    ("ootb_emails_sent", "last_30_days")
    ("ootb_emails_sent", "Last 30 Days")
    {"slug": "ootb_emails_sent", "variation_id": "last_30_days"}   # the documented mistake
    {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_last_30_days"}

>>> from bspandas.catalog import resolve
>>> columns = resolve([("ootb_emails_sent", ["last_7_days", "last_30_days"])], "account")
>>> [c.variation_id for c in columns]
['ootb_emails_sent_last_7_days', 'ootb_emails_sent_last_30_days']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from bspandas._exceptions import (
    InvalidColumnsError,
    InvalidVariationError,
    UnknownMetricError,
    UnregisteredMetricWarning,
    VariationAdjustedWarning,
)
from bspandas._messages import robust_repr
from bspandas._utils import find_stacklevel
from bspandas.catalog import store
from bspandas.catalog import vocabulary as _periods
from bspandas.catalog.model import OBJECTS, Metric, Part

__all__ = ["Column", "Output", "parse_name", "resolve", "resolve_one"]

_PERIODS_LONGEST_FIRST = sorted((p.id for p in _periods.PERIODS), key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class Output:
    """One frame column produced by a :class:`Column` (one per part of its metric)."""

    name: str
    part: Part
    label: str | None
    column: Column


@dataclass(frozen=True, slots=True)
class Column:
    """A resolved column: a catalog entry and, for variation columns, one period."""

    metric: Metric
    period: str | None = None

    @robust_repr
    def __repr__(self) -> str:
        return f"Column({self.metric.object}.{self.name})"

    @property
    def slug(self) -> str:
        return self.metric.slug

    @property
    def variation_id(self) -> str | None:
        """The full id the API wants (``None`` for columns without a period)."""
        return None if self.period is None else self.metric.variation_id(self.period)

    @property
    def name(self) -> str:
        """The frame column name: the slug, or ``{slug}_{period}`` for variation columns.

        Percentage metrics are named with a single suffix: the API's doubled form is an
        implementation detail of the wire format, not something users should type.
        """
        return self.slug if self.period is None else f"{self.slug}_{self.period}"

    def api(self) -> dict[str, str]:
        """The column as the export request wants it."""
        out = {"slug": self.slug}
        if self.variation_id is not None:
            out["variation_id"] = self.variation_id
        return out

    def outputs(self) -> list[Output]:
        """The frame columns this column becomes (several for expanded metrics)."""
        labels = self.metric.header_labels(self.period)
        return [
            Output(self.name + part.suffix, part, label, self)
            for part, label in zip(self.metric.parts, labels, strict=True)
        ]


def _allowed(metric: Metric) -> list[str]:
    return _periods.canonical_order(list(metric.periods))


def _check_period(metric: Metric, period: str, asked: str) -> str | None:
    """The period id to send for what the user asked (``None``: send bare), or raise.

    The field's spellings are what is sent: a documented-only synonym (``current_quarter``,
    ``last_year``...) becomes the field's form (``this_quarter``, ``last_fyear``) with one
    :class:`~bspandas.VariationAdjustedWarning`. ``current`` is no period: a metric that
    takes no variation is sent bare.
    """
    pid = _periods.normalize(asked) if period == asked else period
    if pid is None:
        raise InvalidVariationError(
            metric.slug, asked, _allowed(metric), "It is not a period name."
        )
    if pid in metric.periods:
        return pid
    for other in _periods.synonyms(pid):
        if other in metric.periods:
            warnings.warn(
                f"{metric.slug}: period {pid!r} is sent as {other!r}, the spelling live "
                f"tenants serve (the same window; query-api.md section 2 records a tenant "
                f"dropping {pid!r}); the column is named {metric.slug}_{other}.",
                VariationAdjustedWarning,
                stacklevel=find_stacklevel(),
            )
            return other
    if pid == "current" and metric.bare:
        warnings.warn(
            f"{metric.slug}: 'current' is not a period; the metric is sent without a "
            f"variation (its current value) and the column is named {metric.slug}.",
            VariationAdjustedWarning,
            stacklevel=find_stacklevel(),
        )
        return None
    raise InvalidVariationError(metric.slug, pid, _allowed(metric))


def _bare(metric: Metric) -> Column:
    if not metric.bare:
        raise InvalidVariationError(
            metric.slug,
            None,
            _allowed(metric),
            "Without one the API silently answers with a default 7-day window.",
        )
    return Column(metric, None)


def split_variation(text: str, obj: str) -> tuple[Metric, str] | None:
    """Split ``"{slug}_{period}"`` (or the doubled form) into a known entry and a period."""
    for pid in _PERIODS_LONGEST_FIRST:
        suffix = f"_{pid}"
        if not text.endswith(suffix):
            continue
        base = text[: -len(suffix)]
        if base.endswith(suffix):  # doubled percentage suffix
            doubled = base[: -len(suffix)]
            metric = store.find(doubled, obj)
            if metric is not None:
                return metric, pid
        metric = store.find(base, obj)
        if metric is not None:
            return metric, pid
    return None


def parse_name(name: str, obj: str) -> tuple[Metric, str | None, Part] | None:
    """Map a frame column name back to (entry, period, part), or ``None`` when unknown.

    Answers are cached (reshaping a frame parses the same names again and again) until the
    custom-metric registry changes.

    >>> m, period, part = parse_name("ootb_opportunity_owner_name", "opportunity")
    >>> (m.slug, period, part.suffix)
    ('ootb_opportunity_owner', None, '_name')
    """
    return _parse_name(name, obj, store.generation())


@lru_cache(maxsize=8192)
def _parse_name(name: str, obj: str, generation: int) -> tuple[Metric, str | None, Part] | None:
    metric = store.find(name, obj)
    if metric is not None:
        return metric, None, metric.parts[0]
    for suffix in ("_id", "_name", "_currency"):
        if name.endswith(suffix):
            metric = store.find(name.removesuffix(suffix), obj)
            if metric is not None:
                for part in metric.parts:
                    if part.suffix == suffix:
                        return metric, None, part
    found = split_variation(name, obj)
    if found is not None:
        return found[0], found[1], found[0].parts[0]
    return None


def _from_string(text: str, obj: str) -> Column:
    metric = store.find(text, obj)
    if metric is not None:
        return _bare(metric)
    found = split_variation(text, obj)
    if found is not None:
        metric, pid = found
        return Column(metric, _check_period(metric, pid, pid))
    try:
        metric = store.lookup(text, obj)
    except UnknownMetricError as error:
        for pid in _PERIODS_LONGEST_FIRST:  # a custom slug with a period suffix
            base = text.removesuffix(f"_{pid}")
            if base != text and store.custom_object(base) in (obj, "any"):
                return Column(store.lookup(base, obj), pid)
        elsewhere = [o for o in OBJECTS if o != obj and split_variation(text, o) is not None]
        if elsewhere:
            hint = f" {text!r} is a variation of a {' and '.join(elsewhere)} metric, not {obj}."
            raise UnknownMetricError(text, obj, error.suggestions, hint=hint) from None
        raise
    return Column(metric, None)


def resolve_one(spec: Any, obj: str) -> list[Column]:
    """Resolve one column spec into one or more :class:`Column` s."""
    if isinstance(spec, Column):
        if spec.metric.object != obj:
            raise InvalidColumnsError(f"{spec!r} is a column of {spec.metric.object}, not {obj}.")
        return [spec]
    if isinstance(spec, str):
        return [_from_string(spec, obj)]
    if isinstance(spec, Mapping):
        return [_from_mapping(spec, obj)]
    if isinstance(spec, tuple | list) and len(spec) == 2 and isinstance(spec[0], str):
        slug, when = spec
        metric = store.lookup(slug, obj)
        if when is None:
            return [_bare(metric)]
        many = [when] if isinstance(when, str) else list(when) if _is_seq(when) else None
        if not many or not all(isinstance(p, str) for p in many):
            raise InvalidColumnsError(
                f"({slug!r}, {when!r}): the second item must be a period or a list of periods."
            )
        return [Column(metric, _check_period(metric, p, p)) for p in many]
    raise InvalidColumnsError(
        f"Cannot read the column spec {spec!r}. Use a slug, a variation id, (slug, period), "
        "(slug, [periods]) or {'slug': ..., 'variation_id': ...}."
    )


def _as_text(spec: Any, obj: str) -> Column:
    """An unknown slug (``"slug"`` or ``{"slug": ...}``) requested as is and read as text."""
    slug = (
        spec if isinstance(spec, str) else spec.get("slug") if isinstance(spec, Mapping) else None
    )
    if not isinstance(slug, str) or (isinstance(spec, Mapping) and spec.get("variation_id")):
        raise InvalidColumnsError(
            f"on_unknown='text' reads unknown bare slugs; {spec!r} is not one. Register it "
            "with bspandas.catalog.register(slug, object=..., type=..., periods=[...])."
        )
    warnings.warn(
        f"{slug!r} is not in the catalog for {obj}: it is requested as is and read as text "
        "(on_unknown='text'). If your tenant drops it the column is missing; register it "
        f"for a typed column: bspandas.catalog.register({slug!r}, object={obj!r}, type=...).",
        UnregisteredMetricWarning,
        stacklevel=find_stacklevel(),
    )
    metric = Metric(
        object=obj,
        slug=slug,
        kind="field",
        description="Unknown slug read as text (on_unknown='text')",
        data_type="String",
        type="text",
        parts=(Part(suffix="", type="text"),),
        source="custom",
        evidence="registered",
    )
    return Column(metric, None)


def _is_single_pair(value: object, obj: str) -> bool:
    """``columns=("ootb_emails_sent", "last_30_days")``: one (slug, period) pair, not two slugs."""
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
        return False
    when = value[1]
    first = when if isinstance(when, str) else next(iter(when), None) if _is_seq(when) else None
    return (
        isinstance(first, str)
        and store.find(first, obj) is None
        and _periods.normalize(first) is not None
    )


def _is_seq(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _from_mapping(spec: Mapping[str, Any], obj: str) -> Column:
    unknown = set(spec) - {"slug", "variation_id"}
    slug = spec.get("slug")
    if unknown or not isinstance(slug, str):
        raise InvalidColumnsError(
            f"A column dict needs 'slug' (and optionally 'variation_id'), got {dict(spec)!r}."
        )
    metric = store.lookup(slug, obj)
    variation = spec.get("variation_id")
    if variation is None:
        return _bare(metric)
    if not isinstance(variation, str):
        raise InvalidColumnsError(f"variation_id of {slug!r} must be a string, got {variation!r}.")
    if variation.startswith(slug + "_"):
        rest = variation[len(slug) + 1 :]
        half = (len(rest) - 1) // 2
        if len(rest) % 2 == 1 and rest[:half] == rest[half + 1 :] and rest[half] == "_":
            rest = rest[:half]  # doubled percentage suffix
        return Column(metric, _check_period(metric, rest, rest))
    # The reference warns against {"variation_id": "last_30_days"}; the intent is clear.
    return Column(metric, _check_period(metric, variation, variation))


def _specs(
    columns: Any, obj: str, variations: Mapping[str, Sequence[str] | str] | None
) -> list[Any]:
    """The column specs of ``columns`` (one spec or a list) followed by ``variations``'."""
    if columns is None:
        specs: list[Any] = []
    elif isinstance(columns, str | Mapping) or _is_single_pair(columns, obj):
        specs = [columns]
    elif _is_seq(columns):
        specs = list(columns)
    else:
        raise InvalidColumnsError(f"columns must be a list of column specs, got {columns!r}.")
    specs.extend((slug, when) for slug, when in (variations or {}).items())
    return specs


def resolve(
    columns: Any,
    obj: str,
    *,
    variations: Mapping[str, Sequence[str] | str] | None = None,
    on_unknown: Literal["raise", "text"] = "raise",
) -> list[Column]:
    """Resolve a list of column specs (and a ``variations=`` mapping) for one object.

    Duplicates are removed, keeping the first occurrence, so the result has no repeated
    frame column names. A slug the catalog does not know raises
    :class:`~bspandas.UnknownMetricError` (``on_unknown="raise"``) or, with
    ``on_unknown="text"``, is requested as is and read as text, with an
    :class:`~bspandas.UnregisteredMetricWarning`: the catalog is never a wall between you
    and what your tenant serves.
    """
    if on_unknown not in ("raise", "text"):
        raise InvalidColumnsError(f"on_unknown must be 'raise' or 'text', got {on_unknown!r}.")
    obj = store.check_object(obj)
    specs = _specs(columns, obj, variations)
    resolved: list[Column] = []
    seen: set[str] = set()
    for spec in specs:
        try:
            found = resolve_one(spec, obj)
        except UnknownMetricError:
            if on_unknown == "raise":
                raise
            found = [_as_text(spec, obj)]
        for column in found:
            if column.name not in seen:
                seen.add(column.name)
                resolved.append(column)
    return resolved
