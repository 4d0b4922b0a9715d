"""Analyse stage: local paths the compiler can see stay where etlc may read and write (E315).

Local paths are dataset `path`s without a connection (or written as `file:` URLs) and the
`staging` path without a connection. The rules are the runtime's own
(`etlc_runtime.paths.write_problem` / `read_problem`, against the project root and the roots
`[tool.etlc]` in its pyproject.toml and the environment declare), so the compiler and the
runtime never disagree. A written dataset (and staging) is judged as a write, a dataset only
read as a read.

A templated path is rendered over sample macros (`{{ ds }}` of 2025-01-01) and over every
value the compiler knows a param can take: each `enum` value and the default; a param with
neither renders as a harmless name, and the runtime judges the real value again
(`ensure_writable`). Templates with their own errors (E311/E312) are left to that check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .loader import LoadedSpec
from .model import PipelineSpec
from .templates import check_template

CODE = "E315"
SAMPLE_DATE = "2025-01-01"
SAMPLE_RUN_ID = "manual__2025-01-01T00:00:00+00:00"
PLACEHOLDER = {"string": "x", "integer": 0, "number": 0, "boolean": False, "array": [],
               "object": {}}
_PARAM_REF = re.compile(r"\bparams\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
HELP = ("use a folder inside the project root, or declare one: [tool.etlc] writable_roots / "
        "readable_roots in pyproject.toml, or ETLC_WRITABLE_ROOTS for the operator")


def spec_root(loaded: LoadedSpec) -> Path:
    """The project root of a spec, found as the runtime finds it."""
    from etlc_runtime.paths import find_project_root

    path = Path(loaded.path)
    return find_project_root(path.resolve() if path.is_file() else None)


def local_places(spec: PipelineSpec) -> Iterator[tuple[tuple, str, str, str]]:
    """(json path, text, what, access) of every local path in the spec."""
    written = {s.writes for s in spec.steps.values() if s.writes}
    for name, ds in spec.datasets.items():
        text = ds.raw.get("path")
        if isinstance(text, str) and (ds.connection is None or text.lower().startswith("file:")):
            access = "write" if name in written else "read"
            yield ("datasets", name, "path"), text, f"dataset '{name}'", access
    staging = spec.raw.get("staging")
    if isinstance(staging, dict) and isinstance(staging.get("path"), str) \
            and staging.get("connection") is None:
        yield ("staging", "path"), staging["path"], "the staging folder", "write"


def _sample(definition: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
    from etlc_runtime.templating import is_templated, render

    default = definition.get("default")
    if default is not None and not is_templated(default):
        return default
    if default is not None:
        try:
            return render(default, values)
        except Exception:  # noqa: BLE001, S110 - a default the compiler cannot render
            pass
    enum = definition.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = definition.get("type")
    return PLACEHOLDER.get(kind if isinstance(kind, str) else "string", "x")


def renderings(text: str, spec: PipelineSpec) -> Iterator[tuple[str, str | None]]:
    """(rendered text, which param value gave it) for every value the compiler can see."""
    from etlc_runtime.templating import is_templated, macros, render

    if not is_templated(text):
        yield text, None
        return
    if check_template(text, list(spec.params)):
        return
    defs = {n: p for n, p in spec.params.items() if isinstance(p, Mapping)}
    values = macros(SAMPLE_RUN_ID, SAMPLE_DATE, {})
    base = {n: _sample(p, values) for n, p in defs.items()}
    trials: list[tuple[dict, str | None]] = [(base, None)]
    for name in dict.fromkeys(_PARAM_REF.findall(text)):
        definition = defs.get(name, {})
        choices = list(definition.get("enum") or []) if isinstance(definition.get("enum"), list) else []
        if definition.get("default") is not None:
            choices.append(definition["default"])
        for choice in choices:
            trials.append((base | {name: choice}, f"params.{name} = {choice!r}"))
    for params, note in trials:
        try:
            yield render(text, values | {"params": params}), note
        except Exception:  # noqa: BLE001, S112 - not visible now; judged at run time
            continue


def judge(text: str, root: Path, access: str) -> str | None:
    """Why a local path text is refused, or None (also None for what is not a local path)."""
    from etlc_runtime import paths

    try:
        target = paths.local_path(text, root)
        roots = paths.project_roots(root)
        return (paths.write_problem if access == "write" else paths.read_problem)(target, roots)
    except (paths.NotAvailable, ValueError, OSError):
        return None


def check(loaded: LoadedSpec, spec: PipelineSpec, root: Path | None = None) -> list[Diagnostic]:
    places = list(local_places(spec))
    if not places:
        return []
    root = root or spec_root(loaded)
    diags = []
    for path, text, what, access in places:
        for rendered, note in renderings(text, spec):
            reason = judge(rendered, root, access)
            if reason is None:
                continue
            shown = f"{text!r}" if rendered == text else f"{text!r} (as {rendered!r})"
            when = f"with {note}, " if note else ""
            verb = "written to" if access == "write" else "read from"
            if what.startswith("the staging"):
                verb = "at"
            diags.append(loaded.diag(CODE, f"{when}{what} is {verb} {shown}, which {reason}",
                                     path, help=HELP))
            break
    return diags + overlaps(loaded, spec, root)


def _where(text: str, spec: PipelineSpec, root: Path) -> Path | None:
    """The real path a local path text names (its first rendering), or None."""
    from etlc_runtime import paths

    rendered = next(renderings(text, spec), (None, None))[0]
    if rendered is None or paths.has_glob(rendered):
        return None
    try:
        return Path(os.path.realpath(paths.local_path(rendered, root)))
    except (paths.NotAvailable, ValueError, OSError):
        return None


def overlaps(loaded: LoadedSpec, spec: PipelineSpec, root: Path) -> list[Diagnostic]:
    """E317: a written dataset that is, holds or lies in the staging folder or another
    written dataset (one write would replace the other's files), or that is the path of a
    dataset of another format.  Reported once per pair, at the later path."""
    places = []
    staging = spec.raw.get("staging")
    if not isinstance(staging, dict) or (staging.get("path") is None
                                         and staging.get("connection") is None):
        places.append((None, "the staging folder", "write", _where(".etlc/staging", spec, root),
                       None))
    places += [(p, w, a, _where(t, spec, root), spec.datasets[p[1]].raw.get("format")
                if p[0] == "datasets" else None) for p, t, w, a in local_places(spec)]
    diags = []
    for i, (path, what, access, real, fmt) in enumerate(places):
        for _, o_what, o_access, o_real, o_fmt in places[:i]:
            if real is None or o_real is None or path is None or "write" not in (access, o_access):
                continue
            same = real == o_real
            nested = same or o_real in real.parents or real in o_real.parents
            if (nested and access == o_access == "write") or (same and fmt != o_fmt):
                diags.append(loaded.diag("E317", f"{what} is at {real}, which "
                                         f"{'is' if same else 'overlaps'} {o_what} ({o_real})",
                                         path, help="give each written dataset and the "
                                         "staging folder a folder of its own"))
                break
    return diags
