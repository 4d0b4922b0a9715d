"""The pandas evaluator: one expression tree over one frame, node by node, with SQL semantics
(three-valued logic, nulls through operators, DuckDB's arithmetic).  Functions are looked
up in the tables of the ``pandas_fn_*`` modules (and ``pandas_tz``, ``pandas_json``); casts
are ``pandas_cast``'s."""
from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import ast as A
from . import (
    pandas_fn_dates,
    pandas_fn_numbers,
    pandas_fn_text,
    pandas_json,
    pandas_nan,
    pandas_tz,
)
from .errors import EvalError
from .pandas_branches import branch_args
from .pandas_cast import cast_series
from .pandas_columns import (
    TEMPORAL,
    coerce,
    is_series,
    pandas_dtype,
    param_value,
    to_python,
    utc_stamp,
)
from .pandas_decimal import int_operand, wide_literal
from .pandas_fn_dates import as_timedelta, interval_arith
from .pandas_fn_numbers import case, int_div
from .pandas_numeric import dec_mod, float_arith, float_values, int_wrapped, snap
from .pandas_window import window
from .types import NULL, UNKNOWN, Type

__all__ = ["FUNCS", "Evaluator", "as_expr"]

FUNCS = {**pandas_fn_numbers.FUNCS, **pandas_fn_dates.FUNCS, **pandas_fn_text.FUNCS,
         **pandas_tz.FUNCS, **pandas_json.FUNCS}
# functions that see null arguments (they do not simply return null for one)
NULL_AWARE = frozenset({"if", "coalesce", "greatest", "least", "nullif", "concat", "concat_ws"})
# functions whose first argument, a constant unit, stays a scalar
UNIT_FIRST = frozenset({"date_trunc", "date_diff"})


def as_expr(expr) -> A.Expr:
    if isinstance(expr, str):   # lark only for text: the engines hand over trees
        from .parser import parse

        return parse(expr)
    return expr


