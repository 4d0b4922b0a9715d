"""Analyse stage: each param's own declaration is consistent, so that no run fails on it.

The runtime checks every run-time value with `etlc_runtime.params.check_param` (R011); here
the same function judges what the spec itself supplies: the default (when not templated)
and each `enum` value against the param's `type`, `minimum`/`maximum` and `pattern` (E206),
and the `pattern` must be a regular expression (E205).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .diagnostics import Diagnostic
from .loader import LoadedSpec
from .model import PipelineSpec


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    from etlc_runtime.errors import ParamError
    from etlc_runtime.params import check_param
    from etlc_runtime.templating import is_templated

    diags: list[Diagnostic] = []
    for name, definition in spec.params.items():
        if not isinstance(definition, Mapping):
            continue
        base = ("params", name)
        pattern = definition.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                diags.append(loaded.diag("E205", f"pattern of param '{name}' is not a valid "
                                         f"regular expression: {exc}", base + ("pattern",)))
                continue
        low, high = definition.get("minimum"), definition.get("maximum")
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
            diags.append(loaded.diag("E206", f"param '{name}' has minimum {low} above its "
                                     f"maximum {high}", base + ("maximum",)))
            continue
        loose = {k: v for k, v in definition.items() if k != "enum"}
        enum = definition.get("enum")
        for i, value in enumerate(enum if isinstance(enum, list) else []):
            try:
                check_param(name, value, loose)
            except ParamError as exc:
                diags.append(loaded.diag("E206", f"enum value of param '{name}': {value!r} "
                                         f"{exc.reason}", base + ("enum", i)))
        default = definition.get("default")
        if default is not None and not is_templated(default):
            try:
                check_param(name, default, definition)
            except ParamError as exc:
                diags.append(loaded.diag("E206", f"default of param '{name}': {default!r} "
                                         f"{exc.reason}", base + ("default",)))
    return diags
