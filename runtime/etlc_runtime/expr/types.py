"""Types, the function table and the type rules of the expression language.

Independent of any dataframe library: the type checker (compile time) and every
evaluator (pandas, Dask, SQL rendering) use these same rules.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BOOL",
    "DATE",
    "FLOAT",
    "FUNCTIONS",
    "INT",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TYPE_NAMES",
    "UNKNOWN",
    "VECTOR",
    "Function",
    "Type",
    "arith_result",
    "comparable",
    "decimal",
    "is_numeric",
    "is_temporal",
    "param_type",
    "unify",
]

TYPE_NAMES = ("int", "float", "decimal", "string", "bool", "date", "timestamp", "timestamptz",
              "vector", "null", "unknown", "interval")

TYPE_NAMES += ("json",)  # JSON text in DuckDB's canonical form (json_text, json_types)


@dataclass(frozen=True)
class Type:
    """A column or expression type.

    ``name`` is one of ``int float decimal string bool date timestamp vector null unknown``;
    ``scale`` is the number of digits after the point of a ``decimal``; ``size`` the length
    of a ``vector``.  ``null`` is the type of the ``null`` literal (it unifies with any
    type); ``unknown`` is a type not known before run time (columns undeclared)."""

    name: str
    scale: int | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.name not in TYPE_NAMES:
            raise ValueError(f"unknown type name {self.name!r}; expected one of {TYPE_NAMES}")

    @classmethod
    def from_spec(cls, spec: Mapping | str) -> Type:
        """Build from a dataset column mapping, e.g. ``{"type": "decimal", "scale": 2}``,
        ``{"type": "vector", "size": 384}`` or just ``"int"``."""
        if isinstance(spec, str):
            spec = {"type": spec}
        name = spec.get("type")
        aliases = {"integer": "int", "number": "float", "double": "float", "boolean": "bool",
                   "str": "string", "text": "string", "datetime": "timestamp"}
        name = aliases.get(name, name)
        if name == "decimal":
            return cls("decimal", int(spec.get("scale", 0) or 0))
        if name == "vector":
            size = spec.get("size")
            return cls("vector", None, int(size) if size is not None else None)
        return cls(name)

    def __str__(self) -> str:
        if self.name == "decimal" and self.scale is not None:
            return f"decimal({self.scale})"
        if self.name == "vector" and self.size is not None:
            return f"vector({self.size})"
        return self.name


INT = Type("int")
FLOAT = Type("float")
STRING = Type("string")
BOOL = Type("bool")
DATE = Type("date")
TIMESTAMP = Type("timestamp")
TIMESTAMPTZ = Type("timestamptz")  # an instant; shown and computed in UTC (DuckDB, TimeZone UTC)
NULL = Type("null")
UNKNOWN = Type("unknown")
VECTOR = Type("vector")
INTERVAL = Type("interval")
JSON = Type("json")


def decimal(scale: int) -> Type:
    return Type("decimal", scale)


def is_numeric(t: Type) -> bool:
    return t.name in ("int", "float", "decimal")


def is_temporal(t: Type) -> bool:
    return t.name in ("date", "timestamp", "timestamptz")


def _stamp(*types: Type) -> Type:
    """The timestamp type of temporal operands: timestamptz when one of them is (DuckDB casts
    a date or timestamp to timestamptz in the session zone, UTC), else timestamp."""
    return TIMESTAMPTZ if any(t.name == "timestamptz" for t in types) else TIMESTAMP


def is_open(t: Type) -> bool:
    """null or unknown: fits anywhere."""
    return t.name in ("null", "unknown")


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two values (for if, coalesce, in, comparisons, union);
    None when there is none."""
    if a.name == "unknown" or b.name == "unknown":
        return UNKNOWN
    if a.name == "null":
        return b
    if b.name == "null":
        return a
    if a == b:
        return a
    if a.name == b.name == "decimal":
        return decimal(max(a.scale or 0, b.scale or 0))
    if a.name == b.name:  # vectors of different sizes
        return Type(a.name)
    if is_numeric(a) and is_numeric(b):
        names = {a.name, b.name}
        if "float" in names:
            return FLOAT
        # int with decimal
        return a if a.name == "decimal" else b
    if is_temporal(a) and is_temporal(b):
        return _stamp(a, b)
    return None


