"""The numeric, conditional, aggregate and window functions of the expression language: their
types, argument checks and docs (rows of the function table, ``functions``)."""
from __future__ import annotations

from .fn_base import AGG_NULL, NOT_CONST, NUM_NULL, STR_NULL, Function, need
from .types import (
    FLOAT,
    INT,
    UNKNOWN,
    arith_result,
    comparable,
    decimal,
    is_numeric,
    is_open,
    unify,
)

__all__ = ["AGGREGATE", "CONDITIONAL", "NUMERIC", "WINDOW"]


def _numeric_same(args, consts):
    return need(is_numeric, "a number", 0, args[0]) or args[0]


def _to_float(args, consts):
    return need(is_numeric, "a number", 0, args[0]) or FLOAT


def _round(args, consts):
    err = need(is_numeric, "a number", 0, args[0])
    if err:
        return err
    n = 0
    if len(args) == 2:
        err = need(lambda t: t.name == "int", "an int", 1, args[1])
        if err:
            return err
        if consts[1] is NOT_CONST:
            if args[0].name == "decimal":
                return (1, "the digits of round(decimal, n) must be a constant")
        else:
            n = consts[1]
    t = args[0]
    if t.name == "decimal":
        return decimal(max(0, min(t.scale or 0, n if isinstance(n, int) else 0)))
    return t if not is_open(t) else UNKNOWN


def _floor_ceil(args, consts):
    err = need(is_numeric, "a number", 0, args[0])
    if err:
        return err
    t = args[0]
    return decimal(0) if t.name == "decimal" else (t if not is_open(t) else UNKNOWN)


def _if(args, consts):
    err = need(lambda t: t.name == "bool", "a bool (the condition)", 0, args[0])
    if err:
        return err
    u = unify(args[1], args[2])
    if u is None:
        return (2, f"if() branches have different types: {args[1]} and {args[2]}")
    return u


def _coalesce(args, consts):
    u = args[0]
    for i, t in enumerate(args[1:], 1):
        nu = unify(u, t)
        if nu is None:
            return (i, f"coalesce() arguments have different types: {u} and {t}")
        u = nu
    return u


def _count(args, consts):
    return INT


def _sum(args, consts):
    t = args[0]
    err = need(is_numeric, "a number", 0, t)
    if err:
        return err
    return INT if t.name == "null" else (t if t.name != "unknown" else UNKNOWN)


def _mean(args, consts):
    return need(is_numeric, "a number", 0, args[0]) or FLOAT


def _minmax(args, consts):
    err = need(lambda t: t.name != "vector", "a value that can be ordered", 0, args[0])
    return err or args[0]


def _same(args, consts):
    return args[0]


def _rank(args, consts):
    return INT


def _lag(args, consts):
    if len(args) >= 2:
        err = need(lambda t: t.name == "int", "an int (the offset)", 1, args[1])
        if err:
            return err
        if consts[1] is NOT_CONST or (consts[1] is not None and consts[1] < 0):
            return (1, "the offset must be a constant int >= 0")
    if len(args) == 3:
        u = unify(args[0], args[2])
        if u is None:
            return (2, f"the default must have the type of the value ({args[0]}), got {args[2]}")
        return u
    return args[0]


def _sign(args, consts):
    return need(is_numeric, "a number", 0, args[0]) or INT


def _power(args, consts):
    return (need(is_numeric, "a number", 0, args[0]) or need(is_numeric, "a number", 1, args[1])
            or FLOAT)


def _mod(args, consts):
    r = arith_result("%", args[0], args[1])
    if isinstance(r, str):
        side, msg = r.split(": ", 1)
        return (0 if side == "left" else 1, msg)
    return r


def _extreme(args, consts):
    for i, t in enumerate(args):
        if t.name == "vector":
            return (i, f"argument {i + 1} must be a value that can be ordered, got {t}")
    r = _coalesce(args, consts)
    return (r[0], r[1].replace("coalesce()", "the")) if isinstance(r, tuple) else r


def _nullif(args, consts):
    if not comparable(args[0], args[1]):
        return (1, f"cannot compare {args[0]} with {args[1]}")
    return args[0] if args[0].name != "null" else args[1]


