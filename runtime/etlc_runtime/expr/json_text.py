"""JSON values as etlc holds them: text, in DuckDB's canonical form.

A ``json`` value is JSON text.  ``parse`` reads text into Python values that keep what the
text says (object members in order, duplicate keys, every digit of numbers beyond 64 bits);
``canonical`` writes a value back as DuckDB's ``json()`` writes it (yyjson, minified): the
shortest double (``1e2`` is ``100.0``, ``1.5e-7`` stays ``1.5e-7``), ints in 64 bits as
digits, longer numbers as written, strings escaped only where JSON needs it.  Pandas-free:
the readers, the writers and every evaluator use it.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

__all__ = ["JsonError", "Num", "Obj", "canonical", "canonical_text", "kind", "parse",
           "scalar_text", "valid"]


class JsonError(ValueError):
    """Text that is not one JSON value."""


@dataclass(frozen=True)
class Num:
    """A JSON number: its canonical text and its DuckDB kind (UBIGINT, BIGINT or DOUBLE)."""

    text: str
    kind: str
    value: int | float


class Obj(tuple):
    """A JSON object: its (key, value) members in order, duplicates kept."""


def _float_text(x: float) -> str:
    """A double as yyjson writes it: shortest digits, plain from 1e-6 to below 1e21 (a whole
    number with '.0'), else d.ddde[-]x."""
    if x == 0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    m, _, e = repr(abs(x)).partition("e")
    whole, _, frac = m.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + int(e or 0) - (len(whole + frac) - len((whole + frac).lstrip("0")))
    digits = digits.rstrip("0") or "0"
    if point > 21 or point < -5:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{point - 1}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if len(digits) <= point:
        return f"{sign}{digits}{'0' * (point - len(digits))}.0"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _int(text: str) -> Num:
    v = int(text)
    if 0 <= v < 2**64 and not text.startswith("-"):
        return Num(str(v), "UBIGINT", v)
    if -2**63 <= v <= 0:
        return Num(str(v), "BIGINT", v)
    return Num(text, "DOUBLE", float(v))


def _float(text: str) -> Num:
    x = float(text)
    if x in (float("inf"), float("-inf")):  # beyond a double: DuckDB keeps the text
        return Num(text, "DOUBLE", x)
    return Num(_float_text(x), "DOUBLE", x)


_CONSTANTS = {"NaN": Num("NaN", "DOUBLE", float("nan")),
              "Infinity": Num("Infinity", "DOUBLE", float("inf")),
              "-Infinity": Num("-Infinity", "DOUBLE", float("-inf"))}
_DECODER = json.JSONDecoder(object_pairs_hook=Obj, parse_float=_float, parse_int=_int,
                            parse_constant=_CONSTANTS.__getitem__)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_strings(v) -> None:
    if isinstance(v, str):
        if _SURROGATE.search(v):
            raise JsonError("a lone surrogate escape (\\ud800-\\udfff) is not a character")
    elif isinstance(v, Obj):
        for k, x in v:
            _check_strings(k)
            _check_strings(x)
    elif isinstance(v, list):
        for x in v:
            _check_strings(x)


def parse(text: str):
    """The JSON value of ``text``: None (null), bool, Num, str, list, Obj.  Raises JsonError
    for anything that is not exactly one JSON value."""
    try:
        v = _DECODER.decode(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise JsonError(f"not JSON: {exc}") from None
    _check_strings(v)
    return v


def valid(text: str) -> bool:
    try:
        parse(text)
    except JsonError:
        return False
    return True


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
        "\t": "\\t"}
_NEEDS_ESC = re.compile(r'["\\\x00-\x1f]')


def _esc(m: re.Match) -> str:
    c = m.group()
    return _ESC.get(c) or f"\\u{ord(c):04X}"


def _string(s: str) -> str:
    return '"' + _NEEDS_ESC.sub(_esc, s) + '"'


def canonical(v) -> str:
    """A parsed value as DuckDB's minified JSON text."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Num):
        return v.text
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, Obj):
        return "{" + ",".join(_string(k) + ":" + canonical(x) for k, x in v) + "}"
    return "[" + ",".join(canonical(x) for x in v) + "]"


def canonical_text(text: str) -> str:
    """JSON text in canonical form (DuckDB's ``json(text)``); JsonError when it is not JSON."""
    return canonical(parse(text))


def scalar_text(v) -> str | None:
    """DuckDB's ``json_extract_string`` of a value: a string unquoted, null as None, anything
    else its canonical text."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return canonical(v)


def kind(v) -> str:
    """DuckDB's ``json_type`` of a value."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "BOOLEAN"
    if isinstance(v, Num):
        return v.kind
    if isinstance(v, str):
        return "VARCHAR"
    return "OBJECT" if isinstance(v, Obj) else "ARRAY"


class _Members(dict):
    """A parsed JSON object as a dict (the readers' records) that keeps its members."""

    pairs: list


def members(pairs: list) -> dict:
    """``object_pairs_hook`` keeping members in order, duplicate keys too."""
    d = _Members(pairs)
    d.pairs = pairs
    return d


def from_python(v):
    """A value of Python's json module (numbers as int, float or Decimal; objects as dicts,
    :func:`members` ones keeping duplicates) as :func:`parse` gives it."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return _int(str(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            return _CONSTANTS["NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"]
        return _float(repr(v))
    if isinstance(v, dict):
        return Obj((k, from_python(x)) for k, x in getattr(v, "pairs", v.items()))
    if isinstance(v, (list, tuple)):
        return [from_python(x) for x in v]
    return _float(str(v))  # decimal.Decimal: every digit as written


def python_text(v) -> str | None:
    """Canonical JSON text of a value of Python's json module; None for None."""
    return None if v is None else canonical(from_python(v))
