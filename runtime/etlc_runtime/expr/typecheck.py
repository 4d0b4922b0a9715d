"""Compile-time checking: names, types, arity and aggregate placement."""
from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping

from . import ast as A
from . import casts, const_casts, zone_text
from .errors import ExprError
from .fn_base import NOT_CONST
from .functions import AGGREGATES, FUNCTIONS, WINDOW_AGGREGATES
from .types import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    UNKNOWN,
    Type,
    arith_result,
    comparable,
    decimal,
    is_temporal,
    unify,
)

CONTEXTS = ("row", "filter", "aggregate", "having", "metric", "qualify")
WINDOW_CONTEXTS = ("row", "qualify")  # derive and qualify: a window is a row value there


def _suggest(name: str, options) -> str | None:
    options = list(options)
    lower = {o.lower(): o for o in options}
    if name.lower() in lower:
        return f"did you mean '{lower[name.lower()]}'?"
    m = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"did you mean '{m[0]}'?" if m else None


def _literal_type(e: A.Literal) -> Type:
    if e.kind == "decimal":
        exp = e.value.as_tuple().exponent
        return decimal(max(0, -exp) if isinstance(exp, int) else 0)
    return {"int": INT, "float": FLOAT, "string": STRING, "bool": BOOL, "null": NULL,
            "date": DATE, "timestamp": TIMESTAMP, "interval": Type("interval")}[e.kind]


def _temporal_literal_ok(e: A.Expr, target: Type) -> bool:
    """A string literal compared with a date/timestamp is read as one (as in SQL)."""
    if not (isinstance(e, A.Literal) and e.kind == "string"):
        return False
    try:
        if target.name == "date":
            dt.date.fromisoformat(e.value)
        else:
            dt.datetime.fromisoformat(e.value)
        return True
    except ValueError:
        return False


