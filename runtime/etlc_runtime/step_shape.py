"""What a task plan's step is, read from its keys: its kind, and the steps it takes rows
from (``from``, a join's ``with``, ``union``).  The executor dispatches on these; a dataset
whose ``path`` is ``s3://`` goes through the S3 modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DATA_KINDS = ("read", "transform", "write", "call")


def step_kind(step: Mapping[str, Any]) -> str:
    """The step's ``kind`` (plans carry it), else the first key that names one."""
    if step.get("kind"):
        return step["kind"]
    for kind in ("read", "write", "call", "operator"):
        if step.get(kind):
            return kind
    return "transform"


def sources(step: Mapping[str, Any]) -> list[str]:
    """The steps named by ``from`` (one name or a list)."""
    src = step.get("from") or []
    return [src] if isinstance(src, str) else list(src)


def joined(step: Mapping[str, Any]) -> list[str]:
    """The steps a step's join and union name (inputs besides ``from``)."""
    out = []
    joins = step.get("join") or []
    for spec in joins if isinstance(joins, list) else [joins]:
        if isinstance(spec, Mapping) and spec.get("with"):
            out.append(spec["with"])
    unions = step.get("union") or []
    out += [unions] if isinstance(unions, str) else list(unions)
    return out


def on_s3(dataset: Mapping[str, Any]) -> bool:
    return str(dataset.get("path") or "").lower().startswith("s3://")
