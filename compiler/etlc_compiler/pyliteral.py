"""Render plain data as Python source: the only way spec text reaches a generated file.

Strings go through `repr()`, which always yields a valid, closed Python string literal, so no
spec content (quotes, backslashes, newlines, `{{ }}`, Unicode) can end a string early or
become code. Only dict/list/str/int/float/bool/None are accepted; anything else is a bug.
"""

from __future__ import annotations

import math
from typing import Any

_WIDTH = 88


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
