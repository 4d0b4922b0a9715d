"""Plan stage: a checked spec -> tasks, their steps, edges and assets (JSON-serialisable).

Fusion: data steps without fan-out become one task (an Airflow task costs about a second
of scheduling; a staged hand-off costs a Parquet round trip): a step joins the task of each
data input it is the only consumer of, when both are data steps on the same engine and
neither says `task: own`. Chains and trees (a join or union of several chains) fuse alike.
A task is named after its last step, its root.
The plan decides everything; the templates only render it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from etlc_runtime import plan_types

from . import capabilities, partition_map
from .graph import topo_order
from .model import DEFAULT_ARG_SETTINGS, TASK_SETTINGS, PipelineSpec, as_list, passthrough
from .project import asset_name

PLAN_VERSION = 2   # 2: column types once per task (etlc_runtime.plan_types), not per step
DATA_KINDS = ("read", "transform", "write", "call")
DEFAULT_STAGING = "file:.etlc/staging"


@dataclass(frozen=True)
class TaskPlan:
    task_id: str
    kind: str                          # "python" (runtime) or "operator"
    steps: tuple[str, ...]
    line: int                          # spec line of the task's first step
    upstream: tuple[str, ...]
    settings: dict[str, Any]
    inlets: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    operator: str | None = None        # "package.module:Class" for operator tasks
    args: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)   # what run_task receives
    mapped: int = 0                    # parallelism: airflow: mapped instances, one per partition


@dataclass(frozen=True)
class Plan:
    pipeline: str
    spec_path: str
    spec_sha256: str
    dag: dict[str, Any]
    tasks: tuple[TaskPlan, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        tasks = tuple(TaskPlan(**{**t, "steps": tuple(t["steps"]), "upstream": tuple(t["upstream"]),
                                  "inlets": tuple(t["inlets"]), "outlets": tuple(t["outlets"])})
                      for t in data["tasks"])
        return cls(data["pipeline"], data["spec_path"], data["spec_sha256"], data["dag"], tasks)

    def pipeline_payload(self) -> dict[str, Any]:
        """What `etlc run` hands the runtime: every task plan in dependency order."""
        return {"pipeline": self.pipeline, "spec": self.spec_path,
                "tasks": [t.payload | {"task": t.task_id, "line": t.line, "kind": t.kind, "operator": t.operator,
                                       "args": t.args, "upstream": list(t.upstream)} for t in self.tasks]}


def _fusable(spec: PipelineSpec, step: str) -> bool:
    s = spec.steps[step]
    return s.kind in DATA_KINDS and s.raw.get("task") != "own"


def _chains(spec: PipelineSpec, order: list[str]) -> list[list[str]]:
    """The steps of each task, in execution order; a task's last step is its root (its id).

    A data step fuses with the task of each of its data inputs when it is that input's only
    consumer, the input is its task's root and both run on the same engine; so a chain
    (read -> filter -> write) and a tree (a fact and its dimensions feeding a join or a union)
    become one task and, on the duckdb engine, one query.  Fusing a tree cannot make a cycle:
    every step of a task but its root has its one consumer inside the task, so only the root
    has edges out.  ``after`` dependencies never fuse (nor does a step with ``task: own``),
    nor does a step under ``parallelism: airflow`` with a consumer that is not (partition_map).
    """
    consumers: dict[str, list[str]] = {n: [] for n in spec.steps}
    for name, step in spec.steps.items():
        for up in step.upstream:
            if up in consumers:
                consumers[up].append(name)
    owner: dict[str, int] = {}
    chains: list[list[str] | None] = []
    for name in order:
        step = spec.steps[name]
        merged: list[str] = []
        if _fusable(spec, name):
            for up in dict.fromkeys(step.inputs):
                if (up in owner and consumers[up] == [name] and _fusable(spec, up)
                        and spec.steps[up].settings.get("engine") == step.settings.get("engine")
                        and not partition_map.hands_off(spec.steps[up], step)
                        and chains[owner[up]][-1] == up):
                    index = owner[up]
                    merged += chains[index]
                    chains[index] = None
        merged.append(name)
        for member in merged:
            owner[member] = len(chains)
        chains.append(merged)
    return [c for c in chains if c is not None]


RUNTIME_SETTINGS = ("engine", "partitions", "parallelism")


def _step_payload(spec: PipelineSpec, name: str, line: int, task_settings: dict[str, Any]) -> dict[str, Any]:
    """A step as the runtime reads it. Task settings live on the task plan (engine, partitions,
    parallelism) or on the Airflow task (retries, timeouts, pool, queue): a step repeats one
    only where it differs from its task's."""
    step = spec.steps[name]
    out = {"name": name, "line": line, "kind": step.kind}
    for key, value in step.raw.items():
        if key in ("from",):
            out["from"] = list(as_list(value))
        elif key not in ("after", "task", "doc") + TASK_SETTINGS:
            out[key] = value
    out.update({k: step.settings[k] for k in RUNTIME_SETTINGS
                if step.settings.get(k) is not None and step.settings[k] != task_settings.get(k)})
    return out


