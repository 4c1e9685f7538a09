"""What an export request means: objects, columns, variations, filter and sort (spec section 2).

:func:`plan_export` turns a parsed JSON body into an :class:`ExportPlan` (the header labels,
the value arrays and the row order) or raises :class:`~bspandas.sandbox.problems.ApiError`.

Column rules: the header holds display labels (``Metric.header_labels``); an expanded slug
gives one column per part; request order is kept; a slug may repeat with other variations.
A ``variation_id`` is accepted only when it is exactly ``Metric.variation_id(period)`` for a
documented period of the slug, so the bare period (``"last_30_days"``) and, for percentage
metrics, the single-suffix form are unknown variations: the column is dropped, HTTP 200.
Unknown slugs are dropped too. A windowed slug without a variation gets ``last_7_days``
(``next_7_days`` for upcoming metrics), or its first period when it lacks that one.

The periods served are the field's by default (the catalog's; ``current_*`` and
``last_year`` variations are dropped as the recorded tenant drops them); a tenant built
with ``vocabulary="reference"`` serves the reference's spellings instead. ``person`` rows
are the tenant's contacts. Without any column left, the answer is the (empty) header line
alone.

>>> from bspandas.sandbox.engine import MetricEngine
>>> from bspandas.sandbox.tenant import Tenant
>>> engine = MetricEngine(Tenant(accounts=5, users=2, seed=1))
>>> plan = plan_export({"object": "account", "columns": [
...     {"slug": "ootb_account_name"}, {"slug": "nope"},
...     {"slug": "ootb_account_count_of_meetings_standard",
...      "variation_id": "ootb_account_count_of_meetings_standard_last_30_days"}]}, engine)
>>> plan.labels
['Account Name', 'Meetings (Last 30 Days)']
>>> plan.row_count
5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.catalog.model import Metric
from bspandas.sandbox.engine import MetricEngine
from bspandas.sandbox.faults import Faults
from bspandas.sandbox.filtering import Target, compile_filter, evaluate
from bspandas.sandbox.problems import ApiError, bad_request, columns_invalid, sort_invalid
from bspandas.sandbox.rules import served, served_periods

__all__ = ["OBJECTS", "ExportPlan", "Output", "plan_export", "resolve_attribute"]

#: Objects the export endpoint accepts.
OBJECTS: tuple[str, ...] = ("account", "opportunity", "user", "activity", "person")
TREND_BY = {"message": "Trend by unsupported in exporting"}


@dataclass(frozen=True, slots=True)
class Output:
    """One CSV column of the answer."""

    label: str
    type: str
    values: Any


@dataclass(slots=True)
class ExportPlan:
    object: str
    outputs: list[Output] = field(default_factory=list)
    indices: npt.NDArray[np.int64] | None = None
    n_rows: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.outputs]

    @property
    def columns(self) -> list[tuple[str, Any]]:
        return [(o.type, o.values) for o in self.outputs]

    @property
    def row_count(self) -> int:
        if not self.outputs:
            return 0
        return self.n_rows if self.indices is None else len(self.indices)


def default_period(metric: Metric) -> str:
    """The window the server picks for a windowed slug sent without a variation."""
    wanted = "next_7_days" if metric.future else "last_7_days"
    return wanted if wanted in metric.periods else metric.periods[0]


def resolve_attribute(
    obj: str,
    slug: Any,
    variation: Any,
    unknown: frozenset[str] = frozenset(),
    vocabulary: str = "field",
) -> tuple[Metric, str | None] | None:
    """(entry, period) for a column or attribute spec, or ``None`` when the server drops it.

    The periods served are :func:`~bspandas.sandbox.rules.served_periods` of the
    vocabulary: by default the field's, so ``..._current_quarter`` is dropped as the
    recorded tenant drops it (query-api.md section 2, "Periods seen working").
    """
    if not isinstance(slug, str) or slug in unknown:
        return None
    metric = served(obj, slug)
    if metric is None:
        return None
    if variation is None:
        return (metric, None) if metric.bare else (metric, default_period(metric))
    if not isinstance(variation, str):
        return None
    for period in served_periods(metric, vocabulary):
        if metric.variation_id(period) == variation:
            return (metric, None) if period == "current" else (metric, period)
    return None


def _label(metric: Metric, period: str | None, index: int) -> str:
    label = metric.header_labels(period)[index]
    return label if label is not None else metric.slug + metric.parts[index].suffix


def plan_export(query: Any, engine: MetricEngine, faults: Faults | None = None) -> ExportPlan:
    """Validate an export body and compute what the answer holds."""
    faults = faults or Faults()
    obj, columns = _checked_query(query)
    plan = ExportPlan(object=obj, n_rows=engine.rows(obj))
    _add_columns(plan, columns, engine, faults)
    resolve = _filter_resolver(obj, engine, faults)
    mask = None
    if query.get("filter") is not None:
        tree = compile_filter(
            query["filter"], resolve, as_of=engine.as_of, two_leaves_500=faults.two_leaves_500
        )
        mask = evaluate(
            tree, plan.n_rows, as_of=engine.as_of, fiscal_year_start=engine.fiscal_year_start
        )
    indices = None if mask is None else np.flatnonzero(mask).astype(np.int64)
    sort_keys = _sort_keys(query.get("sort"), obj, faults.unknown_slugs, engine)
    if sort_keys:
        indices = _sorted(sort_keys, indices, plan.n_rows)
    plan.indices = indices
    return plan


def _checked_query(query: Any) -> tuple[str, list[Any]]:
    """The object and the column specs of an export body (the errors the API answers)."""
    if not isinstance(query, Mapping):
        raise bad_request("The request body must be a JSON object.")
    if query.get("trend_by") is not None:
        raise ApiError(400, dict(TREND_BY))
    obj = query.get("object")
    if not isinstance(obj, str) or obj not in OBJECTS:
        raise bad_request(f"Unknown object {obj!r}. Expected one of: {', '.join(OBJECTS)}.")
    columns = query.get("columns")
    if not isinstance(columns, list) or not columns:
        raise columns_invalid("'columns' must be a non-empty list of {slug, variation_id?}")
    return obj, columns


def _add_columns(
    plan: ExportPlan, columns: list[Any], engine: MetricEngine, faults: Faults
) -> None:
    """The served outputs of each column spec (unknown ones silently dropped)."""
    unknown = faults.unknown_slugs
    vocabulary = engine.tenant.options.vocabulary
    for spec in columns:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("slug"), str):
            raise columns_invalid(f"a column must be an object with a 'slug', got {spec!r}")
        found = resolve_attribute(
            plan.object, spec["slug"], spec.get("variation_id"), unknown, vocabulary
        )
        if found is None:
            plan.dropped.append(dict(spec))
            continue
        metric, period = found
        arrays = engine.values(metric, period)
        if metric.slug in faults.corrupt_slugs:
            arrays = tuple(
                _corrupt(part.type, a) for part, a in zip(metric.parts, arrays, strict=True)
            )
        for index, (part, values) in enumerate(zip(metric.parts, arrays, strict=True)):
            plan.outputs.append(Output(_label(metric, period, index), part.type, values))


def _filter_resolver(
    obj: str, engine: MetricEngine, faults: Faults
) -> Callable[[Mapping[str, Any]], Target | None]:
    """What a filter leaf's attribute addresses (None: a leaf the service ignores)."""
    unknown = faults.unknown_slugs
    vocabulary = engine.tenant.options.vocabulary

    def resolve(attribute: Mapping[str, Any]) -> Target | None:
        slug, variation = attribute.get("slug"), attribute.get("variation_id")
        if isinstance(slug, str) and variation == slug + "_0":
            # the field's filters address attribute-shaped slugs (dates with $within) with
            # the "_0" variation (spec, Appendix): the attribute itself
            found = resolve_attribute(obj, slug, None, unknown, vocabulary)
            if found is not None and found[1] is None:
                variation = None
        found = resolve_attribute(obj, slug, variation, unknown, vocabulary)
        if found is None or not found[0].filterable or slug in faults.unfilterable_slugs:
            return None
        metric, period = found
        return Target(metric, period, engine.values(metric, period))

    return resolve