def comparable(a: Type, b: Type) -> bool:
    if is_open(a) or is_open(b):
        return True
    if a.name == "vector" or b.name == "vector":
        return False
    return unify(a, b) is not None


def _interval_arith(op: str, a: Type, b: Type) -> Type | str:
    """timestamp/date +- interval -> timestamp (as DuckDB), interval + timestamp/date ->
    timestamp, interval +- interval -> interval, timestamp - timestamp -> interval."""
    names = (a.name, b.name)
    if op in ("+", "-") and is_temporal(a) and b.name in ("interval", "null"):
        return _stamp(a)
    if op == "+" and a.name == "interval" and is_temporal(b):
        return _stamp(b)
    if op in ("+", "-") and all(n in ("interval", "null", "unknown") for n in names):
        return INTERVAL
    if op == "-" and is_temporal(a) and is_temporal(b):
        return INTERVAL
    side = "left" if a.name != "interval" and not is_temporal(a) else "right"
    return f"{side}: operator '{op}' cannot combine {a} and {b} (an interval adds to or " \
           f"subtracts from a date or timestamp)"


def arith_result(op: str, a: Type, b: Type) -> Type | str:
    """Result type of ``a op b`` for ``+ - * / %``, or an error message naming the
    operand at fault as ``'left: ...'`` / ``'right: ...'``."""
    if "interval" in (a.name, b.name) or (op == "-" and is_temporal(a) and is_temporal(b)
                                          and {a.name, b.name} != {"date"}):
        return _interval_arith(op, a, b)
    if op in ("+", "-"):
        # date arithmetic: date +/- int -> date, int + date -> date, date - date -> int
        if a.name == "date" and (b.name in ("int", "null", "unknown")):
            return DATE
        if op == "+" and b.name == "date" and a.name in ("int", "null", "unknown"):
            return DATE
        if op == "-" and a.name == "date" and b.name == "date":
            return INT
    if op == "//":
        for side, t in (("left", a), ("right", b)):
            if not (t.name == "int" or is_open(t)):
                return f"{side}: operator '//' needs ints, got {t} (use floor(a / b))"
        return INT
    for side, t in (("left", a), ("right", b)):
        if not (is_numeric(t) or is_open(t)):
            return f"{side}: operator '{op}' needs numbers, got {t}"
    if a.name == "unknown" or b.name == "unknown":
        return FLOAT if op == "/" else UNKNOWN
    if op == "/":
        return FLOAT
    if a.name == "null" and b.name == "null":
        return INT
    a = b if a.name == "null" else a
    b = a if b.name == "null" else b
    if "float" in (a.name, b.name):
        return FLOAT
    if a.name == b.name == "int":
        return INT
    sa = a.scale or 0 if a.name == "decimal" else 0
    sb = b.scale or 0 if b.name == "decimal" else 0
    if op == "*":
        return decimal(sa + sb)
    return decimal(max(sa, sb))


# -- the function table ----------------------------------------------------------------

# A resolver gets the argument types and the constant value of each argument (or a
# sentinel when not constant) and returns the result type, or (index, message) naming the
# argument at fault.
Resolver = Callable[[Sequence[Type], Sequence[object]], "Type | tuple[int, str]"]


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    aggregate: bool
    resolve: Resolver
    signature: str
    result_doc: str
    nulls: str
    doc: str
    star: bool = False  # accepts count(*)
    window: bool = False  # only as f(...) over (...)


NOT_CONST = object()
# the run parameter holding the run's logical date, which now() and today() read (the
# executor sets it; a user parameter cannot have this name)
LOGICAL_DATE_PARAM = "__logical_date__"


def _need(pred: Callable[[Type], bool], what: str, i: int, t: Type):
    if is_open(t) or pred(t):
        return None
    return (i, f"argument {i + 1} must be {what}, got {t}")


def _numeric_same(args, consts):
    return _need(is_numeric, "a number", 0, args[0]) or args[0]


def _to_float(args, consts):
    return _need(is_numeric, "a number", 0, args[0]) or FLOAT


def _string_fn(result):
    def r(args, consts):
        for i, t in enumerate(args):
            err = _need(lambda x: x.name == "string", "a string", i, t)
            if err:
                return err
        return result
    return r