NUMERIC = [
    # scalar numeric
    Function("abs", 1, 1, False, _numeric_same, "abs(x: number)", "same type as x", NUM_NULL,
             "absolute value"),
    Function("round", 1, 2, False, _round, "round(x: number, n: int = 0)",
             "same type as x; decimal(min(scale, n)) for a decimal",
             STR_NULL, "round half away from zero to n digits after the point (n may be "
                        "negative); n must be a constant for decimals"),
    Function("floor", 1, 1, False, _floor_ceil, "floor(x: number)",
             "int for int, float for float, decimal(0) for decimal", NUM_NULL,
             "largest integer not greater than x"),
    Function("ceil", 1, 1, False, _floor_ceil, "ceil(x: number)",
             "int for int, float for float, decimal(0) for decimal", NUM_NULL,
             "smallest integer not less than x"),
    Function("sqrt", 1, 1, False, _to_float, "sqrt(x: number)", "float",
             NUM_NULL + "; null when x < 0", "square root"),
    Function("ln", 1, 1, False, _to_float, "ln(x: number)", "float",
             NUM_NULL + "; null when x <= 0", "natural logarithm"),
    Function("exp", 1, 1, False, _to_float, "exp(x: number)", "float", NUM_NULL,
             "e to the power x (inf on overflow)"),
    Function("log10", 1, 1, False, _to_float, "log10(x: number)", "float",
             NUM_NULL + "; null when x <= 0", "base-10 logarithm"),
    Function("power", 2, 2, False, _power, "power(x: number, y: number)", "float",
             STR_NULL + "; null when the result is not a number (a negative x to a "
                         "fractional y)", "x to the power y (inf on overflow and for 0 to a "
                                          "negative power)"),
    Function("mod", 2, 2, False, _mod, "mod(a: number, b: number)", "as a % b", STR_NULL
             + "; null when b is 0", "remainder with the sign of a (the same as a % b)"),
    Function("sign", 1, 1, False, _sign, "sign(x: number)", "int", NUM_NULL,
             "-1, 0 or 1"),
    Function("greatest", 1, None, False, _extreme, "greatest(x1: T, x2: T, ...)",
             "the common type", "ignores nulls; null only when all arguments are null",
             "the largest argument"),
    Function("least", 1, None, False, _extreme, "least(x1: T, x2: T, ...)",
             "the common type", "ignores nulls; null only when all arguments are null",
             "the smallest argument"),
    Function("nullif", 2, 2, False, _nullif, "nullif(a: T, b: T)", "the type of a",
             "null when a = b or a is null; a when b is null", "a, or null where a = b"),
]

CONDITIONAL = [
    # conditionals
    Function("if", 3, 3, False, _if, "if(cond: bool, a: T, b: T)", "the common type of a and b",
             "b when cond is null", "a where cond is true, else b (SQL CASE WHEN)"),
    Function("coalesce", 1, None, False, _coalesce, "coalesce(x1: T, x2: T, ...)",
             "the common type", "null only when all arguments are null",
             "the first argument that is not null"),
]

AGGREGATE = [
    # aggregates
    Function("count", 0, 1, True, _count, "count(*) | count(x: any)", "int",
             "count(*) counts rows; count(x) counts non-null values; 0 for no rows",
             "number of rows / of non-null values", star=True),
    Function("count_distinct", 1, 1, True, _count, "count_distinct(x: any)", "int",
             "ignores nulls; 0 for no rows", "number of distinct non-null values"),
    Function("sum", 1, 1, True, _sum, "sum(x: number)", "same type as x (int, float, decimal)",
             AGG_NULL, "sum"),
    Function("mean", 1, 1, True, _mean, "mean(x: number)", "float", AGG_NULL,
             "arithmetic mean (SQL avg)"),
    Function("min", 1, 1, True, _minmax, "min(x: T)", "T", AGG_NULL,
             "smallest value (strings by code point)"),
    Function("max", 1, 1, True, _minmax, "max(x: T)", "T", AGG_NULL, "largest value"),
    Function("first", 1, 1, True, _same, "first(x: T)", "T", AGG_NULL,
             "first non-null value in row order (partition order on Dask)"),
    Function("last", 1, 1, True, _same, "last(x: T)", "T", AGG_NULL,
             "last non-null value in row order"),
    Function("std", 1, 1, True, _mean, "std(x: number)", "float",
             AGG_NULL + "; null for fewer than 2 values", "sample standard deviation"),
    Function("var", 1, 1, True, _mean, "var(x: number)", "float",
             AGG_NULL + "; null for fewer than 2 values", "sample variance"),
]

_W = "null when the window has no such row"
WINDOW = [
    Function("row_number", 0, 0, False, _rank, "row_number() over (...)", "int", "never null",
             "1, 2, 3, ... in the window's order within each partition (ties in any order: "
             "order by a unique key)", window=True),
    Function("rank", 0, 0, False, _rank, "rank() over (...)", "int", "never null",
             "1 + the number of rows ordered before the row (ties share a rank, then a gap)",
             window=True),
    Function("dense_rank", 0, 0, False, _rank, "dense_rank() over (...)", "int", "never null",
             "as rank, without gaps", window=True),
    Function("lag", 1, 3, False, _lag, "lag(x: T, offset: int = 1, default: T = null) over (...)",
             "T", _W + " (then default)", "x of the row offset rows before in the partition",
             window=True),
    Function("lead", 1, 3, False, _lag, "lead(x: T, offset: int = 1, default: T = null) over "
             "(...)", "T", _W + " (then default)", "x of the row offset rows after", window=True),
    Function("first_value", 1, 1, False, _same, "first_value(x: T) over (...)", "T",
             "null when the first row's x is null", "x of the partition's first row",
             window=True),
    Function("last_value", 1, 1, False, _same, "last_value(x: T) over (...)", "T",
             "null when that row's x is null", "x of the last row of the frame: with an order, "
                                               "the last row ordered equal to this one",
             window=True),
]
