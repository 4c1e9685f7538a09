"""Values for a registered custom field (a tenant's own CRM field): deterministic per slug."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bspandas.catalog.model import Metric
from bspandas.sandbox.arrays import bools, dates, floats, ints, stamps, texts
from bspandas.sandbox.rules.common import Rule
from bspandas.sandbox.tenant.pools import DAY

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["registered_rule"]


def registered_rule(metric: Metric) -> Rule:
    """Deterministic values for a registered custom field (a tenant's own CRM field), one
    array per part: lookups (``type="reference"``) give a user's ``(id)``/``(name)``."""
    seed = sum(metric.slug.encode()) + 7 * len(metric.slug)

    def rule(e: MetricEngine, period: str | None) -> Any:
        rows = e.rows(metric.object)
        rng = np.random.default_rng(seed)
        missing = rng.random(rows) < 0.1
        if metric.type == "reference":
            users = rng.integers(0, e.rows("user"), rows)
            return e.user_ref(np.where(missing, -1, users))
        kind = metric.parts[0].type
        if kind in ("count", "internal_id", "duration"):
            return ints(rng.integers(0, 50, rows), missing)
        if kind in ("number", "score", "percentage", "money"):
            return floats(np.where(missing, np.nan, rng.random(rows) * 100), 1)
        if kind == "boolean":
            return bools(rng.random(rows) < 0.5, missing)
        if kind == "date":
            return dates(e.tenant.as_of_s // DAY - rng.integers(0, 365, rows), missing)
        if kind == "timestamp":
            return stamps(e.tenant.as_of_s - rng.integers(0, 365 * DAY, rows), missing)
        pool = metric.values or metric.parts[0].values or ("Alpha", "Beta", "Gamma", "Delta")
        return texts(tuple(pool), np.where(missing, -1, rng.integers(0, len(pool), rows)))

    return rule
