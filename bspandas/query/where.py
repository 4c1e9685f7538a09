"""The ``where=`` string: a pandas-query style expression parsed with :mod:`ast` (never
evaluated) into a filter tree, reading ``DataFrame.query``'s semantics for missing values.

>>> str(parse_where("industry in ['Retail', 'Media'] and ootb_churn_risk_score >= 70", "account"))
"industry in ['Retail', 'Media'] and ootb_churn_risk_score >= 70"
"""

from __future__ import annotations

import ast
import re
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bspandas._exceptions import InvalidFilterError
from bspandas._messages import quote_input
from bspandas.query.attributes import _make_condition
from bspandas.query.grammar import _FAMILY, _KLEENE, MAX_DEPTH, _too_deep
from bspandas.query.simplification import simplify
from bspandas.query.tree import AllOf, AnyOf, Condition, Node, _not_equal
from bspandas.query.typos import _warn_typos
from bspandas.query.values import _as_values, _is_missing
from bspandas.query.where_syntax import (
    _BETWEEN,
    _COMPARE,
    _FLIP,
    _LOCAL,
    _REQUIRED,
    _STR_METHODS,
    _chain,
    _replace_locals,
)

__all__ = ["parse_where"]


@dataclass
class _WhereParser:
    text: str
    obj: str
    variables: Mapping[str, Any]
    used: set[str] = field(default_factory=set)

    def fail(self, node: ast.AST, message: str) -> InvalidFilterError:
        segment = (ast.get_source_segment(self.source, node) or "").replace(_LOCAL, "@")
        where = f" (at {quote_input(segment)})" if segment and segment != self.text.strip() else ""
        return InvalidFilterError(f"{message} in where={quote_input(self.text)}{where}.")

    @property
    def source(self) -> str:
        return _replace_locals(self.text).strip() if "@" in self.text else self.text.strip()

    def parse(self) -> Node:
        try:
            with warnings.catch_warnings():  # '\.' in a pattern literal: kept, not a warning
                warnings.simplefilter("ignore", SyntaxWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                tree = ast.parse(self.source, mode="eval")
        except (SyntaxError, tokenize.TokenError, ValueError) as exc:
            reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            raise InvalidFilterError(
                f"where={quote_input(self.text)} is not a valid expression: {reason}."
            ) from None
        except (MemoryError, RecursionError):  # Python's parser gives up on deep nesting
            raise _too_deep("where= string") from None
        return simplify(self.node(tree.body, 0))

    def node(self, expr: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _too_deep("where= string")
        if isinstance(expr, ast.BoolOp):
            children = tuple(self.node(v, depth + 1) for v in expr.values)
            return AllOf(children) if isinstance(expr.op, ast.And) else AnyOf(children)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not | ast.Invert):
            return self.node(expr.operand, depth + 1).negate()
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitAnd | ast.BitOr):
            kind = type(expr.op)
            operands = _chain(expr, kind)  # a & b & c is one level, not len - 1
            children = tuple(self.node(operand, depth + 1) for operand in operands)
            return AllOf(children) if kind is ast.BitAnd else AnyOf(children)
        if isinstance(expr, ast.Compare):
            return self.compare(expr)
        if isinstance(expr, ast.Call):
            return self.call(expr)
        if isinstance(expr, ast.Name) and not expr.id.startswith(_LOCAL):
            return self.condition(expr, expr.id, {"$eq": True})
        raise self.fail(expr, "Unsupported expression")

    def condition(self, at: ast.AST, name: str, ops: dict[str, Any]) -> Condition:
        try:
            return _make_condition(name, ops, self.obj)
        except InvalidFilterError as exc:
            raise self.fail(at, str(exc).rstrip(".")) from None

    def column_name(self, expr: ast.expr) -> str | None:
        if (
            isinstance(expr, ast.Name)
            and not expr.id.startswith(_LOCAL)
            and expr.id not in ("True", "False", "None")
        ):
            return expr.id
        return None

    def compare(self, expr: ast.Compare) -> Node:
        operands = [expr.left, *expr.comparators]
        pieces: list[Node] = []
        for left, op, right in zip(operands, expr.ops, operands[1:], strict=False):
            api = _COMPARE.get(type(op))
            if api is None:
                raise self.fail(expr, f"Unsupported comparison {type(op).__name__}")
            name, other, flipped = self.column_name(left), right, False
            if name is None:
                name, other, flipped = self.column_name(right), left, True
            if name is None:
                raise self.fail(expr, "A comparison needs a column name on one side")
            value = self.value(other)
            if flipped:
                if api in ("$in", "$nin"):
                    raise self.fail(expr, "Write 'column in [values]', not 'value in column'")
                api = _FLIP[api]
            if api in ("$eq", "$ne") and isinstance(value, list):
                api = "$in" if api == "$eq" else "$nin"
            if value is None and api in ("$eq", "$ne"):
                pieces.append(self.condition(expr, name, {"$exists": api == "$ne"}))
                continue
            pieces.append(self.comparison(expr, name, api, value))
        return pieces[0] if len(pieces) == 1 else AllOf(tuple(pieces))

    def comparison(self, at: ast.AST, name: str, api: str, value: Any) -> Node:
        """One comparison as ``DataFrame.query`` reads it: ``!=`` on numbers, booleans and
        dates keeps no missing value; a missing value in an ``in`` list matches missing rows.
        """
        if api in ("$in", "$nin") and isinstance(value, list) and any(map(_is_missing, value)):
            present = [v for v in value if not _is_missing(v)]
            empty = self.condition(at, name, {"$exists": api == "$nin"})
            if not present:
                return empty
            rest = self.condition(at, name, {api: present})
            _warn_typos(rest, self.text)
            return AnyOf((rest, empty)) if api == "$in" else AllOf((rest, empty))
        condition = self.condition(at, name, {api: value})
        _warn_typos(condition, self.text)
        if api == "$ne" and _FAMILY.get(condition.part.type) in _KLEENE:
            (checked,) = (v for _, v in condition.ops)
            ops = _not_equal(condition.part.type, checked)
            return Condition(condition.column, condition.part, ops)
        return condition

    def call(self, expr: ast.Call) -> Node:
        func = expr.func
        if not isinstance(func, ast.Attribute):
            raise self.fail(expr, "Only column methods can be called")
        method = func.attr
        target = func.value
        if any(k.arg is None for k in expr.keywords):
            raise self.fail(expr, "**keywords cannot be read: pass each argument by name")
        args = [self.value(a) for a in expr.args]
        kwargs = {str(k.arg): self.value(k.value) for k in expr.keywords}
        if len(kwargs) < len(expr.keywords):
            raise self.fail(expr, "An argument is given twice by name")
        if isinstance(target, ast.Attribute) and target.attr == "str":
            name = self.column_name(target.value)
            if name is None or method not in _STR_METHODS:
                if name is not None:
                    raise self.fail(expr, f"Unsupported string method .str.{method}")
                raise self.fail(expr, f"Use column.str.{method}('text')")
            bound = self.bind(expr, f".str.{method}", _STR_METHODS[method], args, kwargs)
            return self.string_match(expr, name, method, bound)
        name = self.column_name(target)
        if name is None:
            raise self.fail(expr, "Only column methods can be called")
        return self.column_method(expr, name, method, args, kwargs)

    def column_method(
        self, expr: ast.Call, name: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Node:
        """``column.isna()``, ``.isin(values)``, ``.between(left, right)``, ``.within(p)``."""
        if method in ("isna", "isnull", "notna", "notnull"):
            self.bind(expr, f".{method}", (), args, kwargs)
            return self.condition(expr, name, {"$exists": method.startswith("not")})
        if method == "isin":
            bound = self.bind(expr, ".isin", (("values", _REQUIRED),), args, kwargs)
            return self.comparison(expr, name, "$in", bound["values"])
        if method == "between":
            params = (("left", _REQUIRED), ("right", _REQUIRED), ("inclusive", "both"))
            bound = self.bind(expr, ".between", params, args, kwargs)
            ops = _BETWEEN.get(bound["inclusive"]) if isinstance(bound["inclusive"], str) else None
            if ops is None:
                raise self.fail(
                    expr,
                    f"inclusive={bound['inclusive']!r}: use 'both', 'neither', 'left' or 'right'",
                )
            return self.condition(expr, name, {ops[0]: bound["left"], ops[1]: bound["right"]})
        if method == "within":
            bound = self.bind(expr, ".within", (("period", _REQUIRED),), args, kwargs)
            return self.condition(expr, name, {"$within": bound["period"]})
        raise self.fail(expr, f"Unsupported method .{method}()")

    def bind(
        self,
        expr: ast.Call,
        method: str,
        params: tuple[tuple[str, Any], ...],
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """Arguments bound to pandas' parameters (positional or by name), as pandas binds
        them; an argument bspandas cannot honour is an error, never dropped."""
        names = [p for p, _ in params]
        signature = f"{method}({', '.join(names)})"
        if len(args) > len(params):
            raise self.fail(expr, f"{method}() takes at most {len(params)} arguments: {signature}")
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise self.fail(
                    expr, f"{method}() has no argument {key}= that bspandas can send: {signature}"
                )
            if key in bound:
                raise self.fail(expr, f"{method}() got {key} twice")
            bound[key] = value
        for key, default in params:
            if key not in bound:
                if default is _REQUIRED:
                    raise self.fail(expr, f"{method}() needs {key}: {signature}")
                bound[key] = default
        return bound

    def string_match(self, expr: ast.Call, name: str, method: str, bound: dict[str, Any]) -> Node:
        """``column.str.<method>(...)`` as one ``$regex`` (RE2 syntax, unanchored search),
        with every pandas argument honoured: ``case``/``flags`` (only ``re.IGNORECASE``),
        ``regex``, and ``na`` (``True``: missing values match too)."""
        pattern = self.with_case(expr, self.match_pattern(expr, method, bound), bound)
        na = bound.get("na")
        if na is not None and not isinstance(na, bool):
            raise self.fail(expr, f"na= takes True, False or None, got {na!r}")
        matched = self.condition(expr, name, {"$regex": pattern})
        if na is True:  # pandas fills missing values with na: here they match
            return AnyOf((matched, self.condition(expr, name, {"$exists": False})))
        return matched

    def match_pattern(self, expr: ast.Call, method: str, bound: dict[str, Any]) -> str:
        """The pattern of ``.str.<method>(pat, regex=...)``, anchored as the method is."""
        pat = bound["pat"]
        if method in ("startswith", "endswith") and isinstance(pat, list):
            if not pat or not all(isinstance(p, str) for p in pat):
                raise self.fail(expr, f"Use column.str.{method}('text') or a tuple of texts")
            text = "|".join(re.escape(p) for p in pat)
            pattern = f"^(?:{text})" if method == "startswith" else f"(?:{text})$"
        elif not isinstance(pat, str):
            raise self.fail(expr, f"Use column.str.{method}('text')")
        elif method == "startswith":
            pattern = f"^{re.escape(pat)}"
        elif method == "endswith":
            pattern = f"{re.escape(pat)}$"
        else:
            regex = bound.get("regex", True)
            if not isinstance(regex, bool):
                raise self.fail(expr, f"regex= takes True or False, got {regex!r}")
            text = pat if regex else re.escape(pat)
            pattern = {
                "contains": text,
                "match": f"^(?:{text})",
                "fullmatch": f"^(?:{text})$",
            }[method]
        return pattern

    def with_case(self, expr: ast.Call, pattern: str, bound: dict[str, Any]) -> str:
        """``case=False`` or ``flags=re.IGNORECASE`` written into the pattern as ``(?i)``."""
        case, flags = bound.get("case", True), bound.get("flags", 0)
        if not isinstance(case, bool):
            raise self.fail(expr, f"case= takes True or False, got {case!r}")
        if isinstance(flags, bool) or not isinstance(flags, int) or flags not in (0, re.I):
            raise self.fail(
                expr,
                f"flags={flags!r} cannot be sent to the Query API: only 0 and re.IGNORECASE "
                f"({int(re.I)}) can; or write the flag into the pattern",
            )
        if case is False or flags == re.I:
            pattern = f"(?i){pattern}"
        return pattern

    def value(self, expr: ast.expr, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _too_deep("where= string")
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.List | ast.Tuple | ast.Set):
            return [self.value(e, depth + 1) for e in expr.elts]
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
            inner = self.value(expr.operand, depth + 1)
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                return -inner if isinstance(expr.op, ast.USub) else inner
        if isinstance(expr, ast.Name):
            if expr.id.startswith(_LOCAL):
                return self.variable(expr)
            if expr.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[expr.id]
        raise self.fail(expr, "Expected a literal (number, string, list) or an @variable")

    def variable(self, expr: ast.Name) -> Any:
        """The value of ``@name``, from :attr:`variables`."""
        key = expr.id[len(_LOCAL) :]
        if key not in self.variables:
            raise self.fail(expr, f"The variable @{key} is not defined")
        self.used.add(key)
        try:
            return _as_values(self.variables[key])
        except InvalidFilterError as exc:
            raise self.fail(expr, f"@{key}: {exc}".rstrip(".")) from None


def parse_where(text: str, obj: str, *, variables: Mapping[str, Any] | None = None) -> Node:
    """Parse a pandas-query style expression into a filter tree (nothing is evaluated).

    The expression is read with :mod:`ast`: comparisons (``==``, ``!=``, ``<``..., chained
    ``a < x < b``), ``in``/``not in``, ``and``/``or``/``not`` and ``&``/``|``/``~``, and the
    column methods ``isna``/``notna``, ``isin``, ``between``, ``within(period)`` and
    ``str.contains``/``match``/``fullmatch``/``startswith``/``endswith`` with pandas'
    arguments. Missing values behave as in ``DataFrame.query`` (``!=`` on a number keeps no
    missing value). Several conditions on one attribute inside an ``and`` become one clause.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"ootb_churn_risk_score >= 70 and industry in ['A', 'B']"``.
    obj : str
        The object whose columns the expression names (``"account"``...).
    variables : mapping, optional
        The values ``@name`` reads (lists, arrays, ``Series``... become lists of values).

    Returns
    -------
    Condition, AllOf or AnyOf
        The checked filter tree.

    Raises
    ------
    bspandas.InvalidFilterError
        An empty or invalid expression, an unsupported construct or argument, a value of
        the wrong type, an undefined ``@name``, or nesting deeper than 64 levels.
    bspandas.UnknownMetricError
        A column the catalog does not know (with the close names).

    Warns
    -----
    bspandas.PossibleTypoWarning
        An enumeration compared with a likely typo of one of its values.

    Examples
    --------
    >>> str(parse_where("industry == 'Retail' and ootb_churn_risk_score != 5", "account"))
    "industry == 'Retail' and ootb_churn_risk_score != 5 and ootb_churn_risk_score.notna()"
    >>> parse_where("ootb_churn_risk_score > @low", "account", variables={"low": 70}).to_api()
    {'attribute': {'slug': 'ootb_churn_risk_score'}, 'clause': {'$gt': 70}}
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidFilterError("where= must be a non-empty string.")
    return _WhereParser(text, obj, variables or {}).parse()
