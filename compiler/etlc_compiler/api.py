"""The compiler's Python API: what the CLI, the pre-commit hooks and the tests call.

`validate_paths` runs load -> schema -> model -> analyse on every spec file under the given
paths, then the project checks across them; one broken file never hides another's results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import loader, model, project, schema_check, semantic, shared_defaults
from .diagnostics import Diagnostic, has_errors

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Checked:
    """One spec file after analysis: its loaded text, typed spec (None if it failed early)."""

    path: str
    loaded: loader.LoadedSpec | None
    spec: model.PipelineSpec | None
    diagnostics: tuple[Diagnostic, ...]
    step_types: Mapping[str, dict] = field(default_factory=dict)  # for the plan (typing_pass)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not has_errors(self.diagnostics)


def _specs_in(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.suffix in SPEC_SUFFIXES and f.is_file()
                  and not shared_defaults.is_defaults_file(f)
                  and not any(part.startswith(".") for part in f.relative_to(folder).parts))


def spec_files(paths: list[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The spec files under paths; a shared defaults file stands for the specs that inherit it."""
    files, diags = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(_specs_in(p))
        elif p.is_file() and shared_defaults.is_defaults_file(p):  # changed: check the specs below it
            files.extend(_specs_in(p.parent))
        elif p.exists():  # a file, or a FIFO or device that loader.read_spec refuses (E111)
            files.append(p)
        else:
            diags.append(Diagnostic(str(p), 1, 1, "E100", f"no such file or folder: {p}"))
    return list(dict.fromkeys(files)), diags


def check_text(raw: bytes | str, path: str) -> Checked:
    loaded, diags = shared_defaults.load(raw, path)
    if loaded is None:
        return Checked(path, None, None, tuple(diags))
    diags += schema_check.validate(loaded)
    if has_errors(diags):
        return Checked(path, loaded, None, tuple(diags))
    spec = model.build(path, loaded.data)
    found, step_types = semantic.analyse(loaded, spec)
    diags += found
    diags.sort(key=Diagnostic.sort_key)
    return Checked(path, loaded, spec, tuple(diags), step_types)


def check_file(path: str | Path) -> Checked:
    raw, diags = loader.read_spec(path)
    if raw is None:
        return Checked(str(path), None, None, tuple(diags))
    return check_text(raw, str(path))


def check_paths(paths: list[str | Path], check: Callable[[Path], Checked] | None = None
                ) -> tuple[list[Checked], list[Diagnostic]]:
    """Check every spec under paths (each with ``check``, default ``check_file``); returns
    per-file results and the project diagnostics."""
    files, missing = spec_files(paths)
    results = [(check or check_file)(f) for f in files]
    good = [(r.loaded, r.spec) for r in results if r.spec is not None and r.loaded is not None]
    return results, missing + project.check(good)


def validate_paths(paths: list[str | Path]) -> list[Diagnostic]:
    results, extra = check_paths(paths)
    diags = [d for r in results for d in r.diagnostics] + extra
    return sorted(diags, key=Diagnostic.sort_key)
