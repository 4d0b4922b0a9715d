"""The project: its root folder, and checks across the specs validated together (unique
pipeline ids, asset producers).

An asset is named `<pipeline>.<dataset>`; every dataset a spec writes is an asset that other
specs may be scheduled on. A spec scheduled on assets that no spec writes must say
`external: true`.
"""

from __future__ import annotations

from pathlib import Path

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .model import PipelineSpec
from .schedules import asset_leaves


def project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding a pyproject.toml, else the cwd."""
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def asset_name(pipeline: str, dataset: str) -> str:
    return f"{pipeline}.{dataset}"


def produced_assets(spec: PipelineSpec) -> list[str]:
    return [asset_name(spec.id, s.writes) for s in spec.steps.values() if s.writes]


def check(specs: list[tuple[LoadedSpec, PipelineSpec]]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    first: dict[str, LoadedSpec] = {}
    for loaded, spec in specs:
        if spec.id in first:
            other = first[spec.id]
            diags.append(loaded.diag("E307", f"pipeline id '{spec.id}' is already used by {other.path}",
                                     ("pipeline",), help="pipeline ids become DAG ids and must be unique"))
        else:
            first[spec.id] = loaded
    produced = {a for _, s in specs for a in produced_assets(s)}
    for loaded, spec in specs:
        schedule = spec.raw.get("schedule")
        if not isinstance(schedule, dict) or schedule.get("external"):
            continue
        for where, asset in asset_leaves(schedule.get("assets")):
            if asset not in produced:
                diags.append(loaded.diag("E308", f"no spec writes asset '{asset}'", ("schedule", "assets", *where),
                                         help=did_you_mean(asset, produced)
                                         or "name it '<pipeline>.<dataset>', or set 'external: true'"))
    return diags
