"""The JSON functions of the expression language: their types, argument checks and docs
(the function table, ``functions``, takes them in).  A path argument is a constant checked
here, at compile time: an invalid one is E421 at the argument (``json_path`` says which
paths are read)."""
from __future__ import annotations

from .fn_base import NOT_CONST, Function
from .json_path import path_error
from .types import BOOL, INT, JSON, STRING, Type, is_open

__all__ = ["JSON_FUNCTIONS"]


def _json_arg(i: int, args, what: str = "json or a string holding JSON"):
    t = args[i]
    if is_open(t) or t.name in ("json", "string"):
        return None
    return (i, f"argument {i + 1} must be {what}, got {t}")


def _path(i: int, args, consts):
    t = args[i]
    if not (is_open(t) or t.name in ("string", "int")):
        return (i, f"argument {i + 1} must be a JSON path (a constant string or int), got {t}")
    if consts[i] is NOT_CONST:
        return (i, "the JSON path must be a constant ('$.a.b', 'key', an int index)", "E421")
    if consts[i] is None:
        return None
    why = path_error(consts[i])
    return (i, why, "E421") if why else None


def _with_path(result: Type, optional: bool = False):
    def r(args, consts):
        err = _json_arg(0, args)
        if not err and (len(args) > 1 or not optional):
            err = _path(1, args, consts)
        return err or result
    return r


_NULL = "null when j or the path is null, or when nothing is at the path"
_PATHS = ("path: '$.a.b[0]' (JSONPath: .key, .\"key\", [n], [#-n]), '/a/b/0' (JSON Pointer), "
          "'key' (one key) or an int index (negative from the end); a constant")

JSON_FUNCTIONS = [
    Function("json_extract", 2, 2, False, _with_path(JSON),
             "json_extract(j: json | string, path) | j -> path", "json", _NULL,
             "the JSON value at the path, as canonical JSON text (a JSON null is the text "
             "'null', not a null); " + _PATHS),
    Function("json_extract_string", 2, 2, False, _with_path(STRING),
             "json_extract_string(j: json | string, path) | j ->> path", "string",
             _NULL + "; null for a JSON null",
             "the value at the path as text: a JSON string without its quotes, anything else "
             "its canonical JSON text"),
    Function("json_array_length", 1, 2, False, _with_path(INT, optional=True),
             "json_array_length(j: json | string, path = '$')", "int", _NULL,
             "the number of elements of the array (0 for anything else)"),
    Function("json_type", 1, 2, False, _with_path(STRING, optional=True),
             "json_type(j: json | string, path = '$')", "string", _NULL,
             "OBJECT, ARRAY, VARCHAR, BIGINT (a negative int), UBIGINT, DOUBLE (a fraction or "
             "an int beyond 64 bits), BOOLEAN or NULL"),
    Function("json_valid", 1, 1, False,
             lambda a, c: _json_arg(0, a, "a string or json") or BOOL,
             "json_valid(s: string | json)", "bool", "null when s is null",
             "whether s is one JSON value"),
]