def build(spec: PipelineSpec, spec_path: str, text: str, lines: dict[str, int], version: str,
          types: dict[str, dict] | None = None,
          columns_at: dict[str, dict[str, list[int]]] | None = None) -> Plan:
    """lines: step name -> the line of its key in the spec; types: Checked.step_types;
    columns_at: dataset -> column -> [line, col] of its entry under `columns:`."""
    order = topo_order(spec)
    chains = _chains(spec, order)
    task_of = {s: chain[-1] for chain in chains for s in chain}
    consumers = {n: {m for m, st in spec.steps.items() if n in st.inputs} for n in spec.steps}
    raw = spec.raw
    staging = raw.get("staging") or {}
    staging_plan = {"connection": staging.get("connection"), "path": staging.get("path", DEFAULT_STAGING)}
    tasks = []
    for chain in chains:
        task_id = chain[-1]
        first = spec.steps[chain[0]]
        last = spec.steps[chain[-1]]
        upstream = tuple(dict.fromkeys(task_of[u] for s in chain for u in spec.steps[s].upstream
                                       if task_of[u] != task_id))
        reads = [spec.steps[s].reads for s in chain if spec.steps[s].reads]
        writes = [spec.steps[s].writes for s in chain if spec.steps[s].writes]
        inlets = tuple(dict.fromkeys(asset_name(spec.id, d) for d in reads))
        outlets = tuple(dict.fromkeys(asset_name(spec.id, d) for d in writes))
        settings = {k: v for k, v in last.settings.items() if v is not None}
        if first.kind == "operator":
            map_keys = {k: first.raw[k] for k in ("expand", "expand_kwargs") if k in first.raw}  # for etlc run
            tasks.append(TaskPlan(task_id, "operator", tuple(chain), lines.get(task_id, 1), upstream, settings,
                                  inlets, outlets, first.raw.get("operator"), dict(first.raw.get("args") or {}),
                                  map_keys))
            continue
        inputs = {u: task_of[u] for s in chain for u in spec.steps[s].inputs if task_of[u] != task_id}
        # a write of a staged input needs that input's types (a computed decimal or date is
        # written as the plan types it, etlc_runtime.plan_types.undeclared_types)
        staged = [u for s in chain if spec.steps[s].kind == "write"
                  for u in spec.steps[s].inputs if u in inputs]
        typed = [*dict.fromkeys(staged),
                 *(s for s in chain if spec.steps[s].kind in ("read", "transform", "call"))]
        datasets = {d: spec.datasets[d].raw for d in dict.fromkeys(reads + writes) if d in spec.datasets}
        output = task_id if consumers.get(task_id) and last.kind not in ("write",) else None
        payload = {
            "etlc": PLAN_VERSION, "pipeline": spec.id, "task": task_id, "spec": spec_path,
            "engine": settings.get("engine") or capabilities.default_engine(), "partitions": settings.get("partitions", 1),
            "parallelism": settings.get("parallelism", "dask"),
            "staging": staging_plan, "params": dict(spec.params),
            "tracking": raw.get("tracking"), "connections": dict(spec.connections),
            "datasets": datasets, "inputs": inputs,
            "steps": [_step_payload(spec, s, lines.get(s, 1), settings) for s in chain],
            "types": plan_types.compact(typed, types or {}),
            "output": output,
        }
        declared_at = {d: (columns_at or {})[d] for d in datasets if d in (columns_at or {})}
        if declared_at:   # R040 is positioned at the column's declaration
            payload["declared_at"] = declared_at
        count = partition_map.partition_count(spec, chain, bool(consumers.get(task_id)))
        if count:  # parallelism: airflow: mapped instances, then the commit task
            mapped = partition_map.mapped_id(task_id, list(spec.steps))
            parts, payload = partition_map.split_payload(payload, count, mapped)
            tasks.append(TaskPlan(mapped, "python", tuple(chain[:len(parts["steps"])]), lines.get(chain[0], 1),
                                  upstream, settings, inlets, (), None, {}, parts, mapped=count))
            upstream = (mapped,)
        own = tuple(s["name"] for s in payload["steps"]) or chain[-1:] if count else chain
        tasks.append(TaskPlan(task_id, "python", tuple(own), lines.get(own[0], 1), upstream, settings,
                              () if count else inlets, outlets, None, {}, payload))
    dag = {
        "dag_id": spec.id,
        "description": raw.get("description"),
        "owner": raw.get("owner", "etlc"),
        "tags": list(as_list(raw.get("tags"))),
        "schedule": raw.get("schedule"),
        "start_date": raw.get("start_date"),
        "end_date": raw.get("end_date"),
        "catchup": bool(raw.get("catchup", False)),
        "max_active_runs": raw.get("max_active_runs"),
        "dagrun_timeout": raw.get("dagrun_timeout"),
        "params": dict(spec.params),
        "defaults": {k: spec.defaults.get(k) for k in DEFAULT_ARG_SETTINGS if k in spec.defaults},
        "edges": [[u, s] for s in order for u in spec.steps[s].upstream],
        "steps": order,
        "kinds": {s: spec.steps[s].kind for s in order},
        "docs": {s: spec.steps[s].raw["doc"] for s in order if isinstance(spec.steps[s].raw.get("doc"), str)},
    }
    if passthrough(raw):  # DAG arguments, callbacks, groups, macros, mapped steps as given
        dag["spec"] = passthrough(raw)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Plan(spec.id, spec_path, digest, dag, tuple(tasks))


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), sort_keys=True, indent=1)
