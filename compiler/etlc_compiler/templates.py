"""Analyse stage: templated strings (`{{ ds }}`, `{{ params.x }}`) name known macros only.

Templated places: dataset `path`, `table`, `collection`, the staging path, parameter
defaults and operator/call `args`. Templates are rendered at run time (by Airflow for
operator args, by the runtime for datasets); here we only check them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .model import PipelineSpec

MACROS = ("ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "data_interval_start",
          "data_interval_end", "run_id", "dag_run", "params", "task_instance", "ti", "macros")
_BLOCK = re.compile(r"\{\{(.*?)\}\}|\{%|\{\{", re.DOTALL)
_UNSAFE = re.compile(r"__|\\|\battr\b|\[|\bself\b|\bnamespace\b|\bcycler\b|\bjoiner\b|\blipsum\b")
_HEAD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?")


def templated_strings(spec: PipelineSpec) -> Iterator[tuple[tuple, str]]:
    for name, ds in spec.datasets.items():
        for key in ("path", "table", "collection"):
            value = ds.raw.get(key)
            if isinstance(value, str):
                yield ("datasets", name, key), value
    staging = spec.raw.get("staging")
    if isinstance(staging, dict) and isinstance(staging.get("path"), str):
        yield ("staging", "path"), staging["path"]
    for name, p in spec.params.items():
        if isinstance(p, dict) and isinstance(p.get("default"), str):
            yield ("params", name, "default"), p["default"]
    for name, step in spec.steps.items():
        yield from _strings(step.raw.get("args"), ("steps", name, "args"))


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def check_template(text: str, params: list[str]) -> list[tuple[int, int, str, str | None]]:
    """Problems in one templated string: (start, end, message, help), offsets into text."""
    problems = []
    for m in _BLOCK.finditer(text):
        if m.group(0) == "{%":
            problems.append((m.start(), m.end(), "template statements ({% ... %}) are not supported", None))
            continue
        if m.group(1) is None:
            problems.append((m.start(), m.end(), "unclosed '{{' in a templated string", "close it with '}}'"))
            continue
        unsafe = _UNSAFE.search(m.group(1))
        if unsafe:
            a = m.start(1) + unsafe.start()
            problems.append((a, a + len(unsafe.group(0)), "this template expression is not allowed: templates name "
                             "macros, their attributes, calls and filters, nothing private",
                             "Airflow renders operator arguments with unsandboxed Jinja"))
            continue
        head = _HEAD.match(m.group(1))
        if not head:
            problems.append((m.start(), m.end(), "a template must start with a macro name", None))
            continue
        name, attr = head.group(1), head.group(2)
        start = m.start(1) + head.start(1)
        if name not in MACROS:
            problems.append((start, start + len(name), f"unknown macro '{name}'",
                             did_you_mean(name, MACROS) or "known: " + ", ".join(MACROS)))
        elif name == "params" and attr is not None and attr not in params:
            a = m.start(1) + head.start(2)
            problems.append((a, a + len(attr), f"unknown parameter 'params.{attr}'", did_you_mean(attr, params)))
    return problems


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    diags = []
    params = list(spec.params)
    for path, text in templated_strings(spec):
        if "{" not in text:
            continue
        for start, end, message, help in check_template(text, params):
            code = "E311" if message.startswith("unknown parameter") else "E312"
            line, col, end_col = loaded.span_in_string(path, start, end)
            diags.append(Diagnostic(loaded.path, line, col, code, message, "error",
                                    line if end_col else None, end_col, help))
    return diags
