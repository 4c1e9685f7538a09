"""The where-string's lexicon: pandas' ``@name`` made a plain identifier, the comparison
operators and their mirror images, the supported methods' parameters, and ``a & b & c``
chains read without recursion.

>>> chain = ast.parse("a & b & c", mode="eval").body
>>> [operand.id for operand in _chain(chain, ast.BitAnd)]  # one level, not two
['a', 'b', 'c']
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import Any

_LOCAL = "__bs_local_"


_COMPARE = {
    ast.Eq: "$eq",
    ast.NotEq: "$ne",
    ast.Gt: "$gt",
    ast.GtE: "$gte",
    ast.Lt: "$lt",
    ast.LtE: "$lte",
    ast.In: "$in",
    ast.NotIn: "$nin",
}


_FLIP = {"$gt": "$lt", "$gte": "$lte", "$lt": "$gt", "$lte": "$gte", "$eq": "$eq", "$ne": "$ne"}


_REQUIRED = object()


#: pandas' parameters of the supported string methods, in order, with their defaults.
_STR_METHODS: dict[str, tuple[tuple[str, Any], ...]] = {
    "contains": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None), ("regex", True)),
    "match": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None)),
    "fullmatch": (("pat", _REQUIRED), ("case", True), ("flags", 0), ("na", None)),
    "startswith": (("pat", _REQUIRED), ("na", None)),
    "endswith": (("pat", _REQUIRED), ("na", None)),
}


#: ``Series.between(left, right, inclusive=...)`` as two operators.
_BETWEEN = {
    "both": ("$gte", "$lte"),
    "neither": ("$gt", "$lt"),
    "left": ("$gte", "$lt"),
    "right": ("$gt", "$lte"),
}


def _chain(expr: ast.BinOp, kind: type) -> list[ast.expr]:
    """The operands of ``a & b & c`` (one operator throughout), left to right, without
    recursion (the parser nests the chain one level per operator)."""
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [expr]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and type(current.op) is kind:
            stack.extend((current.right, current.left))
        else:
            operands.append(current)
    return operands


def _replace_locals(text: str) -> str:
    """Turn pandas' ``@name`` into a plain identifier (string literals untouched)."""
    out: list[tuple[int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    skip = False
    for index, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.type == tokenize.OP and token.string == "@" and nxt and nxt.type == tokenize.NAME:
            out.append((tokenize.NAME, _LOCAL + nxt.string))
            skip = True
        else:
            out.append((token.type, token.string))
    return tokenize.untokenize(out)