class Checker:
    def __init__(self, columns: Mapping[str, Type] | None, params: Mapping[str, Type] | None,
                 context: str, group_keys=(), outputs: Mapping[str, Type] | None = None):
        if context not in CONTEXTS:
            raise ValueError(f"context must be one of {CONTEXTS}, not {context!r}")
        self.columns = columns
        self.params = params
        self.context = context
        self.group_keys = set(group_keys or ())
        self.key_order = list(dict.fromkeys(group_keys or ()))
        # `having` outside an aggregate function sees the step's aggregate outputs (as
        # DuckDB, Snowflake, BigQuery and MySQL do); inside one, the input columns
        self.outputs = dict(outputs or {}) if context == "having" else {}
        self.errors: list[ExprError] = []
        self.types: dict[int, Type] = {}

    def err(self, code, message, node_or_span, help=None):
        if isinstance(node_or_span, tuple):
            s, e = node_or_span
        else:
            s, e = node_or_span.start, node_or_span.end
        self.errors.append(ExprError(code, message, s, e, help))

    def check(self, e: A.Expr) -> Type:
        t = self.visit(e, None)
        if t.name == "interval" and self.context in ("row", "aggregate", "metric"):
            self.err("E405", "an interval is not a column type", e,
                     "take its length with epoch(...) (seconds), or count units with "
                     "date_diff(unit, a, b)")
        if self.context in ("filter", "having", "qualify") and t.name not in ("bool", "null", "unknown"):
            self.err("E405", f"a {self.context} must be a boolean expression, got {t}", e,
                     "compare the value, e.g. x > 0, or test it with 'is not null'")
        return t

    def visit(self, e: A.Expr, agg: A.Call | None) -> Type:
        t = self._visit(e, agg)
        self.types[id(e)] = t
        read = zone_text.read_as(e)
        if read is not None and t.name != "unknown":
            self._zone_text(*read)
        bad = const_casts.literal_error(e) if t.name != "unknown" else None
        if bad is not None:  # E422: a constant no engine casts
            self.errors.append(bad)
        return t

    # ------------------------------------------------------------------------------
    def _visit(self, e: A.Expr, agg) -> Type:
        if isinstance(e, A.Literal):
            return _literal_type(e)
        if isinstance(e, A.Column):
            return self._column(e, agg)
        if isinstance(e, A.Param):
            if self.params is None:
                return UNKNOWN
            if e.name not in self.params:
                hint = _suggest(e.name, self.params)
                self.err("E404", f"unknown parameter '${e.name}'", e,
                         hint.replace("'", "'$", 1) if hint else None)
                return UNKNOWN
            return self.params[e.name]
        if isinstance(e, A.Unary):
            t = self.visit(e.operand, agg)
            if e.op == "not":
                if t.name not in ("bool", "null", "unknown"):
                    self.err("E405", f"'not' needs a bool, got {t}", e.operand)
                    return UNKNOWN
                return BOOL
            if t.name not in ("int", "float", "decimal", "null", "unknown"):
                self.err("E405", f"unary '-' needs a number, got {t}", e.operand)
                return UNKNOWN
            return INT if t.name == "null" else t
        if isinstance(e, A.Binary):
            return self._binary(e, agg)
        if isinstance(e, A.IsNull):
            self.visit(e.operand, agg)
            return BOOL
        if isinstance(e, A.InList):
            t = self.visit(e.operand, agg)
            for item in e.items:
                it = self.visit(item, agg)
                if not self._comparable(e.operand, t, item, it):
                    self.err("E405", f"cannot compare {t} with {it} in 'in'", item)
            return BOOL
        if isinstance(e, A.Between):
            t = self.visit(e.operand, agg)
            for b in (e.low, e.high):
                bt = self.visit(b, agg)
                if not self._comparable(e.operand, t, b, bt):
                    self.err("E405", f"cannot compare {t} with {bt} in 'between'", b)
            return BOOL
        if isinstance(e, A.Call):
            return self._call(e, agg)
        if isinstance(e, A.Cast):
            return self._cast(e, agg)
        if isinstance(e, A.Case):
            return self._case(e, agg)
        if isinstance(e, A.Window):
            return self._window(e, agg)
        raise TypeError(f"not an expression node: {e!r}")  # pragma: no cover

    def _column(self, e: A.Column, agg) -> Type:
        if agg is None and e.name in self.outputs:
            return self.outputs[e.name]
        if self.columns is not None and e.name not in self.columns:
            self.err("E402", f"unknown column '{e.name}'", e, self._unknown_hint(e.name, agg))
            return UNKNOWN
        if agg is None and self.context in ("aggregate", "having", "metric") \
                and e.name not in self.group_keys:
            if self.context == "metric":
                self.err("E408", f"column '{e.name}' must be inside an aggregate function in a "
                                 f"metric", e, f"e.g. sum({e.name}) or first({e.name})")
            elif self.context == "having":
                self.err("E408", f"column '{e.name}' is neither a group key, an aggregate output "
                                 f"nor inside an aggregate function", e,
                         self._having_names() + f"; or aggregate it, e.g. first({e.name})")
            else:
                self.err("E408", f"column '{e.name}' is neither a group key nor inside an "
                                 f"aggregate function", e,
                         f"add '{e.name}' to group_by or aggregate it, e.g. first({e.name})")
        if self.columns is None:
            return UNKNOWN
        return self.columns[e.name]

    def _having_names(self) -> str:
        names = list(self.outputs) + [k for k in self.key_order if k not in self.outputs]
        return ("having can name the aggregate outputs and group keys: " + ", ".join(names)) if names \
            else "having can name the group keys"

    def _unknown_hint(self, name: str, agg) -> str | None:
        """In `having`, outside an aggregate: the outputs and keys come before any source column."""
        if self.context != "having" or agg is not None:
            return _suggest(name, self.columns)
        named = list(self.outputs) + self.key_order
        near = _suggest(name, named)
        sources = [c for c in self.columns or () if c not in named]
        listing = self._having_names()
        if sources:
            more = f", ... ({len(sources) - 8} more)" if len(sources) > 8 else ""
            listing += "; source columns only inside an aggregate function: " + ", ".join(sources[:8]) + more
        return f"{near} {listing}" if near else listing

    def _comparable(self, le, lt: Type, re_, rt: Type) -> bool:
        if comparable(lt, rt):
            return True
        for text, other in ((re_, lt), (le, rt)):
            if is_temporal(other) and _temporal_literal_ok(text, other):
                self._zone_text(text, other.name)
                return True
        return False

    def _zone_text(self, node: A.Expr, target: str) -> None:
        """E419: a string constant with a UTC offset read as a zone-less timestamp or date."""
        err = zone_text.literal_error(node, target) if target in zone_text.ZONELESS else None
        if err is not None and err not in self.errors:  # `'...' between a and b`: once
            self.errors.append(err)

    def _binary(self, e: A.Binary, agg) -> Type:
        lt = self.visit(e.left, agg)
        rt = self.visit(e.right, agg)
        op = e.op
        if op in ("and", "or"):
            ok = True
            for node, t in ((e.left, lt), (e.right, rt)):
                if t.name not in ("bool", "null", "unknown"):
                    self.err("E405", f"'{op}' needs bools, got {t}", node)
                    ok = False
            return BOOL if ok else UNKNOWN
        if op in ("=", "!=", "<", "<=", ">", ">="):
            if not self._comparable(e.left, lt, e.right, rt):
                blame = e.right
                if lt.name == "vector":
                    blame = e.left
                self.err("E405", f"cannot compare {lt} with {rt}", blame)
                return UNKNOWN
            return BOOL
        if op == "||":
            ok = True
            for node, t in ((e.left, lt), (e.right, rt)):
                if t.name not in ("string", "null", "unknown"):
                    self.err("E405", f"'||' needs strings, got {t}", node,
                             "convert it first: cast(... as string)")
                    ok = False
            return STRING if ok else UNKNOWN
        r = arith_result(op, lt, rt)
        if isinstance(r, str):
            side, msg = r.split(": ", 1)
            self.err("E405", msg, e.left if side == "left" else e.right)
            return UNKNOWN
        return r

    def _call(self, e: A.Call, agg) -> Type:
        f = FUNCTIONS.get(e.name)
        if f is None:
            self.err("E403", f"unknown function '{e.name}'", (e.start, e.name_end),
                     _suggest(e.name, FUNCTIONS))
            for a in e.args:
                self.visit(a, agg)
            return UNKNOWN
        if f.window and not getattr(self, "_in_window", False):
            self.err("E407", f"{e.name}() is a window function: write {e.name}(...) over "
                             f"(partition by ... order by ...)", e)
            return UNKNOWN
        inner_agg = agg
        if f.aggregate and getattr(self, "_in_window", False):
            pass  # an aggregate over a window: a row value
        elif f.aggregate:
            if self.context in ("row", "filter", "qualify"):
                self.err("E407", f"aggregate function '{e.name}' is not allowed in a "
                                 f"{self.context} expression", e,
                         f"aggregates belong in aggregate, having and metrics (or over a "
                         f"window: {e.name}(...) over (...))" if self.context == "qualify"
                         else "aggregates belong in aggregate, having and metrics")
            elif agg is not None:
                self.err("E407", f"aggregate function '{e.name}' inside another aggregate "
                                 f"'{agg.name}'", e)
            inner_agg = e
        if e.star and not f.star:
            self.err("E406", f"{e.name}(*) is not allowed; only count(*)", e)
            return UNKNOWN
        n = len(e.args)
        arg_types = [self.visit(a, inner_agg) for a in e.args]
        if e.star:
            return INT
        if n < f.min_args or (f.max_args is not None and n > f.max_args):
            if f.min_args == f.max_args:
                want = f"{f.min_args} argument{'s' if f.min_args != 1 else ''}"
            elif f.max_args is None:
                want = f"at least {f.min_args} argument{'s' if f.min_args != 1 else ''}"
            else:
                want = f"{f.min_args} to {f.max_args} arguments"
            if e.name == "count" and n == 0:
                want = "one argument or *"
            self.err("E406", f"{e.name}() takes {want}, got {n}", e, f.signature)
            return UNKNOWN
        consts = [a.value if isinstance(a, A.Literal) else NOT_CONST for a in e.args]
        r = f.resolve(arg_types, consts)
        if isinstance(r, tuple):
            i, msg, code = (*r, "E405")[:3]  # a rule may name its own code (E418, E421)
            self.err(code, f"{e.name}(): {msg}", e.args[i], f.signature)
            return UNKNOWN
        if r.name == "unknown" and not any(t.name == "unknown" for t in arg_types):
            return NULL  # e.g. abs(null): always null
        return r

    def _window(self, e: A.Window, agg) -> Type:
        f = FUNCTIONS.get(e.func.name)
        if self.context not in WINDOW_CONTEXTS or agg is not None:
            self.err("E407", f"window function '{e.func.name}' is only allowed in derive and "
                             f"qualify", e, "filter on a window with qualify, or compute it in "
                             "derive and aggregate the column in a later step")
        if f is not None and not f.window and e.func.name not in WINDOW_AGGREGATES:
            self.err("E403", f"'{e.func.name}' is not a window function", (e.start, e.func.name_end),
                     "window functions: " + ", ".join(sorted(
                         [n for n, g in FUNCTIONS.items() if g.window] + list(WINDOW_AGGREGATES))))
            return UNKNOWN
        for p in e.partition:
            self.visit(p, None)
        for o, _ in e.order:
            ot = self.visit(o, None)
            if ot.name == "vector":
                self.err("E405", f"cannot order by {ot}", o)
        self._in_window = True
        try:
            t = self.visit(e.func, None)
        finally:
            self._in_window = False
        if e.func.name in ("min", "max") and e.order and t.name not in (
                "int", "float", "decimal", "date", "timestamp", "timestamptz", "unknown", "null"):
            self.err("E405", f"a running {e.func.name} (with an order) needs numbers, dates or "
                             f"timestamps, got {t}", e.func)
            return UNKNOWN
        return t

    def _case(self, e: A.Case, agg) -> Type:
        ot = self.visit(e.operand, agg) if e.operand is not None else None
        res, ok = NULL, True
        results = [r for _, r in e.whens] + ([e.default] if e.default is not None else [])
        for w, _ in e.whens:
            wt = self.visit(w, agg)
            if ot is None and wt.name not in ("bool", "null", "unknown"):
                self.err("E405", f"a 'when' condition must be a bool, got {wt}", w)
                ok = False
            elif ot is not None and not self._comparable(e.operand, ot, w, wt):
                self.err("E405", f"cannot compare {ot} with {wt} in 'case'", w)
                ok = False
        for r in results:
            rt = self.visit(r, agg)
            u = unify(res, rt)
            if u is None:
                self.err("E405", f"'case' results have different types: {res} and {rt}", r)
                ok = False
            else:
                res = u
        return res if ok else UNKNOWN

    def _cast(self, e: A.Cast, agg) -> Type:
        t = self.visit(e.operand, agg)
        target = e.target
        tt = Type(target.name, target.scale) if target.name == "decimal" else Type(target.name)
        if not casts.allowed(t.name, tt.name):
            self.err("E405", f"cannot cast {t} to {tt}", e.operand,
                     "docs/types.md, 'Casts', lists the casts")
            return UNKNOWN
        return tt


