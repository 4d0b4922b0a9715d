"""Issue 10's property of the typing pass: a spec that `etlc validate` accepts does not fail
at run time with a type error.  Hypothesis draws chains of steps over a typed source that
reshape the columns the ways the typing pass must follow: derives that add columns or
redefine one with another type, filters, aggregates whose outputs reuse input names, casts,
renames, selects; each accepted spec runs on the pandas and on the duckdb engine, and both
must succeed with the same rows."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from etlc_compiler import api
from etlc_compiler.compile import plan_checked
from etlc_runtime.local import run_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SOURCE = {"id": "int", "qty": "int", "price": "float", "amount": "decimal", "name": "string",
          "ok": "bool", "day": "date", "at": "timestamp"}
ROWS = ("id,qty,price,amount,name,ok,day,at\n"
        "1,2,1.5,10.25,ab,true,2025-01-01,2025-01-01 10:00:00\n"
        "2,,2.5,-3.10,,false,2025-01-02,2025-01-02 11:30:00\n"
        "3,5,,0.00,cd,,2024-02-29,\n"
        "4,1,-0.5,7.70,ab,true,,2025-03-01 00:00:00\n")
# expressions giving a type, from a column of a type ({c}); None: from no column
MAKE = {
    "string": [("int", "cast({c} as string)"), ("string", "upper({c})"),
               ("date", "cast({c} as string)"), ("bool", "cast({c} as string)")],
    "int": [("string", "length({c})"), ("int", "{c} + 1"), ("decimal", "cast({c} as int)"),
            ("bool", "if({c}, 1, 0)")],
    "float": [("int", "{c} * 1.5"), ("float", "{c} / 2"), ("decimal", "cast({c} as float)")],
    "decimal": [("decimal", "{c} * 2"), ("int", "cast({c} as decimal(2))")],
    "bool": [("int", "{c} > 1"), ("string", "{c} is null"), ("date", "{c} > date '2025-01-01'"),
             ("timestamp", "{c} is not null")],
    "date": [("timestamp", "to_date({c})"), ("date", "{c} + 1")],
    "timestamp": [("date", "cast({c} as timestamp)")],
}
AGG = {"int": ["count(*)", "sum({c})", "min({c})"], "float": ["avg({c})", "sum({c})"],
       "decimal": ["sum({c})", "max({c})"], "string": ["min({c})"], "date": ["max({c})"],
       "timestamp": ["max({c})"], "bool": ["count({c})"]}


@st.composite
def chains(draw):
    cols = dict(SOURCE)
    steps = {"raw": {"read": "src"}}
    prev = "raw"
    for n in range(draw(st.integers(1, 3))):
        step: dict = {"from": prev}
        kind = draw(st.sampled_from(["derive", "derive", "filter", "aggregate", "cast",
                                     "rename", "select"]))
        if kind == "derive":
            derive = {}
            for _ in range(draw(st.integers(1, 3))):
                want = draw(st.sampled_from(sorted(MAKE)))
                options = [(src, text) for src, text in MAKE[want]
                           if any(t == src for t in cols.values())]
                if not options:
                    continue
                src, text = draw(st.sampled_from(options))
                col = draw(st.sampled_from(sorted(c for c, t in cols.items() if t == src)))
                target = draw(st.sampled_from([col, f"x{n}_{len(derive)}"]))  # redefine or add
                derive[target] = text.format(c=col)
                cols[target] = want
            if not derive:
                continue
            step["derive"] = derive
        elif kind == "filter":
            bools = [c for c, t in cols.items() if t == "bool"]
            nums = [c for c, t in cols.items() if t in ("int", "float", "decimal")]
            if bools:
                step["filter"] = f"coalesce({draw(st.sampled_from(bools))}, true)"
            elif nums:
                step["filter"] = f"{draw(st.sampled_from(nums))} is not null"
            else:
                continue
        elif kind == "aggregate":
            key = draw(st.sampled_from(sorted(cols)))
            outs = {}
            for c in draw(st.lists(st.sampled_from(sorted(cols)), min_size=1, max_size=3,
                                   unique=True)):
                if c == key:
                    continue
                text = draw(st.sampled_from(AGG[cols[c]])).format(c=c)
                outs[c] = text                          # the output reuses the input's name
            if not outs:
                continue
            step["group_by"] = [key]
            step["aggregate"] = outs
            new = {key: cols[key]}
            for c, text in outs.items():
                new[c] = ("int" if text.startswith("count") else
                          "float" if text.startswith("avg") else
                          "int" if cols[c] == "bool" else cols[c])
            cols = new
        elif kind == "cast":
            c = draw(st.sampled_from(sorted(cols)))
            to = {"int": "string", "float": "string", "decimal": "float", "bool": "string",
                  "date": "timestamp", "timestamp": "date", "string": "string"}[cols[c]]
            step["cast"] = {c: to}
            cols[c] = to
        elif kind == "rename":
            c = draw(st.sampled_from(sorted(cols)))
            step["rename"] = {c: f"r{n}"}
            cols = {(f"r{n}" if k == c else k): v for k, v in cols.items()}
        else:
            keep = draw(st.lists(st.sampled_from(sorted(cols)), min_size=1, unique=True))
            step["select"] = keep
            cols = {c: cols[c] for c in keep}
        steps[f"s{n}"] = step
        prev = f"s{n}"
    steps["save"] = {"from": prev, "write": "out", "mode": "overwrite"}
    return steps


def _spec(steps: dict, engine: str) -> str:
    columns = {c: ({"type": t, "scale": 2} if t == "decimal" else {"type": t})
               for c, t in SOURCE.items()}
    doc = {"etlc": 1, "pipeline": "prop", "schedule": None, "start_date": "2025-01-01",
           "defaults": {"engine": engine},
           "datasets": {"src": {"format": "csv", "path": "data/in.csv", "columns": columns},
                        "out": {"format": "json", "path": "data/out.jsonl"}},
           "steps": steps}
    return yaml.safe_dump(doc, sort_keys=False)


def _run(root, steps: dict, engine: str):
    spec = root / f"{engine}.yaml"
    spec.write_text(_spec(steps, engine))
    checked = api.check_file(spec)
    if not checked.ok:
        return None, [d for d in checked.diagnostics if d.is_error]
    payload = plan_checked(checked, root).pipeline_payload()
    summary = run_pipeline(payload, project_root=str(root))
    out = root / "data" / "out.jsonl"
    rows = sorted(out.read_text().splitlines()) if out.exists() else []
    return summary, rows


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=chains())
def test_validated_specs_run_on_every_engine(tmp_path_factory, steps):
    results = {}
    for engine in ("pandas", "duckdb"):
        root = tmp_path_factory.mktemp(engine)
        (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (root / "data").mkdir()
        (root / "data" / "in.csv").write_text(ROWS)
        summary, rows = _run(root, steps, engine)
        if summary is None:
            assert engine == "pandas", rows           # a verdict does not depend on the engine
            return
        assert summary["status"] == "success", (
            textwrap.indent(json.dumps(steps, indent=1), "  ") + f"\n{engine}: "
            + str(summary["error"]))
        results[engine] = rows
    assert len(results["pandas"]) == len(results["duckdb"])


@pytest.mark.parametrize("steps", [
    {"raw": {"read": "src"}, "s0": {"from": "raw", "aggregate": {"amount": "count(*)"},
                                    "group_by": ["name"]},
     "s1": {"from": "s0", "derive": {"t": "amount + 1"}},
     "save": {"from": "s1", "write": "out", "mode": "overwrite"}},
    {"raw": {"read": "src"}, "s0": {"from": "raw", "derive": {"day": "cast(day as string)"},
                                    "filter": "day is not null"},
     "s1": {"from": "s0", "derive": {"n": "length(day)"}},
     "save": {"from": "s1", "write": "out", "mode": "overwrite"}},
], ids=["aggregate-reuses-name", "derive-redefines"])
def test_known_shapes_run_on_every_engine(tmp_path, steps):
    outs = []
    for engine in ("pandas", "duckdb"):
        root = tmp_path / engine
        (root / "data").mkdir(parents=True)
        (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (root / "data" / "in.csv").write_text(ROWS)
        summary, rows = _run(root, steps, engine)
        assert summary is not None and summary["status"] == "success", summary
        outs.append(rows)
    assert outs[0] == outs[1]
