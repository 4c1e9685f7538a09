"""The rules of the ``person`` columns (the tenant's contacts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from bspandas.sandbox.arrays import bools, floats, texts
from bspandas.sandbox.rules.common import (
    Rule,
    _c,
    _x,
)
from bspandas.sandbox.tenant import pools as t

if TYPE_CHECKING:
    from bspandas.sandbox.engine import MetricEngine

__all__ = ["RULES"]


DEPARTMENTS = ("Executive", "Finance", "IT", "Operations", "Sales", "Marketing", "Legal")
BUYING_POWER = ("High", "Medium", "Low")


def _by_level(pool: tuple[str, ...]) -> Rule:
    """A text per contact that follows its seniority level (C-Level first)."""

    def rule(e: MetricEngine, period: str | None) -> Any:
        level = _c(e).level
        return texts(pool, np.minimum(level * len(pool) // len(t.CONTACT_LEVELS), len(pool) - 1))

    return rule


def _person_engagement(e: MetricEngine, period: str | None) -> Any:
    x = _x(e)
    size = e.rows("person")
    start, _ = e.window("last_90_days")
    mask = (x.contact >= 0) & (x.ts >= (start or 0)) & (x.ts < e.tenant.as_of_s)
    count = np.bincount(x.contact[mask], minlength=size)
    mean = max(float(count.mean()), 1e-9)
    return floats(100 * (1 - np.exp(-count / (2 * mean))), 1)


def _person_code(prefix: str) -> Rule:
    def rule(e: MetricEngine, period: str | None) -> Any:
        ids = _c(e).internal_id
        return pa.array([f"{prefix}{i:012d}" for i in ids.tolist()], pa.string())

    return rule


RULES: dict[str, Rule] = {
    "ootb_person_department": lambda e, p: texts(DEPARTMENTS, _c(e).internal_id % len(DEPARTMENTS)),
    "ootb_person_email": lambda e, p: _c(e).email,
    "ootb_person_engagement_level": _person_engagement,
    "ootb_person_external_participant": lambda e, p: bools(np.ones(e.rows("person"), dtype=bool)),
    "ootb_person_job_title": _by_level(t.CONTACT_LEVELS),
    "ootb_person_max_buying_power": _by_level(BUYING_POWER),
    "ootb_person_min_buying_power": _by_level(BUYING_POWER[1:]),
    "ootb_person_phone": lambda e, p: pa.array(
        [f"+1 555 {i % 10_000:04d}" for i in _c(e).internal_id.tolist()], pa.string()
    ),
    "ootb_person_primary_key": _person_code("003"),
    "ootb_person_seniority": _by_level(t.CONTACT_LEVELS),
    "ootb_person_seniority_level": _by_level(("Executive", "Senior", "Mid", "Junior")),
    "ootb_person_win_rate_level": _by_level(BUYING_POWER),
}