def _round(args, consts):
    err = _need(is_numeric, "a number", 0, args[0])
    if err:
        return err
    n = 0
    if len(args) == 2:
        err = _need(lambda t: t.name == "int", "an int", 1, args[1])
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
    err = _need(is_numeric, "a number", 0, args[0])
    if err:
        return err
    t = args[0]
    return decimal(0) if t.name == "decimal" else (t if not is_open(t) else UNKNOWN)


def _substr(args, consts):
    err = _need(lambda t: t.name == "string", "a string", 0, args[0])
    for i in range(1, len(args)):
        err = err or _need(lambda t: t.name == "int", "an int", i, args[i])
    return err or STRING


def _date_part(args, consts):
    return _need(is_temporal, "a date or timestamp", 0, args[0]) or INT


def _to_temporal(result):
    def r(args, consts):
        t = args[0]
        if len(args) == 2:
            return (_need(lambda x: x.name == "string", "a string", 0, t)
                    or _need(lambda x: x.name == "string", "a format string", 1, args[1])
                    or result)
        ok = (lambda x: x.name == "string" or is_temporal(x)
              or (result.name == "timestamp" and is_numeric(x)))
        what = ("a string, date, timestamp or number (epoch seconds)" if result == TIMESTAMP
                else "a string, date or timestamp")
        return _need(ok, what, 0, t) or result
    return r


def _if(args, consts):
    err = _need(lambda t: t.name == "bool", "a bool (the condition)", 0, args[0])
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
    err = _need(is_numeric, "a number", 0, t)
    if err:
        return err
    return INT if t.name == "null" else (t if t.name != "unknown" else UNKNOWN)


def _mean(args, consts):
    return _need(is_numeric, "a number", 0, args[0]) or FLOAT


def _minmax(args, consts):
    err = _need(lambda t: t.name != "vector", "a value that can be ordered", 0, args[0])
    return err or args[0]


def _same(args, consts):
    return args[0]


DATE_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second",
              "millisecond")
# strftime/strptime directives that pandas and DuckDB read and write alike
FORMAT_CODES = frozenset("YmdHMSfjaAbByIp%")


def _unit(args, consts, i: int = 0):
    err = _need(lambda t: t.name == "string", "a string (the unit)", i, args[i])
    if err:
        return err
    if consts[i] is NOT_CONST or consts[i] is None:
        return (i, "the unit must be a constant string: " + ", ".join(DATE_UNITS))
    if str(consts[i]).lower() not in DATE_UNITS:
        return (i, f"unknown unit '{consts[i]}'; units are " + ", ".join(DATE_UNITS))
    return None


def format_error(fmt: str) -> str | None:
    """Why a strftime/strptime format is refused, or None."""
    k = 0
    while k < len(fmt):
        if fmt[k] == "%":
            if k + 1 >= len(fmt) or fmt[k + 1] not in FORMAT_CODES:
                code = fmt[k:k + 2]
                return (f"format code '{code}' is not supported; use "
                        + " ".join("%" + c for c in sorted(FORMAT_CODES)))
            k += 2
        else:
            k += 1
    return None


def _constant_text(what: str, why_not: Callable[[str], str | None]):
    """A check of argument i: a constant string (a format, a pattern) that why_not accepts."""
    def at(i: int):
        def check(args, consts):
            err = _need(lambda t: t.name == "string", f"a string (the {what})", i, args[i])
            if err:
                return err
            if consts[i] is NOT_CONST:
                return (i, f"the {what} must be a constant string")
            why = why_not(str(consts[i])) if consts[i] is not None else None
            return (i, why) if why else None
        return check
    return at


def zone_rule(args, consts):
    """timezone(zone, t): a constant IANA zone (E418 otherwise, docs/codes.md); a timestamp
    gives a timestamptz and a timestamptz a timestamp (DuckDB's AT TIME ZONE)."""
    from .zones import UNKNOWN_ZONE, zone_error
    err = _need(lambda t: t.name == "string", "a string (the zone)", 0, args[0])
    if err:
        return err
    if consts[0] is NOT_CONST:
        return (0, "the zone must be a constant string, e.g. 'America/Sao_Paulo'")
    why = zone_error(str(consts[0])) if consts[0] is not None else None
    if why:
        return (0, why, UNKNOWN_ZONE)
    t = args[1]
    err = _need(lambda x: x.name in ("timestamp", "timestamptz"), "a timestamp or timestamptz",
                1, t)
    if err:
        return err
    return TIMESTAMP if t.name == "timestamptz" else TIMESTAMPTZ if t.name == "timestamp" \
        else t


