"""A few matplotlib charts for what people look at in this data.

matplotlib is optional (``pip install bspandas[plot]``) and imported only when a chart is
drawn. Every chart has a title, labelled axes and periods in their canonical order.

>>> import pandas as pd
>>> from bspandas import plots
>>> frame = pd.DataFrame({"ootb_emails_sent_last_7_days": [1, 2],
...                       "ootb_emails_sent_last_30_days": [5, 9]})
>>> ax = plots.metric_by_period(frame, "ootb_emails_sent", object="account")
>>> [t.get_text() for t in ax.get_xticklabels()]
['Last 7 Days', 'Last 30 Days']
>>> plots.close(ax)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from bspandas._exceptions import InvalidColumnsError
from bspandas.catalog import store
from bspandas.catalog import vocabulary as _periods
from bspandas.catalog.resolve import parse_name
from bspandas.frame.money import _only_currency, money_column
from bspandas.frame.people import person_labels

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["close", "metric_by_period", "pipeline_by_stage", "save", "score_distribution"]


def _pyplot() -> Any:
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg",) and not _has_display():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("bspandas charts need matplotlib: pip install 'bspandas[plot]'") from exc
    return plt


def _has_display() -> bool:
    import os
    import sys

    return "ipykernel" in sys.modules or bool(os.environ.get("DISPLAY"))


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    plt = _pyplot()
    _, new = plt.subplots(figsize=size)
    return new  # type: ignore[no-any-return]


def _short_number(value: float, _position: object = None) -> str:
    """Axis ticks such as 1.5M, 250k."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _money_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(_short_number))


def _label(slug: str, object: str | None) -> str:
    metric = store.find(slug, object) if object else None
    if metric is None:
        return slug
    return metric.label or metric.description


def _object_of(frame: pd.DataFrame, object: str | None) -> str:
    if object is not None:
        return store.check_object(object)
    meta = frame.attrs.get("backstory")
    if isinstance(meta, dict) and isinstance(meta.get("object"), str):
        return str(meta["object"])
    raise InvalidColumnsError("Pass object= (the frame carries no bspandas provenance).")


