"""Run-time param values checked against their declaration, before any task work.

One function, :func:`check_param`, judges a value against the param's declared ``type``,
``enum``, ``minimum``/``maximum`` and ``pattern`` (JSON Schema meanings: ``pattern`` is
searched, so anchor it with ``^...$`` to match the whole value).  ``etlc run`` calls it for
each ``--param`` (a failure is a usage error, exit 2); the executor calls it through
:func:`etlc_runtime.templating.resolve_params` for every resolved value, so a task inside
Airflow fails naming the param before it reads or writes anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import ParamError

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list, tuple), "object": (dict, Mapping),
}


def _has_type(value: Any, kind: str) -> bool:
    if kind not in _TYPES:
        return True
    if isinstance(value, bool) and kind != "boolean":
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    if kind == "number" and isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, _TYPES[kind])


def _same(value: Any, allowed: Any) -> bool:
    """JSON equality: True is not 1, 1 is 1.0."""
    if isinstance(value, bool) or isinstance(allowed, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value == allowed
    return value == allowed


def check_param(name: str, value: Any, definition: Mapping[str, Any] | None) -> Any:
    """Return ``value`` when its declaration allows it; else raise :class:`ParamError` (R011).

    ``None`` (a param left unset and without a default) is not judged here.
    """
    if value is None or not isinstance(definition, Mapping):
        return value
    kind = definition.get("type")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k and k != "null"]
    if kinds and not any(_has_type(value, k) for k in kinds):
        raise ParamError(name, value, f"is not of type {' or '.join(kinds)}")
    if kinds == ["integer"] and isinstance(value, int) and not -2**63 <= value < 2**63:
        raise ParamError(name, value, "is outside the 64-bit integer range")
    enum = definition.get("enum")
    if isinstance(enum, list) and not any(_same(value, e) for e in enum):
        raise ParamError(name, value, f"is not one of {enum!r}")
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    low, high = definition.get("minimum"), definition.get("maximum")
    if numeric and isinstance(low, (int, float)) and value < low:
        raise ParamError(name, value, f"is below the minimum {low}")
    if numeric and isinstance(high, (int, float)) and value > high:
        raise ParamError(name, value, f"is above the maximum {high}")
    pattern = definition.get("pattern")
    if isinstance(pattern, str) and isinstance(value, str):
        try:
            found = re.search(pattern, value)
        except re.error as exc:
            raise ParamError(name, value, f"cannot be checked: pattern {pattern!r} is not a "
                                          f"valid regular expression ({exc})") from exc
        if not found:
            raise ParamError(name, value, f"does not match the pattern {pattern!r}")
    return value


def check_params(definitions: Mapping[str, Any] | None, values: Mapping[str, Any]) -> None:
    """Check every value that has a declaration (see :func:`check_param`)."""
    definitions = definitions or {}
    for name, value in values.items():
        definition = definitions.get(name)
        check_param(name, value, definition if isinstance(definition, Mapping) else None)
