"""The typed spec: frozen dataclasses built from schema-valid data.

`build()` assumes the data passed the JSON Schema, so it only normalises (lists for `from`,
defaults merged into each step's task settings, the kind of each step) and never reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import capabilities, groups, mapping, task_settings

STEP_KINDS = ("read", "write", "call", "operator", "transform")
TRANSFORM_KEYS = ("join", "union", "filter", "derive", "qualify", "group_by", "aggregate", "having",
                  "select", "rename", "drop", "cast", "distinct", "sort", "limit")
TASK_SETTINGS = ("retries", "retry_delay", "timeout", "engine", "partitions", "parallelism",
                 "pool", "queue", "group") + tuple(task_settings.SETTINGS)
# top-level keys the plan hands the DAG file as they are (`dag["spec"]`): DAG arguments, DAG
# callbacks, task groups, user-defined macros and filters
DAG_PASSTHROUGH = task_settings.DAG_SETTINGS + task_settings.DAG_CALLBACKS + ("groups", "macros", "filters")
# what the DAG's default_args may carry (the rest are etlc's own: engine, partitions, parallelism)
DEFAULT_ARG_SETTINGS = ("retries", "retry_delay", "timeout", "pool", "queue") + tuple(task_settings.SETTINGS)
COMMON_STEP_KEYS = ("after", "checks", "metrics", "task", "doc") + TASK_SETTINGS
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "read": ("read", "filter", "select"),
    "transform": ("from",) + TRANSFORM_KEYS,
    "write": ("write", "from", "mode"),
    "call": ("call", "from", "args", "per_partition", "returns"),
    "operator": ("operator", "args", "python") + mapping.KEYS,
}
# `python: module:function` is an operator step of this class, the function its python_callable
PYTHON_OPERATOR = "airflow.providers.standard.operators.python:PythonOperator"
SHUFFLE_KEYS = ("join", "group_by", "aggregate", "distinct", "sort", "limit", "union", "qualify")
DEFAULT_SETTINGS: Mapping[str, Any] = MappingProxyType({
    "retries": 0, "retry_delay": "5m", "timeout": None, "engine": None,  # None: default_engine()
    "partitions": 1, "parallelism": "dask", "pool": None, "queue": None,
})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class Dataset:
    name: str
    format: str
    connection: str | None
    columns: tuple[Column, ...] | None
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    name: str
    kinds: tuple[str, ...]            # every kind the step's keys ask for; valid steps have one
    inputs: tuple[str, ...]           # steps whose data this step reads (from, join, union)
    after: tuple[str, ...]
    reads: str | None
    writes: str | None
    settings: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.kinds[0] if self.kinds else "transform"

    @property
    def needs_shuffle(self) -> bool:
        return any(k in self.raw for k in SHUFFLE_KEYS)

    @property
    def returns(self) -> tuple[Column, ...] | None:
        """A call step's declared `returns:` columns, else None (unknown until run time)."""
        return columns_of(self.raw.get("returns")) if self.kind == "call" else None

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.inputs + self.after))


@dataclass(frozen=True)
class PipelineSpec:
    path: str
    id: str
    raw: Mapping[str, Any]
    datasets: Mapping[str, Dataset]
    steps: Mapping[str, Step]
    params: Mapping[str, Mapping[str, Any]]
    connections: Mapping[str, str]
    defaults: Mapping[str, Any] = field(default_factory=dict)