def _date_trunc(args, consts):
    return (_unit(args, consts) or _need(is_temporal, "a date or timestamp", 1, args[1])
            or _stamp(args[1]))


def _date_diff(args, consts):
    return (_unit(args, consts) or _need(is_temporal, "a date or timestamp", 1, args[1])
            or _need(is_temporal, "a date or timestamp", 2, args[2]) or INT)


def _epoch(args, consts):
    return _need(lambda t: is_temporal(t) or t.name == "interval",
                 "a date, timestamp or interval", 0, args[0]) or FLOAT


def _date_add(args, consts):
    return (_need(is_temporal, "a date or timestamp", 0, args[0])
            or _need(lambda t: t.name == "interval", "an interval", 1, args[1])
            or _stamp(args[0]))


def _strftime(args, consts):
    return (_need(is_temporal, "a date or timestamp", 0, args[0]) or _format(1)(args, consts)
            or STRING)


def _strptime(args, consts):
    return (_need(lambda t: t.name == "string", "a string", 0, args[0])
            or _format(1)(args, consts) or TIMESTAMP)


def regex_error(pattern: str) -> str | None:
    """Why a regular expression is refused (RE2 syntax, as DuckDB), or None.  Python's ``re``
    compiles it (an approximation of RE2); what RE2 lacks (look-around, back-references) is
    refused as RE2 would."""
    import re
    for bad, what in (("(?=", "look-ahead"), ("(?!", "look-ahead"), ("(?<=", "look-behind"),
                      ("(?<!", "look-behind")):
        if bad in pattern:
            return f"{what} '{bad}' is not in RE2 syntax"
    if re.search(r"(?<!\\)\\[1-9]", pattern):
        return "back-references (\\1) are not in RE2 syntax"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


_format = _constant_text("format", lambda f: format_error(f))
_regex = _constant_text("pattern", lambda p: regex_error(p))


def _typed(kinds: str, result: Type):
    """Arguments of the given kinds, one letter each: s string, i int, any other letter: the
    last kind repeats for the remaining arguments."""
    names = {"s": ("string", "a string"), "i": ("int", "an int")}

    def r(args, consts):
        for k, t in enumerate(args):
            name, what = names[kinds[min(k, len(kinds) - 1)]]
            err = _need(lambda x, n=name: x.name == n, what, k, t)
            if err:
                return err
        return result
    return r


def _args_ok(kinds: str, args, consts):
    """The error of _typed's argument check, or None."""
    r = _typed(kinds, UNKNOWN)(args, consts)
    return r if isinstance(r, tuple) else None


def _regexp(result: Type):
    def r(args, consts):
        return _args_ok("ss", args, consts) or _regex(1)(args, consts) or result
    return r


def _rewrite_groups(by: str) -> int:
    """The largest group a regexp_replace replacement names (``\\1``; ``\\\\`` is a backslash)."""
    i, most = 0, 0
    while i < len(by) - 1:
        if by[i] == "\\":
            if by[i + 1].isdigit():
                most = max(most, int(by[i + 1]))
            i += 2
        else:
            i += 1
    return most


def _regexp_replace(args, consts):
    err = _args_ok("ss", args, consts) or _regex(1)(args, consts)
    if err:
        return err
    if isinstance(consts[1], str) and isinstance(consts[2], str):
        import re
        try:
            groups = re.compile(consts[1]).groups
        except re.error:
            groups = None
        named = _rewrite_groups(consts[2])
        if groups is not None and named > groups:
            return (2, f"the replacement names group {named}, and the pattern has "
                       f"{groups} group{'s' if groups != 1 else ''}")
    if len(args) == 4 and (consts[3] is NOT_CONST or consts[3] not in ("g", "")):
        return (3, "the options must be the constant 'g' (replace every match) or ''")
    return STRING


def _regexp_extract(args, consts):
    err = _args_ok("ss", args[:2], consts[:2]) or _regex(1)(args, consts)
    if err:
        return err
    if len(args) == 3:
        err = _need(lambda t: t.name == "int", "an int (the group)", 2, args[2])
        if err:
            return err
        if consts[2] is NOT_CONST:
            return (2, "the group must be a constant")
    return STRING