class Evaluator:
    """One expression over one frame: ``ev(e)`` gives a Series, or a scalar for a constant
    (None for null); every function and operator works on whole columns."""

    def __init__(self, df: pd.DataFrame, params: Mapping[str, Any], node_types: dict,
                 col_types: Mapping[str, Type], text: str, agg_values: dict | None = None):
        self.df = df
        self.index = df.index
        self.n = len(df)
        self.params = params or {}
        self.T = node_types
        self.col_types = col_types
        self.text = text
        self.agg_values = agg_values or {}
        self._cols: dict[str, pd.Series] = {}
        self.constant = False  # inside scalar_apply: a failing value is no row's

    # utilities ------------------------------------------------------------------------
    def fail(self, message: str, value: Any = None, row: Any = None) -> EvalError:
        """``row``: the offending row's index label (its position in the step's relation);
        None for a constant."""
        return EvalError(message + (f": {value!r}" if value is not None else ""), self.text,
                         value, row=None if row is None or self.constant else int(row))

    def typ(self, e: A.Expr) -> Type:
        return self.T.get(id(e), UNKNOWN)

    def series(self, v: Any, t: Type) -> pd.Series:
        """Materialise a value (scalar or Series) as a Series of t's dtype."""
        if is_series(v):
            return coerce(v, t) if t.name not in ("null", "unknown", "vector") else v
        if t.name in TEMPORAL and v is not None:
            v = utc_stamp(v)
        dtype = pandas_dtype(t)
        if v is None:
            v = None if dtype is object else (pd.NaT if t.name in TEMPORAL else pd.NA)
        elif dtype == "Float64":   # a NaN constant stays NaN, never null
            return float_values(np.float64(v), False, self.index)
        return pd.Series(v, index=self.index, dtype=dtype)

    def scalar_apply(self, fn, args: list, types: list[Type], result: Type,
                     first_only: bool = False):
        """Evaluate fn on all-scalar arguments through the Series code path (so scalars
        and columns share one implementation), returning a scalar.  With ``first_only``
        the other arguments stay scalars (function options such as round's digits).
        A constant is evaluated for each row, as a column is: over no rows one that fails is
        no error (null), as on DuckDB (docs/expressions.md, "Error codes")."""
        saved = (self.index, self.n, self.constant)
        self.index, self.n, self.constant = pd.RangeIndex(1), 1, True
        try:
            ser = [self.series(a, t) if (k == 0 or not first_only) else a
                   for k, (a, t) in enumerate(zip(args, types))]
            out = fn(*ser)
        except EvalError:
            if saved[1]:
                raise
            return None
        finally:
            self.index, self.n, self.constant = saved
        if is_series(out) and result.name == "float" \
                and isinstance(out.array, pd.arrays.FloatingArray):   # NaN stays NaN
            first = out.array[0]
            return None if first is pd.NA else float(first)
        if is_series(out):
            return to_python(out.iloc[0], result) if result.name not in TEMPORAL \
                else (None if pd.isna(out.iloc[0]) else pd.Timestamp(out.iloc[0]))
        return out

    def column(self, name: str) -> pd.Series:
        s = self._cols.get(name)
        if s is None:
            if name not in self.df.columns:
                raise self.fail(f"unknown column '{name}'")
            t = self.col_types.get(name, UNKNOWN)
            s = self.df[name]
            if isinstance(s, pd.DataFrame):
                raise self.fail(f"column name '{name}' is not unique")
            s = coerce(s, t)
            self._cols[name] = s
        return s

    # dispatch -------------------------------------------------------------------------
    def ev(self, e: A.Expr):
        try:
            return self._ev(e)
        except EvalError as err:  # the innermost node that failed names its span
            err.at(e.start, e.end)
            if err.expression is None:   # raised by a helper that has no expression
                err.expression = self.text
            raise

    def _ev(self, e: A.Expr):
        if self.T.get(id(e)) == NULL:
            return None  # statically always null (null literal, abs(null), ...)
        if isinstance(e, A.Literal):
            v = e.value
            if e.kind == "decimal":
                wide_literal(v, self.n)
                return float(v)
            if e.kind in TEMPORAL:
                return utc_stamp(v)
            return v
        if isinstance(e, A.Column):
            return self.column(e.name)
        if isinstance(e, A.Param):
            if e.name not in self.params:
                raise self.fail(f"unknown parameter '${e.name}'")
            v = self.params[e.name]
            return param_value(v, self.typ(e))
        if isinstance(e, A.Binary):
            return self.binary(e)
        if isinstance(e, A.Unary):
            return self.unary(e)
        if isinstance(e, A.IsNull):
            v = self.ev(e.operand)
            if not is_series(v):
                return (v is not None) if e.negated else (v is None)
            isna = v.isna().to_numpy()
            res = ~isna if e.negated else isna
            return pd.Series(pd.arrays.BooleanArray(res, np.zeros(len(res), bool)),
                             index=v.index, copy=False)
        if isinstance(e, A.InList):
            return self.in_list(e)
        if isinstance(e, A.Between):
            x = self.ev(e.operand)
            a = self.compare(">=", x, self.ev(e.low), self.typ(e.operand), self.typ(e.low))
            b = self.compare("<=", x, self.ev(e.high), self.typ(e.operand), self.typ(e.high))
            r = self.logic("and", a, b)
            return self.logic_not(r) if e.negated else r
        if isinstance(e, A.Call):
            if id(e) in self.agg_values:
                return self.agg_values[id(e)]
            return self.call(e)
        if isinstance(e, A.Cast):
            return self.cast(e)
        if isinstance(e, A.Case):
            return case(self, e)
        if isinstance(e, A.Window):
            return window(self, e)
        raise TypeError(f"not an expression node: {e!r}")  # pragma: no cover

    # logic ----------------------------------------------------------------------------
    @staticmethod
    def _bool(v):
        if is_series(v):
            if v.dtype != "boolean":
                v = v.astype("boolean")
            return v
        return pd.NA if v is None else bool(v)

    def logic(self, op: str, a, b):
        if not is_series(a) and not is_series(b):
            if op == "and":
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        a, b = self._bool(a), self._bool(b)
        return (a & b) if op == "and" else (a | b)

    def logic_not(self, v):
        if not is_series(v):
            return None if v is None else (not v)
        return ~self._bool(v)

    def unary(self, e: A.Unary):
        v = self.ev(e.operand)
        if e.op == "not":
            return self.logic_not(v)
        if not is_series(v):
            return None if v is None else -v
        if self.typ(e).name == "int":
            self.int_range("neg", v, None, -v)
        return -v

    # comparison -----------------------------------------------------------------------
    def _temporal_operand(self, v, t: Type, other: Type):
        if other.name in TEMPORAL and t.name == "string" and not is_series(v) \
                and v is not None:
            return utc_stamp(v)
        return v

    def compare(self, op: str, a, b, ta: Type, tb: Type):
        a = self._temporal_operand(a, ta, tb)
        b = self._temporal_operand(b, tb, ta)
        if isinstance(a, A.Interval) or isinstance(b, A.Interval):
            a, b = as_timedelta(a), as_timedelta(b)
        if a is None or b is None:
            return None
        fn = _CMP[op]
        if "float" in (ta.name, tb.name):
            r = pandas_nan.compare(fn, a, b)
            if r is not None:
                return r
        if not is_series(a) and not is_series(b):
            return bool(fn(a, b))
        out = fn(a, b)
        arr = out.array
        if isinstance(arr, pd.arrays.BooleanArray):
            return out
        if isinstance(out.dtype, pd.ArrowDtype):
            return out.astype("boolean")
        # numpy bool (datetimes): nulls compared False; put them back as null
        mask = np.zeros(len(out), bool)
        for v in (a, b):
            if is_series(v):
                mask |= v.isna().to_numpy()
        return pd.Series(pd.arrays.BooleanArray(out.to_numpy(dtype=bool), mask),
                         index=out.index, copy=False)

    def in_list(self, e: A.InList):
        x = self.ev(e.operand)
        tx = self.typ(e.operand)
        items = [self.ev(i) for i in e.items]
        if is_series(x) and not any(is_series(i) for i in items):
            vals = [self._temporal_operand(v, self.typ(n), tx) for v, n in zip(items, e.items)]
            has_null = any(v is None for v in vals)
            vals = [v for v in vals if v is not None]
            hit = x.isin(vals).to_numpy(dtype=bool)
            mask = x.isna().to_numpy()
            if has_null:
                mask = mask | ~hit
            r = pd.Series(pd.arrays.BooleanArray(hit, mask), index=x.index, copy=False)
        else:
            r = False
            for v, n in zip(items, e.items):
                r = self.logic("or", r, self.compare("=", x, v, tx, self.typ(n)))
        return self.logic_not(r) if e.negated else r

    # arithmetic -----------------------------------------------------------------------
    def binary(self, e: A.Binary):
        op = e.op
        if op in ("and", "or"):
            a = self.ev(e.left)
            if not is_series(a) and ((op == "and" and a is False) or (op == "or" and a is True)):
                return a  # short cut on constants
            return self.logic(op, a, self.ev(e.right))
        a, b = self.ev(e.left), self.ev(e.right)
        ta, tb = self.typ(e.left), self.typ(e.right)
        if op in _CMP:
            return self.compare(op, a, b, ta, tb)
        tr = self.typ(e)
        if a is None or b is None:
            return None
        if "interval" in (ta.name, tb.name, tr.name):
            return interval_arith(self, op, a, b, ta, tb)
        if not is_series(a) and not is_series(b):
            return self.scalar_apply(lambda x, y: self.arith(op, x, y, ta, tb, tr), [a, b],
                                     [ta, tb], tr)
        return self.arith(op, a, b, ta, tb, tr)

    def arith(self, op: str, a, b, ta: Type, tb: Type, tr: Type):
        if op == "||":
            return a + b
        if op == "//":
            return int_div(self, a, b)
        if tr.name == "date" or (ta.name == "date" and tb.name == "date"):
            return self.date_arith(op, a, b, ta, tb)
        if tr.name == "float":   # "/" always gives a float (types.arith_result)
            return float_arith(op, a, b, (a if is_series(a) else b).index)
        if tr.name == "decimal":   # an int operand as a double: exact or R041
            for v, t in ((a, ta), (b, tb)):
                if t.name == "int":
                    int_operand(v, tr.scale or 0)
        if op == "%":
            if is_series(b):
                b = b.mask(b == 0)
            elif b == 0:
                return self.series(None, tr)
            if tr.name == "decimal":
                return dec_mod(a, b, tr.scale or 0)
            with np.errstate(all="ignore"):
                r = np.fmod(a, b)
        else:
            r = _ARITH[op](a, b)
            if tr.name == "int" and is_series(r):
                self.int_range(op, a, b, r)
        return snap(r, tr.scale or 0) if tr.name == "decimal" else r

    def int_range(self, op: str, a, b, r: pd.Series) -> None:
        """R041 at the first row where int arithmetic wrapped around 64 bits (DuckDB's
        Out of Range error), naming the left operand."""
        k = int_wrapped(op, a, b, r)
        if k is not None:
            raise self.fail("value out of range for int", int(a.iloc[k] if is_series(a)
                                                             else a), r.index[k])

    def date_arith(self, op, a, b, ta, tb):
        if ta.name == "date" and tb.name == "date":
            d = (a - b)
            return (d.dt.days if is_series(d) else d.days)
        if ta.name == "date":
            delta = pd.to_timedelta(b, unit="D") if is_series(b) else pd.Timedelta(days=int(b))
            return a + delta if op == "+" else a - delta
        delta = pd.to_timedelta(a, unit="D") if is_series(a) else pd.Timedelta(days=int(a))
        return b + delta

    # functions -------------------------------------------------------------------------
    def call(self, e: A.Call):
        name = e.name
        impl = FUNCS.get(name)
        if impl is None:
            raise self.fail(f"function '{name}' is not available here")
        args = branch_args(self, e) if name in ("if", "coalesce") and e.args else \
            [self.ev(a) for a in e.args]   # a branch where a row takes it (pandas_branches)
        types = [self.typ(a) for a in e.args]
        tr = self.typ(e)
        if name in NULL_AWARE:
            return impl(self, args, types, tr)
        if any(a is None for a in args):
            return None
        if not args:  # now(), today()
            return impl(self, args, types, tr)
        if not is_series(args[0]) and any(is_series(a) for a in args[1:]) \
                and name not in UNIT_FIRST:
            args[0] = self.series(args[0], types[0])  # constant subject, column options
        if not any(is_series(a) for a in args):
            if any(t.name == "interval" for t in types):  # intervals stay Python values
                return impl(self, args, types, tr)
            return self.scalar_apply(lambda *s: impl(self, list(s), types, tr), args, types, tr,
                                     first_only=True)
        return impl(self, args, types, tr)

    # cast ------------------------------------------------------------------------------
    def cast(self, e: A.Cast):
        v = self.ev(e.operand)
        src = self.typ(e.operand)
        dst = self.typ(e)
        if v is None:
            return None
        digits = getattr(e.target, "precision", None) or 18   # sql.sql_type's default
        if not is_series(v):
            return self.scalar_apply(lambda s: cast_series(self, s, src, dst, digits), [v],
                                     [src], dst)
        return cast_series(self, v, src, dst, digits)


_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}
