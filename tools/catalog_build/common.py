"""Shared by the build steps: how a build fails, and the cells of a Markdown table row.

>>> _cells("| a | b |")
['', 'a', 'b']
"""

from __future__ import annotations


def fail(message: str) -> None:
    raise SystemExit(f"build_catalog: {message}")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().rstrip("|").split("|")]


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value
