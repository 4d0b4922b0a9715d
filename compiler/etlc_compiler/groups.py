"""Task groups: `groups:` (nested through `group:`, with tooltips and Airflow's id prefixing) and
`group:` on any step; `after:` of a step or a group may name a group.

Dependencies on groups become dependencies between steps, as Airflow's `>>` on a TaskGroup
makes them: `a >> group` runs `a` before the group's roots (members with no upstream inside
the group), `group >> b` runs `b` after its leaves (members with no downstream inside it), and
`group_b.after: [group_a]` joins a's leaves to b's roots. So the plan, fusion and `etlc run`
see only steps; the DAG file also draws the groups (`TaskGroup`, `task_group=`), so Airflow
prefixes task ids (`load.save`) unless the group says `prefix: false`.

E331: an unknown group (on a step, as a parent or in `after`), a group that holds itself
through its parents, or a group named like a step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec


def declared(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    groups = raw.get("groups")
    return {n: (g if isinstance(g, dict) else {}) for n, g in groups.items()} if isinstance(groups, dict) else {}


def members(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each group's steps, its nested groups' included, in spec order."""
    groups = declared(raw)
    out: dict[str, list[str]] = {g: [] for g in groups}
    for name, step in (raw.get("steps") or {}).items():
        g = (step or {}).get("group") if isinstance(step, dict) else None
        seen = set()
        while isinstance(g, str) and g in groups and g not in seen:
            seen.add(g)
            out[g].append(name)
            g = groups[g].get("group")
    return out


def expand_after(raw: Mapping[str, Any], edges: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Each step's `after`, with groups replaced by steps as Airflow's `>>` on groups does.

    edges: step -> its upstream steps from data inputs and `after` steps (no groups)."""
    groups = declared(raw)
    inside = members(raw)
    steps = raw.get("steps") or {}

    def roots(g: str) -> list[str]:
        mine = set(inside[g])
        return [s for s in inside[g] if not any(u in mine for u in edges.get(s, ()))]

    def leaves(g: str) -> list[str]:
        mine = set(inside[g])
        fed = {u for s in inside[g] for u in edges.get(s, ()) if u in mine}
        return [s for s in inside[g] if s not in fed]

    def ends(names: Any) -> list[str]:   # what `after: names` waits for
        out = []
        for n in names if isinstance(names, list) else [names]:
            if isinstance(n, str):
                out += leaves(n) if n in groups else [n]
        return out

    result: dict[str, list[str]] = {}
    for name, step in steps.items():
        step = step if isinstance(step, dict) else {}
        result[name] = ends(step.get("after") or [])
    for g, spec in groups.items():
        if spec.get("after"):
            for s in roots(g):
                result[s] = result.get(s, []) + ends(spec["after"])
    return {n: tuple(dict.fromkeys(a for a in v if a != n)) for n, v in result.items()}


def check(loaded: LoadedSpec, raw: Mapping[str, Any]) -> list[Diagnostic]:
    groups = declared(raw)
    steps = raw.get("steps") or {}
    diags: list[Diagnostic] = []

    def known(name: Any, path: tuple, allow_steps: bool = False) -> None:
        if isinstance(name, str) and name not in groups and not (allow_steps and name in steps):
            pool = list(groups) + (list(steps) if allow_steps else [])
            diags.append(loaded.diag("E331", f"unknown group '{name}'", path,
                                     help=did_you_mean(name, pool) or "declare it under 'groups:'"))

    for name, g in groups.items():
        base = ("groups", name)
        if name in steps:
            diags.append(loaded.diag("E331", f"group '{name}' has the name of a step", base, at="key",
                                     help="Airflow ids of tasks and groups share one namespace"))
        known(g.get("group"), base + ("group",))
        after = g.get("after")
        for i, target in enumerate(after if isinstance(after, list) else [after] if after else []):
            known(target, base + ("after",) + ((i,) if isinstance(after, list) else ()), allow_steps=True)
        seen, parent = [name], g.get("group")
        while isinstance(parent, str) and parent in groups:
            if parent in seen:
                ring = " -> ".join(seen + [parent])
                diags.append(loaded.diag("E331", f"group '{name}' holds itself: {ring}", base + ("group",)))
                break
            seen.append(parent)
            parent = groups[parent].get("group")
    for name, step in steps.items():
        if isinstance(step, dict) and "group" in step:
            known(step["group"], ("steps", name, "group"))
    return diags


def order(raw: Mapping[str, Any]) -> list[str]:
    """Groups with each parent before its children, else in spec order."""
    groups = declared(raw)
    done: list[str] = []

    def visit(g: str, trail: tuple = ()) -> None:
        if g in done or g in trail:
            return
        parent = groups[g].get("group")
        if isinstance(parent, str) and parent in groups:
            visit(parent, trail + (g,))
        done.append(g)

    for g in groups:
        visit(g)
    return done