def _sort_keys(
    sort: Any, obj: str, unknown: frozenset[str], engine: MetricEngine
) -> list[tuple[Any, str]]:
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise sort_invalid("'sort' must be a list of {attribute, direction}")
    keys = []
    for item in sort:
        if not isinstance(item, Mapping) or not isinstance(item.get("attribute"), Mapping):
            raise sort_invalid(f"a sort item needs an 'attribute' object, got {item!r}")
        direction = item.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise sort_invalid(f"direction must be 'asc' or 'desc', got {direction!r}")
        attribute = item["attribute"]
        slug, variation = attribute.get("slug"), attribute.get("variation_id")
        found = resolve_attribute(obj, slug, variation, unknown, engine.tenant.options.vocabulary)
        if found is None:
            continue
        metric, period = found
        arrays = engine.values(metric, period)
        part = next((i for i, p in enumerate(metric.parts) if p.tag == "name"), 0)
        if metric.parts[part].type == "list":
            continue
        keys.append((arrays[part], "ascending" if direction == "asc" else "descending"))
    return keys


def _sorted(
    keys: list[tuple[Any, str]], indices: npt.NDArray[np.int64] | None, n_rows: int
) -> npt.NDArray[np.int64]:
    """Stable multi-key sort; missing values last in either direction."""
    base = np.arange(n_rows, dtype=np.int64) if indices is None else indices
    take = pa.array(base)
    table = pa.table({f"k{i}": values.take(take) for i, (values, _) in enumerate(keys)})
    order = pc.sort_indices(
        table,
        sort_keys=[(f"k{i}", direction) for i, (_, direction) in enumerate(keys)],
    )  # Arrow puts nulls last in either direction by default
    return base[np.asarray(order.to_numpy(), dtype=np.int64)]


_BAD_NUMBER_TYPES = frozenset({"count", "number", "score", "percentage", "money", "internal_id"})


def _corrupt(part_type: str, values: Any) -> Any:
    """The first value replaced by one outside the catalog's range or values."""
    if len(values) == 0 or (part_type not in _BAD_NUMBER_TYPES and part_type != "enumeration"):
        return values
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    bad = pa.array([-5 if part_type in _BAD_NUMBER_TYPES else "corrupt-value"], type=values.type)
    rest = values.slice(1)
    chunks = rest.chunks if isinstance(rest, pa.ChunkedArray) else [rest]
    return pa.concat_arrays([bad, *chunks])
