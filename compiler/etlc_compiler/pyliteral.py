"""Render plain data as Python source: the only way spec text reaches a generated file.

Strings go through `repr()`, which always yields a valid, closed Python string literal, so no
spec content (quotes, backslashes, newlines, `{{ }}`, Unicode) can end a string early or
become code. Only dict/list/str/int/float/bool/None are accepted, and `Ref`, a part of the
file written once elsewhere (`TYPES['daily']`); anything else is a bug.

Text that sits inside a comment or a docstring (the spec path in the header) goes through
`escape()`: the body of a string literal, valid between any quotes, on one line, and never an
encoding declaration (PEP 263 reads `coding:<name>` in a comment of the first two lines, and
`coding:utf-7` would turn `+ACI-` into a quote).
"""

from __future__ import annotations

import math
import re
from typing import Any

_WIDTH = 88


class Ref:
    """A shared part of the generated file, `NAME[key]`: the name an identifier, the key a
    string through `repr()`, so it is no way for spec text to become code."""

    __slots__ = ("source",)

    def __init__(self, name: str, key: str):
        if not (name.isidentifier() and name.isascii() and name.isupper() and isinstance(key, str)):
            raise ValueError(f"not a shared part: {name!r}[{key!r}]")
        self.source = f"{name}[{key!r}]"


def pyliteral(value: Any, indent: int = 0) -> str:
    flat = _flat(value)
    if len(flat) + indent <= _WIDTH or not isinstance(value, (dict, list, tuple)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{_flat(k)}: {pyliteral(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{pyliteral(v, indent + 4)}," for v in value]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def _flat(value: Any) -> str:
    if isinstance(value, Ref):
        return value.source
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"plan keys must be strings, got {type(k).__name__}")
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} into a DAG file")


_QUOTED = {"\\": "\\\\", "'": "\\'", '"': '\\"'}
_ESCAPE = re.compile(r"\\(?:([\\'\"])|x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))")


def escape(text: str) -> str:
    """`text` as the body of a Python string literal that any quotes may enclose.

    Backslashes and both quotes are escaped, so are all non-printable characters (every line
    break Python or an editor honours, NUL, controls, lone surrogates, bidi overrides) and the
    `:`/`=` after `coding`; everything else stays as written. `unescape()` inverts it.
    """
    out = []
    for i, ch in enumerate(text):
        if ch in _QUOTED:
            out.append(_QUOTED[ch])
        elif not ch.isprintable() or (ch in ":=" and text.endswith("coding", 0, i)):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def unescape(body: str) -> str:
    """The text `escape()` was given."""
    return _ESCAPE.sub(lambda m: m.group(1) or chr(int(m.group(2) or m.group(3) or m.group(4), 16)), body)
