"""What a generated DAG file says, checked against the spec YAML read independently: the header,
each task's doc (spec file and line), Asset inlets/outlets named '<pipeline>.<dataset>', and a
doc_md with the description and a Mermaid drawing of the steps."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from codegen_support import HEADER, ROOT, load_dagbag, make_project, run_etlc

SPEC_FILES = sorted((ROOT / "specs").glob("*.yaml"))

MORE = {
    # a join, a union, a call with two inputs, after:, task: own and an operator between data steps
    "shapes": """\
etlc: 1
pipeline: shapes
description: |
  Shapes of graphs.

  Second paragraph with `code` and a | pipe.
start_date: 2025-01-01
datasets:
  a: {format: csv, path: data/a.csv, columns: {k: {type: int}, v: {type: float}}}
  b: {format: parquet, path: data/b/, columns: {k: {type: int}, w: {type: string}}}
  out1: {format: parquet, path: data/out1/, partition_by: [k]}
  out2: {format: csv, path: data/out2.csv}
steps:
  ra:
    read: a
  rb:
    read: b
  rb2:
    read: b
    filter: "k > 1"
  both:
    from: rb
    union: [rb2]
  joined:
    from: ra
    join: {with: both, on: [k], how: left}
  custom:
    call: my_pkg.fns:combine
    from: [joined, ra]
  wait:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
    after: [custom]
  save1:
    from: custom
    write: out1
    mode: overwrite_partitions
    task: own
  save2:
    from: joined
    write: out2
    mode: overwrite
    after: [wait]
""",
}


def step_lines(text: str) -> dict[str, int]:
    """Step name -> 1-based line of its key, found by reading the YAML text line by line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^steps:\s*(#.*)?$", line))
    out, indent = {}, None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        ind = len(line) - len(line.lstrip(" "))
        if ind == 0:
            break
        indent = ind if indent is None else indent
        m = re.match(rf"^ {{{indent}}}([a-z][a-z0-9_]*):", line)
        if m and ind == indent:
            out[m.group(1)] = i + 1
    return out


def edges(steps: dict) -> set[tuple[str, str]]:
    out = set()
    for name, step in steps.items():
        ups = step.get("from", [])
        ups = [ups] if isinstance(ups, str) else list(ups)
        if isinstance(step.get("join"), dict):
            ups.append(step["join"]["with"])
        ups += list(step.get("union") or []) + list(step.get("after") or [])
        out |= {(u, name) for u in ups}
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """specs/ and the extra shapes, compiled with the real CLI, imported with a real DagBag."""
    base = tmp_path_factory.mktemp("dagfile")
    proj = make_project(base / "proj", MORE)
    for f in SPEC_FILES:
        (proj / "specs" / f.name).write_bytes(f.read_bytes())
    out = base / "out"
    r = run_etlc("compile", "specs", "-o", str(out), cwd=proj)
    assert r.returncode == 0, r.stdout + r.stderr
    bag = load_dagbag(out)
    assert not bag.import_errors, bag.import_errors
    specs = {}
    for f in sorted((proj / "specs").glob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        specs[data["pipeline"]] = (f"specs/{f.name}", text, data)
    return out, bag, specs


def namespace(path: Path) -> dict:
    ns: dict = {"__name__": "etlc_generated_" + path.stem}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), ns)  # noqa: S102
    return ns


def task_steps(ns: dict, dag) -> dict[str, list[str]]:
    """Task id -> its steps: from the plan literals for runtime tasks; an operator task is one step."""
    out = {}
    for task in dag.tasks:
        plan = getattr(task, "task_plan", None)
        out[task.task_id] = [s["name"] for s in plan["steps"]] if plan else [task.task_id]
    assert all(v in ns.values() for v in [t.task_plan for t in dag.tasks if hasattr(t, "task_plan")])
    return out


def pipelines():
    return sorted({yaml.safe_load(f.read_text())["pipeline"] for f in SPEC_FILES} | set(MORE))