def as_list(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def columns_of(cols: Any) -> tuple[Column, ...] | None:
    """The columns of a `columns:` mapping (a dataset's, a call step's `returns:`); None
    when there is none."""
    if not isinstance(cols, dict):
        return None
    return tuple(Column(n, (c or {}).get("type", "string") if isinstance(c, dict) else str(c),
                        c if isinstance(c, dict) else {"type": c}) for n, c in cols.items())


def _dataset(name: str, raw: Mapping[str, Any]) -> Dataset:
    columns = columns_of(raw.get("columns"))
    return Dataset(name, raw.get("format", ""), raw.get("connection"), columns,
                   as_list(raw.get("key")), as_list(raw.get("partition_by")), raw)


def step_kinds(raw: Mapping[str, Any]) -> tuple[str, ...]:
    kinds = [k for k in ("read", "write", "call", "operator") if k in raw]
    if "python" in raw:  # an operator step, unless it is already one (E304 at `python`)
        kinds.append("python" if kinds else "operator")
    if not kinds and ("from" in raw or any(k in raw for k in TRANSFORM_KEYS)) or kinds and any(k in raw for k in TRANSFORM_KEYS if k not in KIND_KEYS[kinds[0]]):
        kinds.append("transform")
    return tuple(kinds)


def step_inputs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    names = list(as_list(raw.get("from")))
    join = raw.get("join")
    for j in as_list(join):
        if isinstance(j, dict) and isinstance(j.get("with"), str):
            names.append(j["with"])
    names.extend(n for n in as_list(raw.get("union")) if isinstance(n, str))
    return tuple(dict.fromkeys(n for n in names if isinstance(n, str)))


def passthrough(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the plan hands the DAG file as the spec gives it (`plan.dag["spec"]`): DAG
    arguments, DAG callbacks, task groups, macros, filters, and the mapping of mapped steps."""
    out = {k: data[k] for k in DAG_PASSTHROUGH if k in data}
    mapped = mapping.of_steps(data.get("steps") or {})
    if mapped:
        out["mapped"] = mapped
    return out


def python_step(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """A `python:` step as the operator step it is: PythonOperator, the function as its
    python_callable (imported by the DAG file), `args` as op_kwargs; others unchanged."""
    if "python" not in raw or "operator" in raw or not isinstance(raw["python"], str):
        return raw
    args = {"python_callable": raw["python"]}
    if isinstance(raw.get("args"), dict) and raw["args"]:
        args["op_kwargs"] = dict(raw["args"])
    return {**raw, "operator": PYTHON_OPERATOR, "args": args}


def build(path: str, data: Mapping[str, Any]) -> PipelineSpec:
    defaults = {**DEFAULT_SETTINGS, "engine": capabilities.default_engine(), **(data.get("defaults") or {})}
    steps = {}
    after = {name: tuple(a for a in as_list((raw or {}).get("after")) if isinstance(a, str))
             for name, raw in (data.get("steps") or {}).items()}
    for name, raw in (data.get("steps") or {}).items():  # a mapped step runs after the steps it maps over
        if isinstance(raw, dict) and any(k in raw for k in mapping.KEYS):
            after[name] += tuple(s for _, s in mapping.xcom_sources(raw) if s not in after[name] and s != name)
    if data.get("groups"):  # `after:` naming a group waits for its leaves; a group's `after:` holds its roots
        edges = {n: step_inputs(raw or {}) + after[n] for n, raw in (data.get("steps") or {}).items()}
        after = {**after, **groups.expand_after(data, edges)}
    for name, raw in (data.get("steps") or {}).items():
        raw = raw or {}
        kinds = step_kinds(raw)
        raw = python_step(raw)
        settings = {k: raw.get(k, defaults.get(k)) for k in TASK_SETTINGS}
        steps[name] = Step(
            name=name,
            kinds=kinds,
            inputs=step_inputs(raw),
            after=after[name],
            reads=raw.get("read") if isinstance(raw.get("read"), str) else None,
            writes=raw.get("write") if isinstance(raw.get("write"), str) else None,
            settings=MappingProxyType(settings),
            raw=raw,
        )
    datasets = {n: _dataset(n, d or {}) for n, d in (data.get("datasets") or {}).items()}
    return PipelineSpec(
        path=path,
        id=str(data.get("pipeline", "")),
        raw=data,
        datasets=MappingProxyType(datasets),
        steps=MappingProxyType(steps),
        params=MappingProxyType(dict(data.get("params") or {})),
        connections=MappingProxyType(dict(data.get("connections") or {})),
        defaults=MappingProxyType(defaults),
    )
