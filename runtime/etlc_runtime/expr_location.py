"""Where a run-time expression error (R041, ``expr.EvalError``) sits in the spec file.

The evaluators record the failing sub-expression's offsets in the expression's own text; this
module finds the step key that holds that text (``filter``, ``qualify``, ``having``, a
``derive``/``aggregate``/``metrics`` entry, a ``checks.expect`` item) and maps the offsets to
the file's line and column with the compiler's loader, exactly as compile-time diagnostics
are mapped, whatever the YAML quoting style. Nothing is located when the spec file cannot be
read or no longer holds the same text at that key (it changed since it was compiled).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

SINGLE = ("filter", "qualify", "having")
NAMED = ("derive", "aggregate", "metrics")


def expression_paths(step: Mapping[str, Any]) -> Iterator[tuple[tuple, str]]:
    """(path inside the step, text) of every expression a step holds."""
    for key in SINGLE:
        if isinstance(step.get(key), str):
            yield (key,), step[key]
    for key in NAMED:
        entries = step.get(key)
        if isinstance(entries, Mapping):
            for name, text in entries.items():
                if isinstance(text, str):
                    yield (key, name), text
    expect = (step.get("checks") or {}).get("expect") if isinstance(step.get("checks"), Mapping) \
        else None
    if isinstance(expect, str):
        yield ("checks", "expect"), expect
    elif isinstance(expect, list):
        for i, text in enumerate(expect):
            if isinstance(text, str):
                yield ("checks", "expect", i), text


def _same(text: str, err: Any) -> bool:
    """Whether ``text`` is the expression ``err`` came from: its ``source`` when the runtime
    knew it, else the same canonical form (the dask engine evaluates parsed trees), of the
    whole text or of the part at the error's span (an aggregate's argument is evaluated
    alone)."""
    if getattr(err, "source", None) is not None:
        return text == err.source
    return holds(text, err)


def holds(text: str, err: Any) -> bool:
    """Whether ``err`` (an EvalError without its source) came from evaluating ``text``."""
    from .expr import ExprError, parse, unparse
    from .expr.ast import walk

    if getattr(err, "expression", None) is None:
        return False
    try:
        tree = parse(text)
    except ExprError:  # not an expression that parses: not the one that ran
        return False
    if unparse(tree) == err.expression:
        return True
    if err.start is None:
        return False
    return any(n.start <= err.start and err.end <= n.end and unparse(n) == err.expression
               for n in walk(tree))


@lru_cache(maxsize=8)
def _loaded(path: str, mtime_ns: int):
    from etlc_compiler.loader import load, read_spec

    raw, _ = read_spec(path)
    if raw is None:
        return None
    loaded, _ = load(raw, path)
    return loaded


def _spec_file(spec: str, root: Path | None) -> Path | None:
    p = Path(spec)
    candidates = [p] if p.is_absolute() or root is None else [root / p, p]
    return next((c for c in candidates if c.is_file()), None)


def _spec(spec: str | None, root: Path | None):
    """The loaded spec file (the compiler's loader), or None where it cannot be read."""
    file = _spec_file(spec, root) if spec else None
    if file is None:
        return None
    try:
        return _loaded(str(file), file.stat().st_mtime_ns)
    except (OSError, ValueError, ImportError):  # the error matters more than its place
        return None


def key_at(spec: str | None, root: Path | None, path: tuple) -> tuple[int, int] | None:
    """(line, column) of the key at ``path`` in the spec file (``("steps", name, "cast",
    column)``: a ``cast:`` entry); None when the file cannot be read or has no such key."""
    loaded = _spec(spec, root)
    pos = loaded.keys.get(tuple(path)) if loaded is not None else None
    return (pos.line, pos.col) if pos else None


def locate(err: Any, spec: str | None, root: Path | None, steps: list[Mapping[str, Any]]) -> bool:
    """Fill ``err.file/line/column/end_column`` from the first of ``steps`` (the failing step
    first) holding ``err.source``; whether it was found."""
    start = getattr(err, "start", None)
    if not spec or start is None:
        return False
    for step in steps:
        path, source = next(((p, text) for p, text in expression_paths(step)
                             if _same(text, err)), (None, None))
        if path is None:
            continue
        loaded = _spec(spec, root)
        if loaded is None:
            return False
        full = ("steps", step.get("name"), *path)
        value: Any = getattr(loaded, "data", None)
        for part in full:
            value = value.get(part) if isinstance(value, Mapping) else (
                value[part] if isinstance(value, list) and isinstance(part, int)
                and part < len(value) else None)
        if value != source:
            return False
        err.source = source
        end = max(getattr(err, "end", None) or start + 1, start + 1)
        line, col, end_col = loaded.span_in_string(full, start, end)
        err.file, err.line, err.column, err.end_column = spec, line, col, end_col
        return True
    return False