@pytest.mark.parametrize("pipeline", pipelines())
def test_header_names_spec_and_its_sha256(compiled, pipeline):
    out, _, specs = compiled
    spec_path, text, _ = specs[pipeline]
    first, second = (out / f"{pipeline}.py").read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith(HEADER) and spec_path in first and "Do not edit" in first
    assert second == f"# spec-sha256: {hashlib.sha256(text.encode()).hexdigest()}"


@pytest.mark.parametrize("pipeline", pipelines())
def test_task_docs_name_spec_file_and_line(compiled, pipeline):
    out, bag, specs = compiled
    spec_path, text, data = specs[pipeline]
    dag = bag.dags[pipeline]
    lines = step_lines(text)
    assert set(lines) == set(data["steps"])
    by_task = task_steps(namespace(out / f"{pipeline}.py"), dag)
    assert sorted(s for steps in by_task.values() for s in steps) == sorted(data["steps"]), \
        "every step belongs to exactly one task"
    for task in dag.tasks:
        steps = by_task[task.task_id]
        doc = task.doc_md or ""
        assert f"`{spec_path}`" in doc and f"line {lines[steps[0]]}" in doc, doc
        for s in steps:
            assert f"`{s}`" in doc
        if hasattr(task, "task_plan"):
            for s in task.task_plan["steps"]:
                assert s["line"] == lines[s["name"]]
            assert task.task_plan["spec"] == spec_path


@pytest.mark.parametrize("pipeline", pipelines())
def test_assets_named_pipeline_dot_dataset(compiled, pipeline):
    out, bag, specs = compiled
    _, _, data = specs[pipeline]
    dag = bag.dags[pipeline]
    by_task = task_steps(namespace(out / f"{pipeline}.py"), dag)
    steps = data["steps"]
    for task in dag.tasks:
        want_in = {f"{pipeline}.{steps[s]['read']}" for s in by_task[task.task_id] if "read" in steps[s]}
        want_out = {f"{pipeline}.{steps[s]['write']}" for s in by_task[task.task_id] if "write" in steps[s]}
        got_in = {a.name for a in task.inlets}
        got_out = {a.name for a in task.outlets}
        assert got_in == want_in, task.task_id
        assert got_out == want_out, task.task_id
        assert all(type(a).__name__ == "Asset" and a.uri == a.name for a in [*task.inlets, *task.outlets])


@pytest.mark.parametrize("pipeline", pipelines())
def test_doc_md_has_description_and_mermaid(compiled, pipeline):
    _, bag, specs = compiled
    _, _, data = specs[pipeline]
    doc = bag.dags[pipeline].doc_md
    if data.get("description"):
        assert data["description"].strip() in doc
    m = re.search(r"```mermaid\n(.*?)\n```", doc, re.DOTALL)
    assert m, doc
    chart = m.group(1)
    assert chart.splitlines()[0].startswith(("flowchart", "graph"))
    for name in data["steps"]:
        assert re.search(rf"^\s+{name}\b", chart, re.MULTILINE), f"step {name} missing from the Mermaid drawing"
    drawn = set(re.findall(r"^\s+([a-z][a-z0-9_]*)\s*-[-.]+>\s*([a-z][a-z0-9_]*)\s*$", chart, re.MULTILINE))
    assert drawn == edges(data["steps"])


def test_dependencies_follow_the_spec_graph(compiled):
    """Task dependencies: an edge between two steps in different tasks is a task dependency."""
    out, bag, specs = compiled
    for pipeline, (_, _, data) in specs.items():
        dag = bag.dags[pipeline]
        task_of = {s: t for t, ss in task_steps(namespace(out / f"{pipeline}.py"), dag).items() for s in ss}
        want = {(task_of[u], task_of[d]) for u, d in edges(data["steps"]) if task_of[u] != task_of[d]}
        got = {(u, t.task_id) for t in dag.tasks for u in t.upstream_task_ids}
        assert got == want, pipeline