def infer(expr: A.Expr, columns, params, context: str = "row", group_keys=(), outputs=None):
    """(result type, errors, {id(node): Type}) - the evaluators use the node types."""
    c = Checker(columns, params, context, group_keys, outputs)
    t = c.check(expr)
    return t, c.errors, c.types


def check(expr: A.Expr, columns: Mapping[str, Type] | None, params: Mapping[str, Type] | None,
          context: str = "row", group_keys=(),
          outputs: Mapping[str, Type] | None = None) -> tuple[Type, list[ExprError]]:
    """Type-check an expression.

    columns: the known columns and their types, or None when unknown (column checks are
    skipped and column types are ``unknown``).  params: the ``$params`` and their types.
    context: ``row`` (derive), ``filter`` (must be bool), ``aggregate`` (aggregate
    functions allowed; bare columns must be group keys), ``having`` (as aggregate, and must
    be bool; outside aggregate functions it may also name ``outputs``, the step's aggregate
    outputs, which win over an input column of the same name), ``metric`` (aggregate over
    the whole output; no bare columns) or ``qualify`` (must be bool; window functions
    allowed, aggregates only over a window).
    Returns the result type and every error found (the type is ``unknown`` where errors
    leave it undetermined)."""
    t, errors, _ = infer(expr, columns, params, context, group_keys, outputs)
    errors.sort(key=lambda x: (x.start, x.end))
    return t, errors


def columns_used(expr: A.Expr) -> set[str]:
    return {n.name for n in A.walk(expr) if isinstance(n, A.Column)}


def params_used(expr: A.Expr) -> set[str]:
    return {n.name for n in A.walk(expr) if isinstance(n, A.Param)}


def is_aggregate(expr: A.Expr) -> bool:
    """Whether the expression contains an aggregate function call."""
    under_window = {id(n.func) for n in A.walk(expr) if isinstance(n, A.Window)}
    return any(isinstance(n, A.Call) and n.name in AGGREGATES and id(n) not in under_window
               for n in A.walk(expr))


def has_window(expr: A.Expr) -> bool:
    """Whether the expression holds a window function (it needs every row of a partition)."""
    return any(isinstance(n, A.Window) for n in A.walk(expr))

