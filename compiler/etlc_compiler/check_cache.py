"""The check verdict of a spec, cached on disk so that a spec is checked once: `etlc validate`,
`etlc compile` and `etlc run` share it (a run after a compile skips the checks).

A spec that passed every check (warnings allowed) leaves `<cache>/checks/<hash of its
path>.json` holding a key and what the run needs from the check besides the spec itself: its
warnings and the column types of its steps. The key hashes everything the verdict was judged
from: the spec's bytes, the shared `defaults.yaml` files above it (path and bytes), the etlc version, the size and mtime of the compiler's and the
expression language's sources and schema, the project's pyproject.toml, the ETLC_*
environment and, for each operator the spec names, the operator check's fingerprint. Any
change gives another key, and the spec is checked again. A hit still parses the YAML (the
run needs the positions) but skips the schema and every analysis. `<cache>` is
ETLC_CACHE_DIR when set, else the project's `.etlc/cache`.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import loader, model, shared_defaults
from .api import Checked, check_text
from .diagnostics import Diagnostic
from .project import project_root
from .version import etlc_version

FORMAT = 2   # 2: entries keep the step types' column order (codegen reads them)


def cache_dir(root: Path) -> Path:
    base = os.environ.get("ETLC_CACHE_DIR")
    return Path(base) if base else root / ".etlc" / "cache"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The etlc version and the sources a verdict depends on (a source-tree edit counts)."""
    from importlib.util import find_spec

    h = hashlib.sha256(etlc_version().encode())
    expr = find_spec("etlc_runtime.expr")   # where it is, without importing it (and lark)

    for package in (Path(__file__).parent, Path(expr.origin or "").parent):
        for path in sorted(package.rglob("*")):
            if path.suffix in (".py", ".json", ".lark", ".j2") and "__pycache__" not in path.parts:
                st = path.stat()
                h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _key(raw: bytes, path: str, root: Path, spec: model.PipelineSpec) -> str:
    h = hashlib.sha256(f"{FORMAT}\n{code_fingerprint()}\n{path}\n{root}\n".encode())
    h.update(hashlib.sha256(raw).digest())
    h.update(hashlib.sha256(shared_defaults.fingerprint(path)).digest())   # defaults.yaml above it
    try:
        h.update((root / "pyproject.toml").read_bytes())
    except OSError:
        h.update(b"-")
    h.update(json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("ETLC_")
                               and k not in ("ETLC_CACHE_DIR", "ETLC_DEBUG"))).encode())
    for step in spec.steps.values():
        op = step.raw.get("operator")
        if isinstance(op, str):
            from . import operator_check

            h.update(f"{op}={operator_check.fingerprint(op)}\n".encode())
    return h.hexdigest()


def _entry_path(root: Path, path: str) -> Path:
    name = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:32]
    return cache_dir(root) / "checks" / f"{name}.json"


def check_file(path: str | Path, root: Path) -> tuple[Checked, bool]:
    """The spec's check result and whether it came from the cache."""
    path = str(path)
    raw, diags = loader.read_spec(path)
    if raw is None:
        return Checked(path, None, None, tuple(diags)), False
    loaded, diags = shared_defaults.load(raw, path)
    if loaded is None:
        return Checked(path, None, None, tuple(diags)), False
    spec = model.build(path, loaded.data)
    key = _key(raw, str(Path(path).resolve()), root, spec)
    entry = _entry_path(root, path)
    hit = _read(entry, key)
    if hit is not None:
        try:   # the verdict may have been cached under another spelling of the path
            warnings = tuple(Diagnostic(**(d | {"path": path})) for d in hit["diagnostics"])
        except TypeError:
            warnings = None
        if warnings is not None and not any(d.is_error for d in warnings):
            return Checked(path, loaded, spec, warnings, hit["step_types"]), True
    checked = check_text(raw, path)
    if checked.ok:
        _write(entry, {"key": key, "diagnostics": [d.__dict__ for d in checked.diagnostics],
                       "step_types": dict(checked.step_types)})
    return checked, False


def _read(entry: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    if not isinstance(data.get("diagnostics"), list) or not isinstance(data.get("step_types"), dict):
        return None
    return data


def _write(entry: Path, data: dict[str, Any]) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data), encoding="utf-8")   # key order is the plan's order
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written only costs time


def check_in_project(path: str | Path) -> Checked:
    """``check_file`` with the spec's own project root: what `etlc validate` and `etlc compile`
    check with, so that `etlc run` after either finds the verdict cached."""
    return check_file(path, project_root(Path(path).resolve().parent))[0]