def metric_by_period(
    frame: pd.DataFrame,
    metric: str,
    *,
    object: str | None = None,
    how: Literal["sum", "mean", "median"] = "sum",
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of one metric across the periods present in ``frame``, aggregated over rows."""
    obj = _object_of(frame, object)
    found: dict[str, str] = {}
    for name in frame.columns:
        parsed = parse_name(str(name), obj)
        if parsed is not None and parsed[0].slug == metric and parsed[1] is not None:
            found[parsed[1]] = str(name)
    if not found:
        raise InvalidColumnsError(f"The frame has no period columns of {metric!r}.")
    order = _periods.canonical_order(list(found))
    values = [float(getattr(frame[found[p]].astype("Float64"), how)()) for p in order]
    ax = _axes(ax)
    ax.bar([_periods.label(p) for p in order], values, color="#4C72B0")
    label = _label(metric, obj)
    ax.set_title(f"{label} by period ({how} over {len(frame)} {obj}s)")
    ax.set_xlabel("Period")
    ax.set_ylabel(f"{label} ({how})")
    ax.tick_params(axis="x", labelrotation=20)
    return ax


def _grouping(frame: pd.DataFrame, by: str) -> tuple[pd.Series, str]:
    """The values to stack by and the legend title. A reference with id and name columns
    (``ootb_opportunity_owner``, its ``_id`` or ``_name`` column) is grouped by id and shown
    by name, with the id's last digits when two ids share a name."""
    base = by.removesuffix("_id").removesuffix("_name")
    named = f"{base}_id" in frame.columns and f"{base}_name" in frame.columns
    if named and by in (base, f"{base}_id", f"{base}_name"):
        labels = person_labels(frame, f"{base}_id")
        ids = frame[f"{base}_id"]
        shown = ids.astype("object").map(labels.to_dict())
        return shown, base.removeprefix("ootb_opportunity_").replace("_", " ")
    if by not in frame.columns:
        raise InvalidColumnsError(f"pipeline_by_stage needs the column {by!r}.")
    return frame[by].astype("object"), by


def pipeline_by_stage(
    opportunities: pd.DataFrame,
    *,
    amount: str | None = None,
    stage: str = "ootb_opportunity_current_stage",
    by: str | None = None,
    currency: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of pipeline value by stage (stages in their catalog order), optionally
    stacked by another column (an owner, a forecast category).

    The amount is :func:`bspandas.frame.money_column`'s: the converted amount when the
    frame has it, else ``ootb_opportunity_amount`` in one currency; several currencies raise
    :class:`bspandas.MixedCurrencyError` (``currency="EUR"`` charts that currency only).
    The y axis names the currency. ``by="ootb_opportunity_owner"`` stacks by owner id,
    labelled by name (:func:`bspandas.frame.person_labels`).
    """
    if stage not in opportunities.columns:
        raise InvalidColumnsError(f"pipeline_by_stage needs the column {stage!r}.")
    money = money_column(opportunities, amount, currency=currency)
    frame = _only_currency(opportunities, money) if currency else opportunities
    values = frame[money.column].astype("Float64")
    stages = frame[stage]
    order: Sequence[Any]
    if isinstance(stages.dtype, pd.CategoricalDtype):
        order = [c for c in stages.cat.categories if (stages == c).any()]
    else:
        order = sorted(stages.dropna().unique())
    ax = _axes(ax, (8.0, 4.5))
    if by is None:
        totals = values.groupby(stages.astype("object"), dropna=True).sum()
        ax.bar([str(s) for s in order], [float(totals.get(s, 0.0)) for s in order], color="#55A868")
    else:
        groups, legend = _grouping(frame, by)
        table = (
            pd.DataFrame({"stage": stages.astype("object"), "by": groups, "v": values})
            .groupby(["stage", "by"], dropna=True)["v"]
            .sum()
            .unstack(fill_value=0)
            .reindex(list(order), fill_value=0.0)
        )
        bottom = pd.Series(0.0, index=table.index)
        for name in table.columns:
            ax.bar(
                [str(s) for s in table.index],
                table[name].astype(float),
                bottom=bottom,
                label=str(name),
            )
            bottom += table[name].astype(float)
        ax.legend(title=legend, fontsize="small", ncols=2)
    ax.set_title(title or ("Pipeline by stage" + (f" and {by}" if by else "")))
    ax.set_xlabel("Stage")
    ax.set_ylabel(f"Amount ({money.label})")
    _money_axis(ax)
    ax.tick_params(axis="x", labelrotation=20)
    return ax


def score_distribution(
    frame: pd.DataFrame,
    score: str,
    *,
    thresholds: Sequence[float] = (70.0,),
    bins: int = 20,
    object: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of a 0-100 score with at-risk threshold lines and the share above each."""
    if score not in frame.columns:
        raise InvalidColumnsError(f"The frame has no column {score!r}.")
    values = frame[score].astype("Float64").dropna().astype(float)
    ax = _axes(ax)
    ax.hist(values, bins=bins, range=(0, 100), color="#8172B2", edgecolor="white")
    for threshold in thresholds:
        share = float((values >= threshold).mean()) if len(values) else 0.0
        ax.axvline(threshold, color="#C44E52", linestyle="--")
        ax.annotate(
            f">= {threshold:g}: {share:.0%}",
            xy=(threshold, ax.get_ylim()[1] * 0.92),
            xytext=(4, 0),
            textcoords="offset points",
            color="#C44E52",
        )
    obj = None
    try:
        obj = _object_of(frame, object)
    except InvalidColumnsError:
        obj = None
    label = _label(score, obj)
    ax.set_title(f"Distribution of {label} ({len(values)} rows)")
    ax.set_xlabel(label)
    ax.set_ylabel("Rows")
    return ax


def save(ax: Axes, path: str | Any) -> None:
    """Save the figure of ``ax`` as PNG and close it."""
    figure = ax.get_figure(root=True)
    if figure is None:
        raise ValueError("the axes belong to no figure")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    close(ax)


def close(ax: Axes) -> None:
    """Close the figure of ``ax`` (free its memory)."""
    plt = _pyplot()
    plt.close(ax.get_figure())
