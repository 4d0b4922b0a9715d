"""Types and the type rules of the expression language's operators (the functions' rules
are the table of ``functions``), and the types of run parameters.

Independent of any dataframe library: the type checker (compile time) and every
evaluator (pandas, Dask, SQL rendering) use these same rules.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BOOL",
    "DATE",
    "FLOAT",
    "INT",
    "LOGICAL_DATE_PARAM",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TYPE_NAMES",
    "UNKNOWN",
    "VECTOR",
    "Type",
    "arith_result",
    "comparable",
    "decimal",
    "is_numeric",
    "is_open",
    "is_temporal",
    "logical_date",
    "param_type",
    "stamp",
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


def stamp(*types: Type) -> Type:
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
        return stamp(a, b)
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
        return stamp(a)
    if op == "+" and a.name == "interval" and is_temporal(b):
        return stamp(b)
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



# the run parameter holding the run's logical date, which now() and today() read (the
# executor sets it; a user parameter cannot have this name)
LOGICAL_DATE_PARAM = "__logical_date__"


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
