"""The metric rules: how each served (object, slug) column is computed, one module per object
(accounts, opportunities, users, activities, people), plus values for registered custom
fields. The catalog (:mod:`bspandas.catalog`) says which periods exist, the types and labels.

>>> ("account", "ootb_account_name") in rule_keys()
True
>>> served("account", "ootb_account_name").slug
'ootb_account_name'
"""

from __future__ import annotations

from bspandas.catalog import store
from bspandas.catalog.model import Metric
from bspandas.sandbox.rules import accounts, activities, opportunities, people, users
from bspandas.sandbox.rules.common import Rule
from bspandas.sandbox.rules.custom import registered_rule

__all__ = [
    "REFERENCE_SPELLING",
    "RULES",
    "SERVED_OBJECTS",
    "Rule",
    "registered_rule",
    "rule_keys",
    "served",
    "served_periods",
]

#: Objects with rows in the sandbox (``person``: the tenant's contacts, query-api.md
#: appendix, "Slugs verified live").
SERVED_OBJECTS: tuple[str, ...] = ("account", "opportunity", "user", "activity", "person")


#: Every rule, by (object, slug).
RULES: dict[tuple[str, str], Rule] = {
    (obj, slug): rule
    for obj, table in (
        ("account", accounts.RULES),
        ("opportunity", opportunities.RULES),
        ("user", users.RULES),
        ("activity", activities.RULES),
        ("person", people.RULES),
    )
    for slug, rule in table.items()
}


def rule_keys() -> frozenset[tuple[str, str]]:
    """Every (object, slug) the engine can compute."""
    return frozenset(RULES)


#: The vendor reference's spelling of a window the field spells otherwise (section 2).
REFERENCE_SPELLING = {
    "this_week": "current_week",
    "this_month": "current_month",
    "this_quarter": "current_quarter",
    "this_fyear": "current_year",
    "last_fyear": "last_year",
}


def served_periods(metric: Metric, vocabulary: str = "field") -> tuple[str, ...]:
    """The periods served for a metric: the catalog's (the field's spellings) by default;
    with ``vocabulary="reference"`` the reference's spellings of the documented windows of
    documented metrics (``current_quarter``, ``last_year``, ``current`` for bare ones)."""
    if vocabulary != "reference" or metric.source not in ("reference", "both"):
        return metric.periods
    spelled = tuple(REFERENCE_SPELLING.get(p, p) for p in metric.periods)
    return ("current", *spelled) if metric.bare and metric.kind == "metric" else spelled


def served(obj: str, slug: str) -> Metric | None:
    """The catalog entry of a slug the sandbox serves for ``obj``: shipped entries with a
    rule, and custom fields you registered (served with their expansions, section 3)."""
    metric = store.find(slug, obj)
    if metric is None:
        return None
    if metric.source == "custom":
        return metric if obj in SERVED_OBJECTS else None
    return metric if (obj, slug) in RULES else None
