"""Shared defaults: a `defaults.yaml` per folder, cascading to every spec below it (as
dag-factory's `defaults.yml`).

For a spec, each folder from the project root (the nearest folder holding a pyproject.toml;
without one, only the spec's own folder) down to the spec's folder may hold `defaults.yml` or
`defaults.yaml` (the first of the two, as dag-factory looks). They merge as dag-factory merges
them: the nearest folder wins per key, per key of `defaults:` too (dag-factory's
`default_args`), and `tags` are the sorted union of all the files. The spec then wins over
the merged defaults, mappings merged recursively (dag-factory's `merge_configs`): a spec's
`defaults: {retries: 2}` keeps the shared `defaults.pool`, a spec's `tags` replace the
shared ones.

A defaults file holds DAG-level keys only (`SHAREABLE`); anything else is E201 in that file,
and every value is checked against the spec schema's own rule for its key, positioned in the
defaults file. Values a spec inherits keep their origin (`LoadedSpec.inherited`), so a later
diagnostic about one points into the defaults file and `etlc explain` names where each
effective value came from.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import loader, schema_check
from .diagnostics import Diagnostic
from .loader import LoadedSpec

FILE_NAMES = ("defaults.yml", "defaults.yaml")
SHAREABLE = ("etlc", "owner", "tags", "schedule", "start_date", "end_date", "catchup", "max_active_runs",
             "dagrun_timeout", "max_active_tasks", "max_consecutive_failed_dag_runs",
             "is_paused_upon_creation", "render_template_as_native_obj", "owner_links", "fail_fast",
             "on_success_callback", "on_failure_callback", "defaults", "staging", "tracking")


def is_defaults_file(path: Path) -> bool:
    return path.name in FILE_NAMES


def chain(spec_path: str | Path) -> list[Path]:
    """The defaults files a spec inherits from, farthest (weakest) first."""
    folder = Path(spec_path).resolve().parent
    folders: list[Path] = []
    for f in (folder, *folder.parents):
        folders.append(f)
        if (f / "pyproject.toml").is_file():
            break
    else:
        folders = [folder]   # no project root above: the spec's own folder only
    found = []
    for f in reversed(folders):
        first = next((f / n for n in FILE_NAMES if (f / n).is_file()), None)
        if first is not None:
            found.append(first)
    return found


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    full = schema_check.schema()
    part = {k: v for k, v in full.items() if k not in ("$id", "required", "properties", "title", "description")}
    part["properties"] = {k: full["properties"][k] for k in SHAREABLE}
    return Draft202012Validator(part)


_LOADED: dict[tuple[str, bytes], tuple[LoadedSpec | None, list[Diagnostic]]] = {}  # by path and bytes


def _load_one(path: Path) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """A defaults file, loaded and validated once per path and content in this process."""
    raw, diags = loader.read_spec(path)
    if raw is None:
        return None, diags
    key = (str(path), raw)
    if key not in _LOADED:
        loaded, diags = loader.load(raw, str(path))
        _LOADED[key] = (None, diags) if loaded is None else (loaded, schema_check.validate_with(loaded, _validator()))
    return _LOADED[key]


def _merge_files(files: list[LoadedSpec]) -> tuple[dict[str, Any], dict[tuple, LoadedSpec]]:
    """dag-factory's merge of its defaults files (weakest first): the data and each value's file."""
    data: dict[str, Any] = {}
    origin: dict[tuple, LoadedSpec] = {}
    for f in files:
        for key, value in f.data.items():
            if key == "etlc":
                continue
            if key == "defaults" and isinstance(value, dict):
                data.setdefault("defaults", {}).update(value)
                origin.update({("defaults", k): f for k in value})
            elif key == "tags" and isinstance(value, list):
                data["tags"] = sorted(set(data.get("tags", [])) | set(value))
                origin[("tags",)] = f
            else:
                data[key] = value
                origin[(key,)] = f
    return data, origin


def _deep_merge(spec: dict, shared: dict, origin: dict[tuple, LoadedSpec], path: tuple,
                inherited: dict[tuple, LoadedSpec]) -> dict:
    """The spec over the shared values, mappings merged recursively; records inherited paths."""
    out = dict(spec)
    for key, value in shared.items():
        sub = path + (key,)
        if key not in spec:
            out[key] = value
            owner = origin.get(sub) or origin.get(path)
            if owner is not None:
                inherited[sub] = owner
        elif isinstance(spec[key], dict) and isinstance(value, dict):
            out[key] = _deep_merge(spec[key], value, origin, sub, inherited)
    return out


def apply(loaded: LoadedSpec) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """The spec with its shared defaults merged in, or None and the defaults files' diagnostics."""
    files, diags = [], []
    for path in chain(loaded.path):
        shown = path if Path(loaded.path).is_absolute() else Path(os.path.relpath(path))
        one, found = _load_one(shown)
        diags += found
        if one is not None:
            files.append(one)
    if any(d.is_error for d in diags):
        return None, diags
    if not files or not isinstance(loaded.data, dict):
        return loaded, diags
    shared, origin = _merge_files(files)
    inherited: dict[tuple, LoadedSpec] = {}
    data = _deep_merge(loaded.data, shared, origin, (), inherited)
    return replace(loaded, data=data, inherited=inherited), diags


def load(raw: bytes | str, path: str) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """`loader.load` and then the shared defaults: what every stage after loading sees."""
    loaded, diags = loader.load(raw, path)
    if loaded is None:
        return None, diags
    return apply(loaded)


def fingerprint(spec_path: str | Path) -> bytes:
    """The defaults files a spec inherits from, path and bytes, for the check cache's key."""
    parts = []
    for path in chain(spec_path):
        try:
            parts.append(str(path).encode() + b"\0" + path.read_bytes())
        except OSError:
            parts.append(str(path).encode() + b"\0-")
    return b"\0\0".join(parts)
