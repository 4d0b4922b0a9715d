"""`etlc convert dag-factory FILE... [-o specs/]`: dag-factory YAML -> etlc specs, one per DAG.

What converts (see docs/dag-factory.md): the `default` block and each DAG's `default_args`
(owner, start/end dates, retries, `retry_delay_sec`, `execution_timeout_secs`, every task
setting etlc knows), schedules (cron strings, presets, `schedule_interval`), DAG arguments
(description, tags, catchup, max_active_runs, `dagrun_timeout_sec`, params, callbacks given as
`package.module.function`), `task_groups` (tooltip, `parent_group_name`, `dependencies`),
tasks as a mapping or a list (operator `package.module.Class`, `dependencies`,
`task_group_name`, `python_callable`, `python_callable_file` + `python_callable_name` of a file
under the project root (callbacks' `<callback>_file` + `<callback>_name` alike), `expand` over lists or `task.output`, `partial`, task settings; every
other key is an operator argument, `{__type__: ...}` objects included: etlc reads the same
form), and schedule objects (timetables, timedeltas, assets with `__and__`/`__or__`, assets or
time: convert_schedules.py). What does not is reported as `file:line:col: not converted: ...`
(the DAG is still written, without it): a callable file outside the project root, schedule
objects with no etlc form, HTTP sensor checks. YAML comments are not carried over.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from . import convert_schedules
from .convert_schedules import duration as _seconds
from .task_settings import CALLBACKS, DAG_CALLBACKS, DAG_SETTINGS, SETTINGS

SYSTEM = ("default", "task_groups")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
DURATION_KEYS = {"retry_delay_sec": "retry_delay", "execution_timeout_secs": "timeout",
                 "max_retry_delay_secs": "max_retry_delay"}
TASK_KEYS = set(SETTINGS) | {"retries", "pool", "queue"}
DAG_KEYS = ("description", "tags", "catchup", "max_active_runs", "start_date", "end_date") + DAG_SETTINGS


class Notes:
    """What could not be converted, with the position in the source file; `root` is the
    project root the specs are written for (where callable files must lie)."""

    def __init__(self, loaded, path: str, root: Path | None = None):
        self.loaded, self.path, self.items, self.root = loaded, path, [], root

    def add(self, where: tuple, message: str, at: str = "value") -> None:
        pos = self.loaded.key_pos if at == "key" else self.loaded.value_pos
        line, col = pos(where) if self.loaded else (1, 1)
        self.items.append(f"{self.path}:{line}:{col}: not converted: {message}")


# Airflow 2 module paths that Airflow 3 serves through deprecation shims -> their providers' paths
MOVED = {"airflow.operators.bash": "airflow.providers.standard.operators.bash",
         "airflow.operators.python": "airflow.providers.standard.operators.python",
         "airflow.operators.empty": "airflow.providers.standard.operators.empty",
         "airflow.sensors.python": "airflow.providers.standard.sensors.python"}


def _operator(ref: Any) -> str | None:
    dotted = _dotted(ref)
    if dotted is None:
        return None
    module, _, cls = dotted.partition(":")
    return f"{MOVED.get(module, module)}:{cls}"


def _dotted(ref: Any) -> str | None:
    """`package.module.name` (dag-factory) -> `package.module:name` (etlc); None if not one."""
    if not isinstance(ref, str) or "." not in ref or ":" in ref:
        return ref if isinstance(ref, str) and ":" in ref else None
    module, _, name = ref.rpartition(".")
    return f"{module}:{name}"


def _name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", str(text).lower())
    return name if _NAME.match(name) else f"t_{name}"


def _param(value: Any) -> dict[str, Any]:
    kind = ("boolean" if isinstance(value, bool) else "integer" if isinstance(value, int)
            else "number" if isinstance(value, float) else "string")
    return {"type": kind, "default": value}


def _settings(src: dict[str, Any], out: dict[str, Any], notes: Notes, where: tuple) -> dict[str, Any]:
    """Task settings and their dag-factory spellings; returns what is left (operator args)."""
    rest = {}
    src = _callback_files(src, CALLBACKS, out, notes, where)
    for key, value in src.items():
        if key in DURATION_KEYS and _seconds(value):
            out[DURATION_KEYS[key]] = _seconds(value)
        elif key == "start_date" or key == "end_date":
            notes.add(where + (key,), f"'{key}' of one task (etlc has one per DAG)")
        elif key in TASK_KEYS:
            out[key] = _dotted_callbacks(key, value, notes, where)
        else:
            rest[key] = value
    return rest


def _dotted_callbacks(key: str, value: Any, notes: Notes, where: tuple) -> Any:
    if not key.endswith("_callback"):
        return value
    refs = value if isinstance(value, list) else [value]
    out = [_dotted(r) for r in refs]
    if any(r is None for r in out):
        notes.add(where + (key,), f"'{key}' must name a function as package.module.function")
    return out if isinstance(value, list) else out[0]


def convert_dag(dag_id: str, conf: dict[str, Any], default: dict[str, Any], notes: Notes) -> dict[str, Any]:
    base = (dag_id,)
    merged = {**default, **conf}
    args = {**(default.get("default_args") or {}), **(conf.get("default_args") or {})}
    spec: dict[str, Any] = {"etlc": 1, "pipeline": _name(dag_id)}
    if spec["pipeline"] != dag_id:
        notes.add(base, f"DAG id '{dag_id}' becomes pipeline '{spec['pipeline']}'", at="key")
    if "owner" in args:
        spec["owner"] = args.pop("owner")
    for key in DAG_KEYS:
        if key in merged and key not in ("start_date", "end_date"):
            spec[key] = merged[key]
    if merged.get("doc_md") and "description" not in spec:
        spec["description"] = merged["doc_md"]
    key = "schedule" if "schedule" in merged else "schedule_interval"
    try:
        spec["schedule"] = convert_schedules.convert(merged.get(key))
    except convert_schedules.Unconvertible as e:
        notes.add(base + (key, *e.where), f"{e.why} (write `schedule:` by hand: "
                  "{cron, timezone}, {every}, {timetable}, {assets})")
    for key in ("start_date", "end_date"):
        value = args.pop(key, None) or merged.get(key)
        if value is not None:
            spec[key] = str(value)
    if _seconds(merged.get("dagrun_timeout_sec")):
        spec["dagrun_timeout"] = _seconds(merged["dagrun_timeout_sec"])
    for key in DAG_CALLBACKS:
        if key in merged:
            spec[key] = _dotted_callbacks(key, merged[key], notes, base)
    _callback_files(merged, DAG_CALLBACKS, spec, notes, base)
    if isinstance(merged.get("params"), dict):
        spec["params"] = {_name(k): _param(v) for k, v in merged["params"].items()}
    defaults: dict[str, Any] = {}
    left = _settings(args, defaults, notes, base + ("default_args",))
    for key in left:
        notes.add(base + ("default_args", key), f"default_args key '{key}'")
    if defaults:
        spec["defaults"] = defaults
    groups = conf.get("task_groups") or {}
    if isinstance(groups, list):
        groups = {g.get("group_name"): g for g in groups if isinstance(g, dict)}
    if groups:
        spec["groups"] = {}
        for name, g in groups.items():
            g = g or {}
            out = {k: v for k, v in (("tooltip", g.get("tooltip")), ("group", g.get("parent_group_name")),
                                     ("after", g.get("dependencies"))) if v}
            if "group" in out:
                out["group"] = _name(out["group"])
            if "after" in out:
                out["after"] = [_name(a) for a in out["after"]]
            spec["groups"][_name(name)] = out
    tasks = conf.get("tasks") or {}
    paths = {t: base + ("tasks", t) for t in tasks} if isinstance(tasks, dict) else {}
    if isinstance(tasks, list):
        paths = {t.get("task_id"): base + ("tasks", i) for i, t in enumerate(tasks) if isinstance(t, dict)}
        tasks = {t.get("task_id"): {k: v for k, v in t.items() if k != "task_id"} for t in tasks if isinstance(t, dict)}
    spec["steps"] = {}
    for task_id, task in tasks.items():
        where = paths[task_id]
        spec["steps"][_name(task_id)] = _step(task or {}, notes, where)
    return spec


def _step(task: dict[str, Any], notes: Notes, where: tuple) -> dict[str, Any]:
    step: dict[str, Any] = {}
    operator = _operator(task.get("operator"))
    if operator is None:
        notes.add(where + ("operator",), "a task needs 'operator: package.module.Class'")
        operator = "airflow.providers.standard.operators.empty:EmptyOperator"
    step["operator"] = operator
    rest = _settings({k: v for k, v in task.items()
                      if k not in ("operator", "dependencies", "task_group_name", "expand", "partial")},
                     settings := {}, notes, where)
    args: dict[str, Any] = {}
    for key, value in {**rest, **(task.get("partial") or {})}.items():
        if key == "python_callable":
            args[key] = _dotted(value) or value
        elif key == "python_callable_file" and "python_callable_name" in task:
            ref = _callable_from_file(value, task["python_callable_name"], notes, where, "python_callable")
            if ref:
                args["python_callable"] = ref
        elif key in ("python_callable_name", "python_callable_file", "response_check_name", "response_check_file"):
            if key != "python_callable_name" or "python_callable_file" not in task:
                notes.add(where + (key,), f"'{key}' (a function from a file path): use python_callable: package.module.function")
        else:
            args[key] = value
    if args:
        step["args"] = args
    if task.get("expand"):
        step["expand"] = {}
        for key, value in task["expand"].items():
            if isinstance(value, str) and value.endswith(".output"):
                step["expand"][key] = {"from": _name(value[: -len(".output")])}
            elif isinstance(value, list):
                step["expand"][key] = value
            else:
                notes.add(where + ("expand", key), "an expand value that is neither a list nor task.output")
    if task.get("dependencies"):
        step["after"] = [_name(d) for d in task["dependencies"]]
    if task.get("task_group_name"):
        step["group"] = _name(task["task_group_name"])
    step.update(settings)
    return step


def _callback_files(src: dict[str, Any], keys: tuple, out: dict[str, Any], notes: Notes,
                    where: tuple) -> dict[str, Any]:
    """`<callback>_file` + `<callback>_name` pairs of `src` as `out[<callback>]`; returns the rest."""
    pairs = [k for k in keys if f"{k}_file" in src and f"{k}_name" in src]
    for key in pairs:
        ref = _callable_from_file(src[f"{key}_file"], src[f"{key}_name"], notes, where, key)
        if ref:
            out[key] = ref
    done = {f"{k}_{part}" for k in pairs for part in ("file", "name")}
    return {k: v for k, v in src.items() if k not in done}


def _callable_from_file(file: Any, name: Any, notes: Notes, where: tuple, key: str) -> str | None:
    """`<key>_file` + `<key>_name` (`python_callable_file`, `on_failure_callback_file`, ...) ->
    `package.module:function` when the file lies under the project root on an importable path
    (dag-factory expands `$VARS` in it)."""
    at = where + (f"{key}_file",)
    if not isinstance(name, str) or not name.isidentifier():
        notes.add(where + (f"{key}_name",), f"'{key}_name' must be a function name")
        return None
    path = Path(os.path.expandvars(str(file)))
    root = (notes.root or Path.cwd()).resolve()
    why = None
    if not path.is_absolute():
        why = "dag-factory needs an absolute path"
    elif path.suffix != ".py" or not path.is_file():
        why = "no such Python file"
    elif not path.resolve().is_relative_to(root):
        why = f"the file is outside the project root {root} (etlc imports functions from the project root)"
    parts = path.resolve().relative_to(root).with_suffix("").parts if why is None else ()
    if why is None and not all(p.isidentifier() for p in parts):
        why = f"'{'/'.join(parts)}' is no importable module path (each folder and the file a Python name)"
    if why:
        notes.add(at, f"{key}_file {str(file)!r}: {why}")
        return None
    return f"{'.'.join(parts)}:{name}"


def convert_file(path: Path, root: Path | None = None) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """{pipeline: spec data} of each DAG in a dag-factory file, and what was not converted;
    `root`: the project root of the specs (default: the current folder)."""
    from . import loader

    loaded, diags = loader.load(path.read_bytes(), str(path))
    if loaded is None or not isinstance(loaded.data, dict):
        return {}, [f"{d.path}:{d.line}:{d.col}: {d.message}" for d in diags] or [f"{path}: not a mapping"]
    notes = Notes(loaded, str(path), root)
    default = loaded.data.get("default") or {}
    specs = {}
    for dag_id, conf in loaded.data.items():
        if dag_id in SYSTEM or not isinstance(conf, dict):
            continue
        spec = convert_dag(str(dag_id), conf, default, notes)
        specs[spec["pipeline"]] = spec
    return specs, notes.items


def convert_defaults(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A dag-factory `defaults.yml` as etlc's `defaults.yaml` (its DAG keys, `default_args` as
    `defaults:`), and what was not converted."""
    from . import loader
    from .shared_defaults import SHAREABLE

    loaded, diags = loader.load(path.read_bytes(), str(path))
    if loaded is None or not isinstance(loaded.data, dict):
        return {}, [f"{d.path}:{d.line}:{d.col}: {d.message}" for d in diags] or [f"{path}: not a mapping"]
    notes = Notes(loaded, str(path))
    spec = convert_dag("defaults", {k: v for k, v in loaded.data.items() if k != "tasks"}, {}, notes)
    if spec.get("schedule") is None and not any(k in loaded.data for k in ("schedule", "schedule_interval")):
        spec.pop("schedule", None)
    for key in spec:
        if key not in SHAREABLE and key not in ("etlc", "pipeline", "steps"):
            notes.add((key,), f"'{key}' (a defaults.yaml holds DAG-level keys and default_args only)", at="key")
    return {k: v for k, v in spec.items() if k in SHAREABLE}, notes.items


def dump(spec: dict[str, Any], source: str) -> str:
    import yaml

    head = f"# Converted by `etlc convert dag-factory` from {source}.\n"
    return head + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def command(args) -> int:
    from .callables import project_root

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    root = project_root(str(out / "spec.yaml"))
    problems = 0
    for name in args.files:
        if Path(name).name in ("defaults.yml", "defaults.yaml"):  # shared defaults: etlc's defaults.yaml
            shared, notes = convert_defaults(Path(name))
            for line in notes:
                print(line, file=sys.stderr)
            problems += len(notes)
            (out / "defaults.yaml").write_text(dump(shared, name), encoding="utf-8")
            print(f"wrote {out / 'defaults.yaml'}")
            continue
        specs, notes = convert_file(Path(name), root)
        for line in notes:
            print(line, file=sys.stderr)
        problems += len(notes)
        for pipeline, spec in specs.items():
            target = out / f"{pipeline}.yaml"
            target.write_text(dump(spec, name), encoding="utf-8")
            print(f"wrote {target}")
    return 1 if problems else 0
