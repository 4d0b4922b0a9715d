"""Plans that scale: column types appear once per task (plan version 2), so the DAG file of a
chain grows linearly with its steps, and the runtime reads back every step's full types."""

from __future__ import annotations

from pathlib import Path

import pytest
from etlc_compiler import compile as compile_mod
from etlc_compiler.api import check_text
from etlc_compiler.plan import PLAN_VERSION
from etlc_runtime import plan_types


def chain_spec(n: int) -> str:
    lines = ["etlc: 1", f"pipeline: chain_{n}", 'schedule: "@daily"', "start_date: 2025-01-01",
             "datasets:", "  src:", "    format: parquet", "    path: data/in/src.parquet", "    columns:",
             "      id: {type: int}", "      amount: {type: decimal, scale: 2}", "      day: {type: date}",
             "  out:", "    format: parquet", "    path: data/out/out.parquet", "steps:", "  s0:", "    read: src"]
    for i in range(1, n):
        lines += [f"  s{i}:", f"    from: s{i - 1}", "    derive:", f'      c{i}: "amount + {i}"']
    lines += ["  save:", f"    from: s{n - 1}", "    write: out", "    mode: overwrite"]
    return "\n".join(lines) + "\n"


def checked(text: str, tmp_path: Path, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = check_text(text, str(path))
    assert result.ok, result.diagnostics
    return result


def test_dag_file_grows_linearly_with_the_chain(tmp_path):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    size = {n: len(compile_mod.render_checked(checked(chain_spec(n), tmp_path, f"c{n}.yaml"), tmp_path).encode())
            for n in (100, 300)}
    assert size[300] / size[100] < 3.3, size
    assert size[300] < 200_000, size   # version 1 wrote 2.65 MB for this chain


def test_every_step_gets_back_its_full_types(tmp_path, valid_spec_text):
    result = checked(valid_spec_text, tmp_path)
    plan = compile_mod.plan_checked(result, tmp_path)
    payloads = [t.payload for t in plan.tasks if t.kind == "python"]
    seen = set()
    for payload in payloads:
        assert payload["etlc"] == PLAN_VERSION == 2
        assert all("types" not in step for step in payload["steps"])
        everything = plan_types.all_step_types(payload)
        for step in payload["steps"]:
            name = step["name"]
            expected = dict(result.step_types.get(name, {})) if step["kind"] in ("read", "transform") else {}
            by_step = expected
            if step["kind"] == "write" and len(step.get("from") or ()) == 1 \
                    and step["from"][0] in payload["types"]:   # a write has the types of what it writes
                by_step = dict(result.step_types[step["from"][0]])
                assert by_step, name
            assert plan_types.step_types(payload, step) == by_step
            assert plan_types.step_types(payload, name) == expected
            assert everything.get(name, {}) == expected
            seen.add(name)
    assert {"raw", "big", "agg"} <= seen
    # the aggregate's entry holds only its new outputs, on top of its input's
    agg = next(p for p in payloads if "agg" in p["types"])["types"]["agg"]
    assert agg == {"base": "big", "cols": {"orders": {"type": "int"}, "revenue": {"type": "decimal", "scale": 2}}}


def test_chain_entries_hold_only_what_changed(tmp_path):
    result = checked(chain_spec(5), tmp_path)
    payload = next(t.payload for t in compile_mod.plan_checked(result, tmp_path).tasks if t.kind == "python")
    table = payload["types"]
    assert table["s0"] == {"cols": {"id": {"type": "int"}, "amount": {"type": "decimal", "scale": 2},
                                    "day": {"type": "date"}}}
    assert table["s3"] == {"base": "s2", "cols": {"c3": {"type": "decimal", "scale": 2}}}
    assert plan_types.step_types(payload, "s4") == {
        "id": {"type": "int"}, "amount": {"type": "decimal", "scale": 2}, "day": {"type": "date"},
        **{f"c{i}": {"type": "decimal", "scale": 2} for i in range(1, 5)}}


def test_compact_round_trips_changes_drops_and_gaps():
    full = {"a": {"x": {"type": "int"}, "y": {"type": "string"}},
            "b": {"x": {"type": "float"}, "z": {"type": "date"}},   # x changes, y goes, z comes
            # "c" has no known types
            "d": {"z": {"type": "date"}}}
    table = plan_types.compact(["a", "b", "c", "d"], full)
    assert "c" not in table and table["d"]["base"] == "b" and table["d"]["drop"] == ["x"]
    plan = {"etlc": 2, "types": table, "steps": [{"name": n} for n in "abcd"]}
    for name in "abcd":
        assert plan_types.step_types(plan, name) == full.get(name, {})


def test_version_1_steps_still_read():
    step = {"name": "s", "types": {"x": {"type": "decimal", "scale": 2}}}
    assert plan_types.step_types({"etlc": 1, "steps": [step]}, step) == {"x": {"type": "decimal", "scale": 2}}
    assert plan_types.step_types({"etlc": 1, "steps": [{"name": "t"}]}, {"name": "t"}) == {}


@pytest.mark.parametrize("table", [{"a": {"base": "b"}, "b": {"base": "a"}}, {"a": {"base": "missing"}}])
def test_malformed_tables_are_refused(table):
    with pytest.raises(ValueError):
        plan_types.step_types({"etlc": 2, "types": table}, "a")
