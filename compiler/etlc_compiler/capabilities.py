"""Engine capabilities, as the compiler sees them: what each engine can do, the default
engine, and E318 for a step that asks its engine for something it lacks.

The facts live in the runtime's registry (`etlc_runtime.engines`: `AVAILABLE`, a table
name -> (class path, capabilities), and `DEFAULT`), which is plain data; it is imported here
only when first asked, never an engine or a dataframe library. Where the registry is older
or absent, the local table below stands in.

A step needs one capability per key that an engine must carry out: `read:<format>` and
`write:<format>` for its dataset, `transform` for filter/derive/select/rename/drop, `join`,
`union`, `aggregate` (group_by, aggregate, having), `sort`, `distinct`, `cast`, `limit`,
`checks`, `metrics`, `call`, and `partitions` for more than one partition. Only names the
protocol defines are asked for (a format no engine names yet, such as qdrant, is the
runtime's to refuse); an engine the table does not know is not judged here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # model reads default_engine(): no import of it at run time
    from .diagnostics import Diagnostic
    from .loader import LoadedSpec
    from .model import PipelineSpec

CODE = "E318"
DATA_KINDS = ("read", "transform", "write", "call")
KEY_NEEDS = {
    "filter": "transform", "derive": "transform", "qualify": "transform", "select": "transform",
    "rename": "transform", "drop": "transform", "join": "join", "union": "union",
    "group_by": "aggregate",
    "aggregate": "aggregate", "having": "aggregate", "sort": "sort", "distinct": "distinct",
    "cast": "cast", "limit": "limit", "checks": "checks", "metrics": "metrics", "call": "call",
}
_VOCABULARY = frozenset({
    "read:parquet", "read:csv", "read:json", "read:fixed_width", "read:postgres",
    "write:parquet", "write:csv", "write:json", "write:postgres",
    "transform", "join", "union", "aggregate", "sort", "distinct", "cast", "limit",
    "checks", "metrics", "call", "partitions", "spill",
})
FALLBACK_DEFAULT = "pandas"
FALLBACK: Mapping[str, frozenset[str]] = {"pandas": _VOCABULARY - {"spill"}}


def _registry() -> Any | None:
    try:
        import etlc_runtime.engines as registry
    except ImportError:
        return None
    return registry


@lru_cache(maxsize=1)
def table() -> Mapping[str, frozenset[str]]:
    """Engine name -> what it can do."""
    available = getattr(_registry(), "AVAILABLE", None)
    if isinstance(available, Mapping):
        try:
            return {str(name): frozenset(entry[1]) for name, entry in available.items()}
        except (TypeError, IndexError):
            pass
    return FALLBACK


@lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """Every capability the engine protocol names."""
    try:
        from etlc_runtime.engines.base import ALL_CAPABILITIES
    except ImportError:
        return _VOCABULARY
    return frozenset(ALL_CAPABILITIES)


@lru_cache(maxsize=1)
def default_engine() -> str:
    """The engine a step runs on when neither it nor `defaults` names one: one fact, the
    runtime registry's `DEFAULT`."""
    default = getattr(_registry(), "DEFAULT", None)
    return default if isinstance(default, str) and default else FALLBACK_DEFAULT


def capabilities(engine: str) -> frozenset[str] | None:
    """What `engine` can do; None when the table does not know it."""
    return table().get(str(engine).lower())


def needs(spec: PipelineSpec, name: str) -> list[tuple[str, tuple]]:
    """(capability, spec path of the key that asks for it) of one step."""
    step = spec.steps[name]
    base = ("steps", name)
    out: list[tuple[str, tuple]] = []
    for key, kind in (("read", "read"), ("write", "write")):
        target = step.raw.get(key)
        if isinstance(target, str) and target in spec.datasets:
            out.append((f"{kind}:{spec.datasets[target].format}", base + (key,)))
    for key in step.raw:
        if key in KEY_NEEDS:
            out.append((KEY_NEEDS[key], base + (key,)))
    partitions = step.settings.get("partitions")
    if isinstance(partitions, int) and not isinstance(partitions, bool) and partitions > 1:
        out.append(("partitions", base + ("partitions",) if "partitions" in step.raw else ("defaults", "partitions")))
    known = vocabulary()
    return [(need, path) for need, path in out if need in known]


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    """E318 for each step that asks its engine for what the engine cannot do (one diagnostic
    per place in the file: `defaults.partitions` is reported once for all its steps)."""
    found: dict[tuple, tuple[str, str, list[str]]] = {}
    for name, step in spec.steps.items():
        if step.kind not in DATA_KINDS or len(step.kinds) != 1:
            continue
        engine = str(step.settings.get("engine") or default_engine())
        can = capabilities(engine)
        if can is None:
            continue
        for need, path in needs(spec, name):
            if need not in can:
                found.setdefault((path, need), (engine, name, []))[2].append(name)
    diags: list[Diagnostic] = []
    for (path, need), (engine, name, steps) in found.items():
        able = sorted(n for n, caps in table().items() if need in caps)
        step = spec.steps[name]
        where = "set on the step" if "engine" in step.raw else (
            "from defaults" if "engine" in (spec.raw.get("defaults") or {}) else "the default engine")
        who = f"step '{name}'" if len(steps) == 1 else "steps " + ", ".join(f"'{s}'" for s in steps)
        fix = f"set `engine: {able[0]}` on {who}" if able else "no engine of this etlc can"
        at = "value" if path[-1] in ("read", "write") else "key"
        diags.append(loaded.diag(CODE, f"engine '{engine}' ({where}) cannot do {_what(need)}, which {who} "
                                 f"ask{'s' * (len(steps) == 1)} for", path, at=at,
                                 help=fix + (f" (engines that can: {', '.join(able)})" if able else "")))
    return diags


def _what(need: str) -> str:
    if ":" in need:
        verb, fmt = need.split(":", 1)
        return f"{verb} of {fmt} datasets"
    return {"transform": "row transforms", "aggregate": "aggregation", "partitions": "more than one partition",
            "checks": "checks", "metrics": "metrics", "call": "call steps"}.get(need, f"'{need}'")
