"""Validate stage: the loaded data against schema/pipeline.schema.json.

A valid spec is confirmed by jsonschema-rs (fast); an invalid one is explained by the
reference implementation, jsonschema, which reports the most relevant error per location (jsonschema's relevance ordering), points at
the offending key or value, and suggests the closest valid key or enum value (E2xx).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec

SCHEMA_FILE = "pipeline.schema.json"


def schema_text() -> str:
    """The schema shipped with the package (a copy of the repository's schema/)."""
    repo_copy = Path(__file__).resolve().parents[2] / "schema" / SCHEMA_FILE
    if repo_copy.is_file():
        return repo_copy.read_text(encoding="utf-8")
    return resources.files("etlc_compiler").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(schema_text())


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _fast_validator():
    """jsonschema-rs (Rust) answers 'valid?' in microseconds; None where it is not installed."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(schema())


def validate(spec: LoadedSpec) -> list[Diagnostic]:
    fast = _fast_validator()
    if fast is not None and fast.is_valid(spec.data):
        return []
    return validate_with(spec, _validator())


def validate_with(spec: LoadedSpec, validator: Any) -> list[Diagnostic]:
    """The diagnostics of ``validator`` (a jsonschema validator) on the loaded data."""
    from jsonschema.exceptions import relevance

    by_location: dict[tuple, list] = {}
    for error in validator.iter_errors(spec.data):
        by_location.setdefault(tuple(error.absolute_path), []).append(error)
    diags: list[Diagnostic] = []
    for location in sorted(by_location, key=lambda p: spec.value_pos(p)):
        errors = by_location[location]
        # relevance() ranks weak matches (anyOf/oneOf) and shallow errors lower;
        # among the best, prefer the deepest context error, as best_match does.
        best = sorted(errors, key=relevance)[-1]
        while best.context:
            deeper = sorted(best.context, key=relevance)
            best = deeper[-1]
        diags.extend(_to_diagnostics(spec, best))
    diags.sort(key=Diagnostic.sort_key)
    return _dedupe(diags)


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diags:
        key = (d.line, d.col, d.code)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _properties(schema_part: dict) -> list[str]:
    props = list(schema_part.get("properties", {}))
    return props


def _to_diagnostics(spec: LoadedSpec, error: Any) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    kind = error.validator
    instance = error.instance
    sub = error.schema if isinstance(error.schema, dict) else {}
    where = _describe(path)
    if "propertyNames" in error.schema_path and isinstance(instance, str):
        names = sub if kind == "pattern" else {}
        return [spec.diag("E205", f"name {instance!r}{where} {_pattern_text(names)}", path + (instance,), at="key",
                          help=names.get("x-help"))]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        allowed = _properties(sub)
        patterns = list(sub.get("patternProperties", {}))
        out = []
        import re

        for key in instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            hint = did_you_mean(key, allowed)
            if not hint and allowed:
                hint = "allowed keys: " + ", ".join(sorted(allowed))
            out.append(spec.diag("E201", f"unknown key '{key}'{where}", path + (key,), at="key", help=hint))
        return out
    if kind == "required":
        missing = [k for k in error.validator_value if isinstance(instance, dict) and k not in instance]
        name = missing[0] if missing else str(error.message)
        line_col = spec.key_pos(path) if path else (1, 1)
        return [Diagnostic(spec.path, line_col[0], line_col[1], "E202",
                           f"missing required key '{name}'{where}")]
    if kind == "propertyNames":
        return [spec.diag("E205", f"name {instance!r}{where} {_pattern_text(sub)}", path + (instance,), at="key")]
    if kind == "const" and path == ("etlc",):
        return [spec.diag("E207", f"unsupported spec format version {instance!r}; this etlc reads version 1",
                          path, help="write 'etlc: 1'")]
    if kind in ("enum", "const"):
        options = error.validator_value if kind == "enum" else [error.validator_value]
        hint = did_you_mean(instance, [str(o) for o in options]) if isinstance(instance, str) else None
        if not hint:
            hint = "expected one of: " + ", ".join(repr(o) for o in options)
        return [spec.diag("E204", f"{instance!r} is not allowed{where}", path, help=hint)]
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [spec.diag("E203", f"expected {_article(expected)}{where}, got {_json_type(instance)}", path)]
    if kind in ("pattern", "format"):
        return [spec.diag("E205", f"{instance!r}{where} {_pattern_text(sub)}", path,
                          help=sub.get("x-help") or _examples(sub))]
    return [spec.diag("E206", f"{error.message}{where}", path)]


# The schema ends its patterns with this, not `$`: Python's `$` (and jsonschema-rs's) also
# matches before a final newline, so "raw\n" passed as a name and then broke the compile.
END_OF_TEXT = "(?![\\s\\S])"


def _shown(pattern: str) -> str:
    return pattern[: -len(END_OF_TEXT)] + "$" if pattern.endswith(END_OF_TEXT) else pattern


def _pattern_text(sub: dict) -> str:
    if "x-form" in sub:
        return f"is not {sub['x-form']}"
    if "pattern" in sub:
        return f"does not match the expected form /{_shown(sub['pattern'])}/"
    names = sub.get("propertyNames", {})
    if isinstance(names, dict) and "pattern" in names:
        return f"does not match /{_shown(names['pattern'])}/"
    return "is not in the expected form"


def _examples(sub: dict) -> str | None:
    ex = sub.get("examples")
    return "for example: " + ", ".join(repr(e) for e in ex[:3]) if ex else None


def _describe(path: tuple) -> str:
    if not path:
        return ""
    shown = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path)
    return f" in '{shown.replace('.[', '[')}'"


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"