def _rank(args, consts):
    return INT


def _lag(args, consts):
    if len(args) >= 2:
        err = _need(lambda t: t.name == "int", "an int (the offset)", 1, args[1])
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
    return _need(is_numeric, "a number", 0, args[0]) or INT


def _power(args, consts):
    return (_need(is_numeric, "a number", 0, args[0]) or _need(is_numeric, "a number", 1, args[1])
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


_NUM_NULL = "null when the argument is null"
_STR_NULL = "null when any argument is null"
_AGG_NULL = "ignores nulls; null when there are no non-null values"

# date and time parts: (name, what it gives); each takes a date or timestamp, gives an int
_PARTS = [
    ("year", "the year"),
    ("month", "the month, 1-12"),
    ("day", "the day of the month, 1-31"),
    ("hour", "the hour, 0-23 (0 for a date)"),
    ("minute", "the minute, 0-59"),
    ("second", "the second, 0-59 (no fraction)"),
    ("millisecond", "seconds and milliseconds in milliseconds, 0-59999 (DuckDB's)"),
    ("dayofweek", "the day of the week, 0 (Sunday) to 6 (Saturday)"),
    ("dayofyear", "the day of the year, 1-366"),
    ("week", "the ISO week number, 1-53"),
    ("quarter", "the quarter, 1-4"),
]


def _part_fn(name: str, doc: str) -> Function:
    return Function(name, 1, 1, False, _date_part, f"{name}(d: date | timestamp)", "int",
                    _NUM_NULL, doc)


_F = [
    # scalar numeric
    Function("abs", 1, 1, False, _numeric_same, "abs(x: number)", "same type as x", _NUM_NULL,
             "absolute value"),
    Function("round", 1, 2, False, _round, "round(x: number, n: int = 0)",
             "same type as x; decimal(min(scale, n)) for a decimal",
             _STR_NULL, "round half away from zero to n digits after the point (n may be "
                        "negative); n must be a constant for decimals"),
    Function("floor", 1, 1, False, _floor_ceil, "floor(x: number)",
             "int for int, float for float, decimal(0) for decimal", _NUM_NULL,
             "largest integer not greater than x"),
    Function("ceil", 1, 1, False, _floor_ceil, "ceil(x: number)",
             "int for int, float for float, decimal(0) for decimal", _NUM_NULL,
             "smallest integer not less than x"),
    Function("sqrt", 1, 1, False, _to_float, "sqrt(x: number)", "float",
             _NUM_NULL + "; null when x < 0", "square root"),
    Function("ln", 1, 1, False, _to_float, "ln(x: number)", "float",
             _NUM_NULL + "; null when x <= 0", "natural logarithm"),
    Function("exp", 1, 1, False, _to_float, "exp(x: number)", "float", _NUM_NULL,
             "e to the power x (inf on overflow)"),
    Function("log10", 1, 1, False, _to_float, "log10(x: number)", "float",
             _NUM_NULL + "; null when x <= 0", "base-10 logarithm"),
    Function("power", 2, 2, False, _power, "power(x: number, y: number)", "float",
             _STR_NULL + "; null when the result is not a number (a negative x to a "
                         "fractional y)", "x to the power y (inf on overflow and for 0 to a "
                                          "negative power)"),
    Function("mod", 2, 2, False, _mod, "mod(a: number, b: number)", "as a % b", _STR_NULL
             + "; null when b is 0", "remainder with the sign of a (the same as a % b)"),
    Function("sign", 1, 1, False, _sign, "sign(x: number)", "int", _NUM_NULL,
             "-1, 0 or 1"),
    Function("greatest", 1, None, False, _extreme, "greatest(x1: T, x2: T, ...)",
             "the common type", "ignores nulls; null only when all arguments are null",
             "the largest argument"),
    Function("least", 1, None, False, _extreme, "least(x1: T, x2: T, ...)",
             "the common type", "ignores nulls; null only when all arguments are null",
             "the smallest argument"),
    Function("nullif", 2, 2, False, _nullif, "nullif(a: T, b: T)", "the type of a",
             "null when a = b or a is null; a when b is null", "a, or null where a = b"),
    # strings
    Function("lower", 1, 1, False, _string_fn(STRING), "lower(s: string)", "string", _NUM_NULL,
             "lower case (Unicode)"),
    Function("upper", 1, 1, False, _string_fn(STRING), "upper(s: string)", "string", _NUM_NULL,
             "upper case (Unicode)"),
    Function("trim", 1, 1, False, _string_fn(STRING), "trim(s: string)", "string", _NUM_NULL,
             "removes leading and trailing spaces (' ' only, as in SQL)"),
    Function("length", 1, 1, False, _string_fn(INT), "length(s: string)", "int", _NUM_NULL,
             "number of characters (Unicode code points)"),
    Function("substr", 2, 3, False, _substr, "substr(s: string, start: int, length: int = all)",
             "string", _STR_NULL,
             "characters from 1-based start; a negative start counts from the end (-1 is the "
             "last character); a negative length takes characters before start (DuckDB's "
             "substring)"),
    Function("replace", 3, 3, False, _string_fn(STRING),
             "replace(s: string, from: string, to: string)", "string", _STR_NULL,
             "replaces every occurrence of from (plain text, not a pattern); an empty from "
             "changes nothing"),
    Function("starts_with", 2, 2, False, _string_fn(BOOL), "starts_with(s: string, prefix: string)",
             "bool", _STR_NULL, "whether s begins with prefix"),
    Function("ends_with", 2, 2, False, _string_fn(BOOL), "ends_with(s: string, suffix: string)",
             "bool", _STR_NULL, "whether s ends with suffix"),
    Function("contains", 2, 2, False, _string_fn(BOOL), "contains(s: string, part: string)",
             "bool", _STR_NULL, "whether part occurs in s (plain text)"),
    Function("concat", 1, None, False, _typed("s", STRING), "concat(s1: string, s2: string, ...)",
             "string", "skips nulls (all null: '')", "the arguments joined (|| is null when "
                                                    "either side is)"),
    Function("concat_ws", 2, None, False, _typed("s", STRING),
             "concat_ws(sep: string, s1: string, ...)", "string",
             "null when sep is null; skips null arguments", "the arguments joined by sep"),
    Function("split_part", 3, 3, False, _typed("ssi", STRING),
             "split_part(s: string, sep: string, n: int)", "string", _STR_NULL,
             "the n-th part of s split at sep (1-based; negative counts from the end; '' "
             "beyond the parts; an empty sep splits into characters)"),
    Function("lpad", 3, 3, False, _typed("sis", STRING), "lpad(s: string, n: int, pad: string)",
             "string", _STR_NULL, "s padded on the left with pad to n characters, or cut to "
                                  "n; an empty pad that is needed is a run-time error"),
    Function("rpad", 3, 3, False, _typed("sis", STRING), "rpad(s: string, n: int, pad: string)",
             "string", _STR_NULL, "s padded on the right with pad to n characters, or cut to n"),
    Function("ltrim", 1, 2, False, _typed("s", STRING), "ltrim(s: string, chars: string = ' ')",
             "string", _STR_NULL, "removes the leading characters found in chars"),
    Function("rtrim", 1, 2, False, _typed("s", STRING), "rtrim(s: string, chars: string = ' ')",
             "string", _STR_NULL, "removes the trailing characters found in chars"),
    Function("left", 2, 2, False, _typed("si", STRING), "left(s: string, n: int)", "string",
             _STR_NULL, "the first n characters (n < 0: all but the last -n)"),
    Function("right", 2, 2, False, _typed("si", STRING), "right(s: string, n: int)", "string",
             _STR_NULL, "the last n characters (n < 0: all but the first -n)"),
    Function("strpos", 2, 2, False, _typed("ss", INT), "strpos(s: string, part: string)", "int",
             _STR_NULL, "1-based position of the first part in s, 0 when absent (SQL's "
                        "position(part in s))"),
    Function("like", 2, 2, False, _typed("ss", BOOL), "s like pattern | s not like pattern",
             "bool", _STR_NULL, "whether all of s matches pattern: % any characters, _ one "
                                "character, no escape character"),
    Function("ilike", 2, 2, False, _typed("ss", BOOL), "s ilike pattern | s not ilike pattern",
             "bool", _STR_NULL, "like, ignoring letter case"),
    Function("regexp_matches", 2, 2, False, _regexp(BOOL),
             "regexp_matches(s: string, pattern: string)", "bool", _STR_NULL,
             "whether the pattern (RE2 syntax, a constant checked at compile time) matches "
             "somewhere in s"),
    Function("regexp_replace", 3, 4, False, _regexp_replace,
             "regexp_replace(s: string, pattern: string, by: string, options: string = '')",
             "string", _STR_NULL, "replaces the first match (every match with options 'g'); "
                                  "\\1 in by is the first group"),
    Function("regexp_extract", 2, 3, False, _regexp_extract,
             "regexp_extract(s: string, pattern: string, group: int = 0)", "string", _STR_NULL,
             "the first match (or its group), '' when none"),
    Function("md5", 1, 1, False, _typed("s", STRING), "md5(s: string)", "string", _NUM_NULL,
             "the MD5 digest of s's UTF-8 bytes, 32 hex digits"),
    Function("sha256", 1, 1, False, _typed("s", STRING), "sha256(s: string)", "string",
             _NUM_NULL, "the SHA-256 digest of s's UTF-8 bytes, 64 hex digits"),
    # dates
    *[_part_fn(n, d) for n, d in _PARTS],
    Function("date_trunc", 2, 2, False, _date_trunc, "date_trunc(unit: string, t: date | "
             "timestamp)", "timestamp", _STR_NULL,
             "t cut down to the start of its unit (year quarter month week day hour minute "
             "second millisecond; a week starts on Monday); the unit is a constant"),
    Function("date_diff", 3, 3, False, _date_diff, "date_diff(unit: string, a: date | timestamp,"
             " b: date | timestamp)", "int", _STR_NULL,
             "the number of unit boundaries from a to b (negative when b is earlier): "
             "date_diff('month', date '2020-01-31', date '2020-02-01') is 1; weeks are whole "
             "7-day spans of the day count"),
    Function("epoch", 1, 1, False, _epoch, "epoch(t: date | timestamp | interval)", "float",
             _NUM_NULL, "seconds since 1970-01-01 00:00:00 (with the fraction); of an "
                        "interval, its length in seconds (a month counts 30 days, as DuckDB)"),
    Function("date_add", 2, 2, False, _date_add, "date_add(t: date | timestamp, i: interval)",
             "timestamp", _STR_NULL, "t + i: months first (the day clamped to the month's "
                                     "end: 2020-01-31 + 1 month is 2020-02-29), then days, then "
                                     "the time"),
    Function("strftime", 2, 2, False, _strftime, "strftime(t: date | timestamp, format: string)",
             "string", _STR_NULL, "t as text in a constant format of the codes %Y %m %d %H %M "
             "%S %f %j %a %A %b %B %y %I %p %%"),
    Function("strptime", 2, 2, False, _strptime, "strptime(s: string, format: string)",
             "timestamp", _STR_NULL, "parses s with a constant format (the codes of "
             "strftime); a string that does not parse is a run-time error"),
    Function("to_date", 1, 2, False, _to_temporal(DATE),
             "to_date(s: string, format: string = ISO) | to_date(t: date | timestamp)", "date",
             _STR_NULL, "parses 'YYYY-MM-DD' (or the strptime format, e.g. '%Y%m%d'); a "
                        "timestamp loses its time; a string that does not parse is a run-time "
                        "error"),
    Function("to_timestamp", 1, 2, False, _to_temporal(TIMESTAMP),
             "to_timestamp(s: string, format: string = ISO) | to_timestamp(d: date) | "
             "to_timestamp(x: number)", "timestamp", _STR_NULL,
             "parses 'YYYY-MM-DD HH:MM:SS[.ffffff]' (or the strptime format); a number is "
             "seconds since 1970-01-01 (UTC, no time zone kept); a string that does not "
             "parse is a run-time error"),
    # conditionals
    Function("if", 3, 3, False, _if, "if(cond: bool, a: T, b: T)", "the common type of a and b",
             "b when cond is null", "a where cond is true, else b (SQL CASE WHEN)"),
    Function("coalesce", 1, None, False, _coalesce, "coalesce(x1: T, x2: T, ...)",
             "the common type", "null only when all arguments are null",
             "the first argument that is not null"),
    # aggregates
    Function("count", 0, 1, True, _count, "count(*) | count(x: any)", "int",
             "count(*) counts rows; count(x) counts non-null values; 0 for no rows",
             "number of rows / of non-null values", star=True),
    Function("count_distinct", 1, 1, True, _count, "count_distinct(x: any)", "int",
             "ignores nulls; 0 for no rows", "number of distinct non-null values"),
    Function("sum", 1, 1, True, _sum, "sum(x: number)", "same type as x (int, float, decimal)",
             _AGG_NULL, "sum"),
    Function("mean", 1, 1, True, _mean, "mean(x: number)", "float", _AGG_NULL,
             "arithmetic mean (SQL avg)"),
    Function("min", 1, 1, True, _minmax, "min(x: T)", "T", _AGG_NULL,
             "smallest value (strings by code point)"),
    Function("max", 1, 1, True, _minmax, "max(x: T)", "T", _AGG_NULL, "largest value"),
    Function("first", 1, 1, True, _same, "first(x: T)", "T", _AGG_NULL,
             "first non-null value in row order (partition order on Dask)"),
    Function("last", 1, 1, True, _same, "last(x: T)", "T", _AGG_NULL,
             "last non-null value in row order"),
    Function("std", 1, 1, True, _mean, "std(x: number)", "float",
             _AGG_NULL + "; null for fewer than 2 values", "sample standard deviation"),
    Function("var", 1, 1, True, _mean, "var(x: number)", "float",
             _AGG_NULL + "; null for fewer than 2 values", "sample variance"),
]

_W = "null when the window has no such row"
_F += [
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
_F += [
    Function("now", 0, 0, False, lambda a, c: TIMESTAMP, "now()", "timestamp", "never null",
             "the run's logical date and time (UTC), not the wall clock: a rerun of the same "
             "date gives the same answer"),
    Function("today", 0, 0, False, lambda a, c: DATE, "today()", "date", "never null",
             "the date of the run's logical date (UTC)"),
]
_F.append(Function(
    "timezone", 2, 2, False, lambda a, c: zone_rule(a, c), "timezone(zone: string, t: "
    "timestamp | timestamptz) | t at time zone zone", "timestamptz for a timestamp, timestamp "
    "for a timestamptz", _STR_NULL, "a timestamptz as the local time of the zone (an IANA name "
    "such as 'America/Sao_Paulo', a constant); a timestamp read as a local time of the zone, "
    "the instant it names (a time in a DST gap takes the offset before the change, a repeated "
    "time the later instant, as DuckDB)"))
# aggregates usable over a window (running with an order, whole partition without)
WINDOW_AGGREGATES = frozenset({"sum", "count", "mean", "min", "max"})

from .json_types import JSON_FUNCTIONS  # it builds on the names above

_F += JSON_FUNCTIONS
FUNCTIONS: dict[str, Function] = {f.name: f for f in _F}
AGGREGATES = frozenset(n for n, f in FUNCTIONS.items() if f.aggregate)


def logical_date(v):
    """The run's logical date as a naive UTC datetime (None when absent)."""
    import datetime as _dt
    if v is None:
        return None
    if isinstance(v, str):
        v = _dt.datetime.fromisoformat(v)
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if not isinstance(v, _dt.datetime):
        v = _dt.datetime(v.year, v.month, v.day)
    if v.tzinfo is not None:
        v = v.astimezone(_dt.UTC).replace(tzinfo=None)
    return v


def param_type(v) -> Type:
    """The etlc type of a Python run-parameter value (numpy scalars too)."""
    import datetime as _dt
    import decimal as _dec
    if v is None:
        return NULL
    if hasattr(v, "item") and not isinstance(v, (str, bytes)) and type(v).__module__ == "numpy":
        v = v.item()
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, _dec.Decimal):
        exp = v.as_tuple().exponent
        return decimal(max(0, -exp) if isinstance(exp, int) else 0)
    if isinstance(v, str):
        return STRING
    if isinstance(v, _dt.datetime):
        return TIMESTAMP
    if isinstance(v, _dt.date):
        return DATE
    if type(v).__name__ == "Timestamp":
        return TIMESTAMP
    raise ValueError(f"parameter value {v!r} has an unsupported type {type(v).__name__}")
