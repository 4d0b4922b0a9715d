"""Column-type tables held by more than one task plan are written once per DAG file, as
`TYPES[name]` (generate._shared_types), as COMMON and DATASETS are: every table of the plans
appears once as a literal in the file, and the plans the file builds are exactly the plans the
compiler made (what the runtime gets, so runs are unchanged)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from codegen_support import SPECS
from etlc_compiler import compile as compile_mod
from etlc_compiler.api import check_text
from etlc_compiler.generate import _shared_types
from etlc_compiler.pyliteral import Ref, pyliteral

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted(SPECS.glob("*.yaml"))
TWO_WRITES = """\
etlc: 1
pipeline: two_writes
start_date: 2025-01-01
defaults: {engine: pandas}  # whose frames need the plan's types to write a decimal or a date
datasets:
  src: {format: csv, path: data/in.csv, columns: {k: {type: int}, v: {type: decimal, scale: 2}}}
  a: {format: parquet, path: data/a/}
  b: {format: csv, path: data/b.csv}
  c: {format: parquet, path: data/c/}
steps:
  raw:
    read: src
  total:
    from: raw
    group_by: [k]
    aggregate: {v: "sum(v)", d: "max(cast('2025-01-01' as date))"}
  more:
    from: total
    derive: {w: "v * 2", e: "d + k"}
  save_a: {from: more, write: a, mode: overwrite}
  save_b: {from: more, write: b, mode: overwrite}
  save_c: {from: more, write: c, mode: overwrite}
"""


def _compiled(text: str, path: Path):
    checked = check_text(text, str(path))
    assert checked.ok, checked.diagnostics
    root = ROOT if path.is_relative_to(ROOT) else path.parent
    return compile_mod.render_checked(checked, root), compile_mod.plan_checked(checked, root)


def _cases(tmp_path: Path):
    for f in SPEC_FILES:
        yield f.stem, *_compiled(f.read_text(encoding="utf-8"), f)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    yield "two_writes", *_compiled(TWO_WRITES, tmp_path / "two_writes.yaml")


def _literals(source: str) -> list:
    """Every dict literal of the file that is plain data, but the datasets' declarations
    (`DATASETS`: a dataset's `columns` may equal the types of the step that reads it)."""
    out = []
    tree = ast.parse(source)
    skip = {id(n) for a in tree.body if isinstance(a, ast.Assign)
            and any(getattr(t, "id", None) == "DATASETS" for t in a.targets) for n in ast.walk(a)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and id(node) not in skip:
            try:
                out.append(ast.literal_eval(node))
            except ValueError:
                pass
    return out


def test_each_table_appears_once_and_the_plans_are_the_compilers(tmp_path):
    shared = 0
    for name, source, plan in _cases(tmp_path):
        ns: dict = {"__name__": f"etlc_generated_{name}"}
        exec(compile(source, name, "exec"), ns)  # noqa: S102
        literals = _literals(source)
        tables = {pyliteral(e["cols"]): e["cols"] for t in plan.tasks if t.kind == "python"
                  for e in t.payload["types"].values() if e.get("cols")}
        for text, table in tables.items():
            assert sum(lit == table for lit in literals) == 1, (name, text)
        for t in plan.tasks:
            if t.kind == "python":
                assert ns["PLAN_" + t.task_id.upper()] == t.payload, (name, t.task_id)
        shared += len(ns.get("TYPES", {}))
        assert source == _compiled(*_source_of(name, tmp_path))[0]  # the same bytes again
    assert shared >= 2  # b3_daily_quotes and two_writes share theirs


def _source_of(name: str, tmp_path: Path) -> tuple[str, Path]:
    if name == "two_writes":
        return TWO_WRITES, tmp_path / "two_writes.yaml"
    path = SPECS / f"{name}.yaml"
    return path.read_text(encoding="utf-8"), path


def test_three_writes_of_one_staged_step_share_one_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    source, _ = _compiled(TWO_WRITES, tmp_path / "two_writes.yaml")
    assert source.count("TYPES['more']") == 3
    ns: dict = {"__name__": "etlc_generated_two_writes"}
    exec(compile(source, "two_writes", "exec"), ns)  # noqa: S102
    dec, date = {"type": "decimal", "scale": 2}, {"type": "date"}
    assert ns["TYPES"] == {"more": {"k": {"type": "int"}, "v": dec, "d": date, "w": dec, "e": date}}
    for task in ("SAVE_A", "SAVE_B", "SAVE_C"):   # one object, not three equal ones
        assert ns["PLAN_" + task]["types"] == {"more": {"cols": ns["TYPES"]["more"]}}
        assert ns["PLAN_" + task]["types"]["more"]["cols"] is ns["TYPES"]["more"]


def test_the_dag_files_plans_run_as_etlc_run_runs_the_spec(tmp_path):
    """The DAG file's plans, each run in task order with one run id, write exactly what
    `etlc run` writes from the compiler's plan."""
    from etlc_runtime.executor import run_task
    from etlc_runtime.local import run_pipeline
    from exact_rows import assert_same

    outputs = {}
    for how in ("dag_file", "etlc_run"):
        proj = tmp_path / how
        (proj / "data").mkdir(parents=True)
        (proj / "data" / "in.csv").write_text("k,v\n1,2.50\n2,-1.25\n1,0.05\n,7.00\n")
        source, plan = _compiled(TWO_WRITES, proj / "two_writes.yaml")
        if how == "dag_file":
            ns: dict = {"__name__": "etlc_generated_two_writes"}
            exec(compile(source, "two_writes", "exec"), ns)  # noqa: S102
            for t in plan.tasks:
                run_task(ns["PLAN_" + t.task_id.upper()], {"run_id": "r1", "project_root": str(proj)})
        else:
            summary = run_pipeline(plan.pipeline_payload(), project_root=str(proj))
            assert summary["status"] == "success", summary["error"]
        outputs[how] = {name: _read(proj / "data" / name) for name in ("a", "b.csv", "c")}
    for name, table in outputs["etlc_run"].items():
        assert table.num_rows == 3
        assert_same(outputs["dag_file"][name], table)


def _read(path: Path):
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    return pc.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)


def _task(types: dict) -> SimpleNamespace:
    return SimpleNamespace(kind="python", payload={"types": types})


def test_names_are_the_first_step_holding_a_table_and_stay_apart():
    x, y = {"a": {"type": "int"}}, {"a": {"type": "string"}}
    tasks = [_task({"s": {"cols": x}}), _task({"s": {"cols": y}}), _task({"s": {"cols": x}}),
             _task({"s": {"cols": y}, "t": {"base": "s", "cols": {"b": {"type": "int"}}}}),
             SimpleNamespace(kind="operator", payload={})]
    shared = _shared_types(SimpleNamespace(tasks=tasks))
    assert {n: table for n, (table, _) in shared.items()} == {"s": x, "s (2)": y}
    # the same columns in another order are another table (the order is the plan's)
    swapped = {"b": {"type": "int"}, "a": {"type": "int"}}
    again = _shared_types(SimpleNamespace(tasks=[_task({"s": {"cols": swapped}}),
                                                 _task({"s": {"cols": dict(reversed(swapped.items()))}})]))
    assert again == {}


def test_a_ref_is_a_name_and_a_repr_key_only():
    assert pyliteral({"cols": Ref("TYPES", "it's")}) == "{'cols': TYPES[\"it's\"]}"
    for name in ("types", "A B", "TYPES[0]", "ＴYPES"):
        with pytest.raises(ValueError):
            Ref(name, "k")
