"""Analyse stage, part one: step kinds, references, the graph, write modes, datasets.

Expressions and column typing live in `typing_pass`, secrets in `security`, templated
strings in `templates`; `analyse()` runs them all and returns every diagnostic.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from . import groups, mapping
from .diagnostics import Diagnostic, did_you_mean
from .graph import topo_order  # noqa: F401 - where callers found it before graph.py
from .loader import LoadedSpec
from .model import COMMON_STEP_KEYS, KIND_KEYS, PipelineSpec, as_list

MODES_BY_FORMAT = {
    "parquet": ("append", "overwrite", "overwrite_partitions"),
    "csv": ("append", "overwrite"),
    "json": ("append", "overwrite"),
    "fixed_width": (),
    "postgres": ("append", "overwrite", "upsert"),
    "qdrant": ("overwrite", "upsert"),
}
PATH_FORMATS = ("csv", "parquet", "json", "fixed_width")


def analyse(loaded: LoadedSpec, spec: PipelineSpec) -> tuple[list[Diagnostic], dict]:
    """Every diagnostic of the spec, and the column types the typing pass found per step."""
    from . import (
        callables,
        capabilities,
        containment,
        operator_check,
        param_defaults,
        schedules,
        security,
        templates,
        typing_pass,
    )

    diags = check_steps(loaded, spec)
    diags += check_datasets(loaded, spec)
    diags += check_connections(loaded, spec)
    diags += capabilities.check(loaded, spec)
    diags += templates.check(loaded, spec)
    diags += operator_check.check(loaded, spec)
    diags += containment.check(loaded, spec)
    diags += param_defaults.check(loaded, spec)
    diags += security.check(loaded)
    diags += schedules.check(loaded, spec.raw)
    diags += callables.check(loaded, spec)
    diags += groups.check(loaded, spec.raw)
    diags += mapping.check(loaded, spec.raw, {n: s.kind for n, s in spec.steps.items()})
    graph_ok = not any(d.code in ("E301", "E303", "E304") for d in diags)
    typed, step_types = typing_pass.check(loaded, spec, graph_ok=graph_ok)
    diags += typed
    diags.sort(key=Diagnostic.sort_key)
    return diags, step_types


MAX_MAPPED = 256  # parallelism: airflow: W302 above this many mapped instances


def check_steps(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    names = list(spec.steps)
    for name, step in spec.steps.items():
        base = ("steps", name)
        if not step.kinds:
            diags.append(loaded.diag("E304", f"step '{name}' does nothing: give it one of read, from, write, call or operator",
                                     base, at="key"))
            continue
        if len(step.kinds) > 1:
            second = step.kinds[1]
            key = second if second != "transform" else next(k for k in step.raw if k in KIND_KEYS["transform"] and k != "from")
            diags.append(loaded.diag("E304", f"step '{name}' does more than one kind of thing ({' and '.join(step.kinds)}); "
                                     "split it into steps", base + (key,), at="key",
                                     help="a step reads, transforms, writes, calls or runs an operator: chain steps for more"))
            continue
        allowed = set(KIND_KEYS[step.kind]) | set(COMMON_STEP_KEYS)
        for key in step.raw:
            if key not in allowed:
                diags.append(loaded.diag("E310", f"'{key}' does not belong to a {step.kind} step", base + (key,), at="key"))
        if step.kind == "call" and step.raw.get("per_partition") is True \
                and isinstance(step.raw.get("from"), list) and len(step.raw["from"]) > 1:
            diags.append(loaded.diag("E319", f"per_partition with {len(step.raw['from'])} inputs: a function applied "
                                     "to each partition takes one input", base + ("per_partition",), at="key",
                                     help="drop per_partition (the function gets the whole frames), or join or "
                                          "union the inputs in a step before"))
        if step.kind in ("write", "transform", "call") and "from" not in step.raw:
            # no implicit chaining: the order of steps in the file means nothing (docs/spec-reference.md)
            verb = {"write": "writes", "transform": "transforms", "call": "the function gets"}[step.kind]
            diags.append(loaded.diag("E202", f"a {step.kind} step needs 'from' (the step whose output "
                                     f"{verb if step.kind == 'call' else 'it ' + verb})", base, at="key",
                                     help=None if step.kind == "write" else
                                     "steps do not chain by their order in the file: name the input step"))
        if step.kind == "write" and "mode" not in step.raw:
            diags.append(loaded.diag("E202", "a write step needs 'mode' (append, overwrite, overwrite_partitions or upsert)",
                                     base, at="key"))
        diags += _references(loaded, spec, name, names)
        if step.settings.get("parallelism") == "airflow" and step.needs_shuffle:
            diags.append(loaded.diag("W301", f"step '{name}' needs a shuffle, so it runs as one task on the cluster, "
                                     "not as mapped Airflow tasks", base, at="key", severity="warning"))
        parts = step.settings.get("partitions")
        if step.settings.get("parallelism") == "airflow" and isinstance(parts, int) and parts > MAX_MAPPED \
                and "partitions" in step.raw:
            diags.append(loaded.diag("W302", f"{parts} mapped task instances: Airflow's scheduler slows past a few "
                                     f"hundred (more than {MAX_MAPPED})", base + ("partitions",), severity="warning",
                                     help="fewer, larger partitions, or parallelism: dask"))
    diags += _cycles(loaded, spec)
    return diags


def _references(loaded: LoadedSpec, spec: PipelineSpec, name: str, names: list[str]) -> list[Diagnostic]:
    step = spec.steps[name]
    raw = step.raw
    base = ("steps", name)
    diags = []
    group_names = groups.declared(spec.raw)

    def ref(target, path):
        if path[2] == "after" and target in group_names and target not in spec.steps:
            return  # a group: groups.check knows it
        if target not in spec.steps:
            diags.append(loaded.diag("E301", f"unknown step '{target}'", path, help=did_you_mean(target, names)))
        elif target == name:
            diags.append(loaded.diag("E303", f"step '{name}' reads from itself", path))
        elif spec.steps[target].kind in ("write", "operator") and path[2] != "after":
            diags.append(loaded.diag("E313", f"step '{target}' is a {spec.steps[target].kind} step and has no output to read",
                                     path, help="read the step it writes from, or use 'after' for ordering"))

    for key in ("from", "union", "after"):
        value = raw.get(key)
        if isinstance(value, list):
            for i, target in enumerate(value):
                if isinstance(target, str):
                    ref(target, base + (key, i))
        elif isinstance(value, str):
            ref(value, base + (key,))
    join = raw.get("join")
    for i, j in enumerate(as_list(join)):
        path = base + ("join",) + ((i,) if isinstance(join, list) else ())
        if isinstance(j, dict) and isinstance(j.get("with"), str):
            ref(j["with"], path + ("with",))
    for key in ("read", "write"):
        target = raw.get(key)
        if isinstance(target, str) and target not in spec.datasets:
            diags.append(loaded.diag("E302", f"unknown dataset '{target}'", base + (key,),
                                     help=did_you_mean(target, spec.datasets)))
    write = raw.get("write")
    if isinstance(write, str) and write in spec.datasets and isinstance(raw.get("mode"), str):
        diags += _write_mode(loaded, spec, name, write, raw["mode"])
    return diags


def _write_mode(loaded: LoadedSpec, spec: PipelineSpec, name: str, target: str, mode: str) -> list[Diagnostic]:
    ds = spec.datasets[target]
    path = ("steps", name, "mode")
    allowed = MODES_BY_FORMAT.get(ds.format)
    if allowed is None:
        return []
    if not allowed:
        return [loaded.diag("E305", f"dataset '{target}' has format {ds.format}, which etlc reads but cannot write",
                            ("steps", name, "write"))]
    if mode not in allowed:
        return [loaded.diag("E305", f"mode '{mode}' does not fit {ds.format} dataset '{target}'", path,
                            help="allowed: " + ", ".join(allowed))]
    if mode == "upsert" and not ds.key:
        return [loaded.diag("E305", f"mode 'upsert' needs a 'key' on dataset '{target}'", path,
                            help=f"add key: [...] to datasets.{target}")]
    if mode == "overwrite_partitions" and not ds.partition_by:
        return [loaded.diag("E305", f"mode 'overwrite_partitions' needs 'partition_by' on dataset '{target}'", path)]
    return []


def _cycles(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    graph = {n: [u for u in s.upstream if u in spec.steps and u != n] for n, s in spec.steps.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        order = list(spec.steps)
        first = min(cycle[:-1], key=order.index)
        k = cycle.index(first)
        ring = cycle[k:-1] + cycle[:k] + [first]
        ring.reverse()
        return [loaded.diag("E303", "cycle between steps: " + " -> ".join(ring), ("steps", first), at="key",
                            help="remove one of these references, or use a new step")]
    return []


def check_datasets(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    diags = []
    for name, ds in spec.datasets.items():
        base = ("datasets", name)
        raw = ds.raw
        needed = {"postgres": ("table",), "qdrant": ("collection", "vector")}.get(ds.format, ("path",))
        if ds.format in PATH_FORMATS or ds.format in ("postgres", "qdrant"):
            for key in needed:
                if key not in raw:
                    diags.append(loaded.diag("E314", f"a {ds.format} dataset needs '{key}'", base, at="key"))
        if ds.format == "fixed_width":
            for col in ds.columns or ():
                if "span" not in col.spec:
                    diags.append(loaded.diag("E314", f"fixed_width column '{col.name}' needs 'span: [start, end]'",
                                             base + ("columns", col.name), at="key"))
        if ds.columns is not None:
            declared = [c.name for c in ds.columns]
            for key in ("partition_by", "key"):
                value = raw.get(key)
                for i, col in enumerate(as_list(value)):
                    if isinstance(col, str) and col not in declared:
                        path = base + (key,) + ((i,) if isinstance(value, list) else ())
                        diags.append(loaded.diag("E306", f"'{col}' is not a declared column of dataset '{name}'", path,
                                                 help=did_you_mean(col, declared)))
    return diags


def check_connections(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    known = list(spec.connections)
    diags = []
    places = [(("datasets", n, "connection"), d.connection) for n, d in spec.datasets.items()]
    for section in ("staging", "tracking"):
        value = spec.raw.get(section)
        if isinstance(value, dict):
            places.append(((section, "connection"), value.get("connection")))
    for path, conn in places:
        if isinstance(conn, str) and conn not in spec.connections:
            diags.append(loaded.diag("E309", f"unknown connection '{conn}'", path,
                                     help=did_you_mean(conn, known) or "declare it under 'connections:'"))
    return diags
