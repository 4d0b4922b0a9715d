"""The expression AST: frozen dataclasses with 0-based [start, end) character spans.

The AST is independent of any dataframe library; the pandas/Dask evaluators and the
SQL renderer all walk the same tree.  ``unparse`` renders a tree back to canonical
etlc text (used in error messages and for round-trip tests).
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "Between",
    "Binary",
    "Call",
    "Case",
    "Cast",
    "Column",
    "Expr",
    "InList",
    "Interval",
    "IsNull",
    "Literal",
    "Param",
    "TypeSpec",
    "Unary",
    "Window",
    "unparse",
    "walk",
]


@dataclass(frozen=True)
class TypeSpec:
    """A type written in ``cast(x as <type>)``: a name and, for decimals, a scale."""

    name: str
    scale: int | None = None
    precision: int | None = None


@dataclass(frozen=True)
class Interval:
    """The value of ``interval '...'``: months, days and microseconds, kept apart as DuckDB
    does (a month is not a fixed number of days)."""

    months: int = 0
    days: int = 0
    micros: int = 0

    def text(self) -> str:
        parts = [(self.months, "months"), (self.days, "days"), (self.micros, "microseconds")]
        return " ".join(f"{n} {u}" for n, u in parts if n) or "0 seconds"


@dataclass(frozen=True)
class Literal:
    """A constant.  ``kind`` is one of int decimal float string bool null date timestamp.

    ``value`` is the Python value (int, decimal.Decimal, float, str, bool, None,
    datetime.date, datetime.datetime); ``text`` keeps numeric literals as written.
    """

    kind: str
    value: object
    start: int = field(default=0, compare=True)
    end: int = 0
    text: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Param:
    name: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Unary:
    """``op`` is ``-`` or ``not``."""

    op: str
    operand: Expr
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Binary:
    """Arithmetic ``+ - * / %``, concatenation ``||``, comparisons ``= != < <= > >=``
    (``==`` is stored as ``=`` and ``<>`` as ``!=``), and logic ``and`` / ``or``."""

    op: str
    left: Expr
    right: Expr
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class IsNull:
    operand: Expr
    negated: bool = False
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Call:
    """A function call; ``name`` is lower-cased; ``star`` marks ``count(*)``.
    ``name_end`` is where the function name ends (the span of an unknown function)."""

    name: str
    args: tuple[Expr, ...]
    star: bool = False
    start: int = 0
    end: int = 0
    name_end: int = 0


@dataclass(frozen=True)
class Cast:
    operand: Expr
    target: TypeSpec
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Case:
    """``case [operand] when a then x ... [else y] end``: ``whens`` holds (condition or
    value, result) pairs; ``operand`` is None for the searched form."""

    operand: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None = None
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Window:
    """``f(...) over (partition by ... order by x [desc], ...)``: ``order`` holds
    (expression, descending) pairs; nulls sort last either way (DuckDB's default)."""

    func: Call
    partition: tuple[Expr, ...] = ()
    order: tuple[tuple[Expr, bool], ...] = ()
    start: int = 0
    end: int = 0


Expr = (Literal | Column | Param | Unary | Binary | IsNull | InList | Between | Call | Cast | Case
        | Window)


def children(e: Expr) -> tuple:
    if isinstance(e, (Literal, Column, Param)):
        return ()
    if isinstance(e, (Unary, IsNull, Cast)):
        return (e.operand,)
    if isinstance(e, Binary):
        return (e.left, e.right)
    if isinstance(e, InList):
        return (e.operand, *e.items)
    if isinstance(e, Between):
        return (e.operand, e.low, e.high)
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Window):
        return (e.func, *e.partition, *(o for o, _ in e.order))
    if isinstance(e, Case):
        out = [] if e.operand is None else [e.operand]
        for w, r in e.whens:
            out += [w, r]
        return (*out, *(() if e.default is None else (e.default,)))
    raise TypeError(f"not an expression node: {e!r}")


