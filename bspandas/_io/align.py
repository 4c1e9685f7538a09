"""Header labels back to the requested columns.

The API keeps the order of the request and silently drops the columns it does not know, so
an answer's header is the request minus some columns. :func:`match_header` maps labels to
outputs by position when none was dropped, otherwise by aligning the labels with the
catalog's labels (:class:`_Aligner`), and refuses a header that contradicts the request.

>>> from bspandas.catalog import resolve
>>> cols = resolve(["ootb_opportunity_name", "ootb_opportunity_amount"], "opportunity")
>>> plan = match_header(["Opportunity Name", "Amount (amount)", "Amount (currency_iso_code)"], cols)
>>> [o.name for o in plan.outputs], plan.missing
(['ootb_opportunity_name', 'ootb_opportunity_amount', 'ootb_opportunity_amount_currency'], [])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bspandas._exceptions import HeaderMismatchError, MissingColumnsError
from bspandas.catalog import vocabulary
from bspandas.catalog.resolve import Column, Output

__all__ = ["HeaderPlan", "match_header"]


@dataclass
class HeaderPlan:
    """How the answer's header maps to the request.

    ``outputs`` are the frame columns present, in header order; ``missing`` the requested
    columns the server dropped; ``mismatched`` the (output, label) pairs whose known label
    differs from the one received.
    """

    outputs: list[Output]
    missing: list[Column] = field(default_factory=list)
    mismatched: list[tuple[Output, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _score(output: Output, label: str) -> float | None:
    """How well a header label fits an expected column (None: it cannot be that column)."""
    expected = output.label
    metric = output.column.metric
    if expected is not None and label == expected:
        return 3.0 if metric.label_known else 1.0
    if metric.label_known and expected is not None:
        return None
    score = 0.0
    if output.column.period is not None and metric.window_in_label:
        window = f"({vocabulary.label(output.column.period)})"
        score += 0.5 if window in label else -0.25
    if output.part.tag and label.endswith(f"({output.part.tag})"):
        score += 0.5
    return score


def match_header(labels: Sequence[str], columns: Sequence[Column]) -> HeaderPlan:
    """Map header labels to the requested columns.

    The API keeps the order of the request and silently drops what it does not know, so the
    header is the request minus some columns. When as many labels came as were expected the
    mapping is positional (known labels that differ are reported as ``mismatched``).
    Otherwise the dropped columns are found by aligning labels with the catalog's labels;
    when two alignments fit equally well, :class:`MissingColumnsError` names every candidate.
    A label that is the known label of another requested column (two labels swapped, one
    label twice) contradicts the request: :class:`HeaderMismatchError`.
    """
    groups = [c.outputs() for c in columns]
    expected = [o for g in groups for o in g]
    if len(labels) == len(expected):
        _check_contradictions(expected, expected, labels)
        mismatched = [
            (o, label)
            for o, label in zip(expected, labels, strict=True)
            if o.label is not None and o.column.metric.label_known and o.label != label
        ]
        return HeaderPlan(expected, [], mismatched, list(labels))
    if len(labels) > len(expected):
        raise HeaderMismatchError(
            f"The answer has {len(labels)} columns but {len(expected)} were asked for: "
            f"{_preview(labels)}. bspandas cannot tell which column is which; please report "
            "this with the payload (dry_run=True shows it)."
        )
    aligner = _Aligner(groups, labels)
    best, count, choice = aligner.best()
    if best is None or choice is None:
        raise HeaderMismatchError(
            f"The header {_preview(labels)} does not fit the requested columns "
            f"{_preview([o.name for o in expected])}."
        )
    _check_contradictions(expected, choice, labels)
    if count > 1:
        candidates = [columns[g].name for g in aligner.droppable(best)]
        raise MissingColumnsError(candidates, ambiguous=True)
    kept = {o.column.name for o in choice}
    missing = [c for c in columns if c.name not in kept]
    return HeaderPlan(list(choice), missing, [], list(labels))


def _preview(items: Sequence[str], limit: int = 20) -> str:
    """A list for a message, shortened when long (headers may hold thousands of labels)."""
    shown = [str(item)[:80] for item in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{shown!r}{more}"


def _check_contradictions(
    expected: Sequence[Output], outputs: Sequence[Output], labels: Sequence[str]
) -> None:
    """Raise when a label is the catalog's known label of a different requested column, or
    a known label arrives more often than it was asked for (the columns would be mixed up)."""
    known: dict[str, list[str]] = {}
    expected_labels: dict[str, list[str]] = {}
    for o in expected:
        if o.label is not None:
            expected_labels.setdefault(o.label, []).append(o.name)
        if o.label is not None and o.column.metric.label_known:
            known.setdefault(o.label, []).append(o.name)
    problems = _foreign_labels(known, outputs, labels)
    problems += _repeated_labels(known, expected_labels, outputs, labels)
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise HeaderMismatchError(
            f"The answer's header contradicts the requested columns: {shown}. bspandas will "
            "not guess which values belong to which column. Read again; if it persists, "
            "report it with the payload (dry_run=True shows it)."
        )


def _foreign_labels(
    known: dict[str, list[str]], outputs: Sequence[Output], labels: Sequence[str]
) -> list[str]:
    """Outputs that came with the known label of another requested column."""
    problems: list[str] = []
    for o, label in zip(outputs, labels, strict=True):
        owners = known.get(label)
        if owners is not None and o.name not in owners:
            problems.append(
                f"{o.name} came with the label {label!r}, which is the label of {', '.join(owners)}"
            )
    return problems


def _repeated_labels(
    known: dict[str, list[str]],
    expected_labels: dict[str, list[str]],
    outputs: Sequence[Output],
    labels: Sequence[str],
) -> list[str]:
    """Labels that arrive more often than the columns that expect them."""
    problems: list[str] = []
    for label, n in Counter(labels).items():
        owners = known.get(label)
        if owners is not None and n > len(owners):
            problems.append(f"the label {label!r} of {', '.join(owners)} appears {n} times")
            continue
        if n < 2 or label not in expected_labels:
            continue
        # a label twice is fine when every column given it expects it (two variations of a
        # metric without its window in the label); not when it is another column's label
        given = [o for o, lab in zip(outputs, labels, strict=True) if lab == label]
        strangers = [o.name for o in given if o.label is not None and o.label != label]
        if strangers:
            problems.append(
                f"the label {label!r} of {', '.join(expected_labels[label])} appears {n} "
                f"times, also for {', '.join(strangers)}"
            )
    return problems


_Cell = tuple[float, int]  # best score of a part of the alignment, number of ways (capped at 2)


class _Aligner:
    """Aligns whole groups (the outputs of one column) onto labels, dropping some groups.

    Dynamic programming over (group, labels consumed), iteratively (no recursion): the labels
    consumed before group ``g`` lie within ``drop`` of the outputs before it, so there are
    ``groups x (dropped outputs + 1)`` states, each costing one score per output of its group.
    """

    def __init__(self, groups: list[list[Output]], labels: Sequence[str]) -> None:
        self.groups = groups
        self.labels = labels
        self.n = len(labels)
        self.prefix = [0]
        for group in groups:
            self.prefix.append(self.prefix[-1] + len(group))
        self.drop = self.prefix[-1] - self.n
        self._taken: dict[tuple[int, int], float | None] = {}
        self.scored = 0  # scores computed (a measure of the work done)
        self._suffix: list[dict[int, _Cell]] = []

    def _window(self, g: int) -> range:
        return range(max(0, self.prefix[g] - self.drop), min(self.prefix[g], self.n) + 1)

    def _take(self, g: int, i: int) -> float | None:
        """Score of group ``g`` placed on labels ``i, i+1, ...`` (None: it cannot be there)."""
        key = (g, i)
        if key in self._taken:
            return self._taken[key]
        group = self.groups[g]
        total: float | None = 0.0
        if i + len(group) > self.n:
            total = None
        else:
            for k, output in enumerate(group):
                self.scored += 1
                score = _score(output, self.labels[i + k])
                if score is None:
                    total = None
                    break
                total += score  # type: ignore[operator]
        self._taken[key] = total
        return total

    @staticmethod
    def _combine(options: list[_Cell]) -> _Cell | None:
        if not options:
            return None
        top = max(score for score, _ in options)
        ways = sum(count for score, count in options if abs(score - top) < 1e-9)
        return top, min(ways, 2)

    def best(self) -> tuple[float | None, int, list[Output] | None]:
        """(best score, number of best alignments capped at 2, outputs kept by the first)."""
        if self.drop < 0:
            return None, 0, None
        suffix = self._fill()
        self._suffix = suffix
        start = suffix[0].get(0)
        if start is None:
            return None, 0, None
        return start[0], start[1], self._chosen(suffix)

    def _fill(self) -> list[dict[int, _Cell]]:
        """The table of best suffix scores, from the last group back to the first."""
        count = len(self.groups)
        suffix: list[dict[int, _Cell]] = [{} for _ in range(count + 1)]
        suffix[count] = {self.n: (0.0, 1)}
        for g in range(count - 1, -1, -1):
            after = suffix[g + 1]
            size = len(self.groups[g])
            for i in self._window(g):
                options: list[_Cell] = []
                if i in after:
                    options.append(after[i])
                if i + size in after:
                    taken = self._take(g, i)
                    if taken is not None:
                        rest = after[i + size]
                        options.append((rest[0] + taken, rest[1]))
                cell = self._combine(options)
                if cell is not None:
                    suffix[g][i] = cell
        return suffix

    def _chosen(self, suffix: list[dict[int, _Cell]]) -> list[Output]:
        """The outputs kept by the first best alignment (dropping a group when that ties)."""
        chosen: list[Output] = []
        i = 0
        for g in range(len(self.groups)):
            here = suffix[g][i][0]
            skip = suffix[g + 1].get(i)
            if skip is not None and abs(skip[0] - here) < 1e-9:
                continue
            chosen.extend(self.groups[g])
            i += len(self.groups[g])
        return chosen

    def droppable(self, best: float) -> list[int]:
        """Indices of the groups that some best alignment drops (call after :meth:`best`)."""
        prefix: dict[int, float] = {0: 0.0}
        found: list[int] = []
        for g in range(len(self.groups)):
            after = self._suffix[g + 1]
            if any(
                i in after and abs(score + after[i][0] - best) < 1e-9 for i, score in prefix.items()
            ):
                found.append(g)
            size = len(self.groups[g])
            nxt: dict[int, float] = {}
            for i, score in prefix.items():
                if i in self._window(g + 1):
                    nxt[i] = max(nxt.get(i, score), score)
                taken = self._take(g, i)
                if taken is not None and i + size in self._window(g + 1):
                    value = score + taken
                    nxt[i + size] = max(nxt.get(i + size, value), value)
            prefix = nxt
        return found