def walk(e: Expr) -> Iterator[Expr]:
    """Pre-order traversal of every node."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


# -- unparse -----------------------------------------------------------------------

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "||": 5, "+": 6, "-": 6,
         "*": 7, "/": 7, "//": 7, "%": 7, "neg": 8, "atom": 9}
_KEYWORDS = {"and", "or", "not", "is", "in", "between", "null", "true", "false", "cast", "as",
             "case", "when", "then", "else", "end", "like", "ilike"}


def _infix_like(e: Expr) -> bool:
    """``s like p`` is a call of like/ilike written between its operands."""
    return isinstance(e, Call) and e.name in ("like", "ilike") and len(e.args) == 2


def _prec(e: Expr) -> int:
    if isinstance(e, Binary):
        if e.op in ("=", "!=", "<", "<=", ">", ">="):
            return _PREC["cmp"]
        return _PREC[e.op]
    if isinstance(e, Unary):
        return _PREC["not"] if e.op == "not" else _PREC["neg"]
    if isinstance(e, (IsNull, InList, Between)):
        return _PREC["cmp"]
    if _infix_like(e):
        return _PREC["cmp"]
    if isinstance(e, Literal) and e.kind in ("int", "decimal", "float") and str(e.text).startswith("-"):
        return _PREC["neg"]
    return _PREC["atom"]


def quote_name(name: str) -> str:
    import re
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() not in _KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def _lit_text(e: Literal) -> str:
    if e.kind == "string":
        return "'" + str(e.value).replace("'", "''") + "'"
    if e.kind == "null":
        return "null"
    if e.kind == "bool":
        return "true" if e.value else "false"
    if e.kind == "date":
        return f"date '{e.value.isoformat()}'"
    if e.kind == "timestamp":
        return f"timestamp '{e.value.isoformat(sep=' ')}'"
    if e.kind == "interval":
        return f"interval '{e.value.text()}'"
    return e.text or repr(e.value)


def unparse(e: Expr) -> str:
    """Canonical text of an expression; ``parse(unparse(e))`` gives an equal tree
    (up to spans)."""

    def sub(child: Expr, min_prec: int) -> str:
        s = unparse(child)
        return f"({s})" if _prec(child) < min_prec else s

    if isinstance(e, Literal):
        return _lit_text(e)
    if isinstance(e, Column):
        return quote_name(e.name)
    if isinstance(e, Param):
        return "$" + e.name
    if isinstance(e, Unary):
        if e.op == "not":
            return "not " + sub(e.operand, _PREC["not"])
        return "-" + sub(e.operand, _PREC["neg"] + 1 if isinstance(e.operand, Unary) else _PREC["neg"])
    if isinstance(e, Binary):
        p = _prec(e)
        if p == _PREC["cmp"]:
            return f"{sub(e.left, p + 1)} {e.op} {sub(e.right, p + 1)}"
        return f"{sub(e.left, p)} {e.op} {sub(e.right, p + 1)}"
    if isinstance(e, IsNull):
        return f"{sub(e.operand, _PREC['cmp'] + 1)} is {'not ' if e.negated else ''}null"
    if isinstance(e, InList):
        items = ", ".join(unparse(i) for i in e.items)
        return f"{sub(e.operand, _PREC['cmp'] + 1)} {'not ' if e.negated else ''}in ({items})"
    if isinstance(e, Between):
        c = _PREC["cmp"] + 1
        return (f"{sub(e.operand, c)} {'not ' if e.negated else ''}between "
                f"{sub(e.low, c)} and {sub(e.high, c)}")
    if _infix_like(e):
        c = _PREC["cmp"] + 1
        return f"{sub(e.args[0], c)} {e.name} {sub(e.args[1], c)}"
    if isinstance(e, Call):
        if e.star:
            return f"{e.name}(*)"
        return f"{e.name}({', '.join(unparse(a) for a in e.args)})"
    if isinstance(e, Window):
        spec = []
        if e.partition:
            spec.append("partition by " + ", ".join(unparse(p) for p in e.partition))
        if e.order:
            spec.append("order by " + ", ".join(unparse(o) + (" desc" if d else "")
                                                for o, d in e.order))
        return f"{unparse(e.func)} over ({' '.join(spec)})"
    if isinstance(e, Case):
        head = "case" if e.operand is None else f"case {sub(e.operand, _PREC['||'])}"
        whens = " ".join(f"when {unparse(w)} then {unparse(r)}" for w, r in e.whens)
        tail = f" else {unparse(e.default)}" if e.default is not None else ""
        return f"{head} {whens}{tail} end"
    if isinstance(e, Cast):
        t = e.target
        tn = t.name
        if t.name == "decimal" and t.scale is not None:
            tn = f"decimal({t.precision or 18}, {t.scale})"
        return f"cast({unparse(e.operand)} as {tn})"
    raise TypeError(f"not an expression node: {e!r}")


_ = _dt  # datetime values appear in Literal.value
