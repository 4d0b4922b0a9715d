"""One suite, every engine: the same small plans (read -> transform -> write, checks, metrics)
run on pandas and on duckdb, and the written outputs, read back with pyarrow, must be equal:
file names, Arrow types, values, nulls, empty strings, row order where `sort` fixes it.

Where an engine does not match yet, the case carries ``xfail(strict=True)`` naming what
differs, so a fix shows up as an unexpected pass; no case is skipped.

Both engines come from the registry (``etlc_runtime.engines.get_engine``), as the executor
builds them, and get the same :class:`StepContext` (the input's declared column types in
``types``, as the plan gives them).
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.engines.duckdb_engine import DuckDBEngine
from etlc_runtime.errors import CheckFailed

I64 = 2**63 - 1
COLS = {"id": {"type": "int"}, "k": {"type": "string"}, "s": {"type": "string"},
        "f": {"type": "float"}, "d": {"type": "decimal", "scale": 2}, "day": {"type": "date"},
        "ts": {"type": "timestamp"}, "b": {"type": "bool"}}
ROWS = [
    (1, "a", "x", 1.5, "1.25", dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), True),
    (2, "a", "", 2.25, "-3.10", dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5, 6),
     False),
    (3, "b", None, None, None, None, None, None),
    (I64, "b", "y,z", -0.5, "0.00", dt.date(1970, 1, 1), dt.datetime(1999, 12, 31, 23, 59, 59),
     True),
    (-I64 - 1, None, "ü'\"", 4.0, "10.5", dt.date(2000, 1, 1), dt.datetime(2000, 1, 1), False),
]


def _table() -> pa.Table:
    cols = list(zip(*ROWS))
    return pa.table({
        "id": pa.array(cols[0], pa.int64()), "k": pa.array(cols[1], pa.string()),
        "s": pa.array(cols[2], pa.string()), "f": pa.array(cols[3], pa.float64()),
        "d": pa.array([None if v is None else decimal.Decimal(v) for v in cols[4]],
                      pa.decimal128(18, 2)),
        "day": pa.array(cols[5], pa.date32()), "ts": pa.array(cols[6], pa.timestamp("us")),
        "b": pa.array(cols[7], pa.bool_())})


def _csv_text() -> str:
    def text(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dt.datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, str) and ("," in v or '"' in v):
            return '"' + v.replace('"', '""') + '"'
        return str(v)
    return "id,k,s,f,d,day,ts,b\n" + "".join(",".join(map(text, r)) + "\n" for r in ROWS)


def _inputs(root: Path) -> dict:
    (root / "in").mkdir()
    pq.write_table(_table(), root / "in" / "t.parquet")
    (root / "in" / "t.csv").write_text(_csv_text())
    pq.write_table(pa.table({"k": ["a", "b", "c"], "label": ["A", "B", "C"]}),
                   root / "in" / "dim.parquet")
    import json
    with open(root / "in" / "t.jsonl", "w") as fh:
        fh.writelines(json.dumps(r, default=str) + "\n" for r in _table().to_pylist())
    for k in ("a/b", None, "", "x=1"):
        from etlc_runtime import hive
        folder = root / "in" / "hive" / hive.segment("k", k)
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"id": [len(str(k))]}), folder / "part-00000.parquet")
    return {
        "hive": {"format": "parquet", "path": "in/hive"},
        "json": {"format": "json", "path": "in/t.jsonl", "columns": COLS},
        "pq": {"format": "parquet", "path": "in/t.parquet", "columns": COLS},
        "csv": {"format": "csv", "path": "in/t.csv", "columns": COLS},
        "dim": {"format": "parquet", "path": "in/dim.parquet",
                "columns": {"k": {"type": "string"}, "label": {"type": "string"}}},
    }


def _engine(name: str, root: Path):
    """The engine as the executor builds it (the registry, TaskResources with a spill
    folder under the project)."""
    return get_engine(name, TaskResources(spill_dir=root / ".etlc" / "spill"))


def _run(name: str, root: Path, case: dict):
    """Read the case's input, apply its step, write its output; return the engine's result
    of checks/metrics where the case asks for them."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    datasets = _inputs(root)
    ctx = StepContext(root=root, params={"p": 1}, macros={"ds": "2024-01-01"},
                      append_key="date_2024-01-01", step="s",
                      types={**COLS, "label": {"type": "string"}})
    engine = _engine(name, root)
    try:
        rel = engine.read(datasets[case.get("input", "pq")], ctx)
        inputs = {"t": rel, "dim": engine.read(datasets["dim"], ctx)}
        rel = engine.transform(case.get("step", {}), inputs, ctx, base=rel)
        if "checks" in case:
            try:
                engine.check(rel, case["checks"], ctx)
                return None
            except CheckFailed as exc:
                return (exc.check, exc.failing)
        if "metrics" in case:
            return engine.metrics(rel, case["metrics"], ctx)
        out = {"format": "parquet", "path": "out/", **case.get("out", {})}
        mode = case.get("mode", "overwrite")
        if "first" in case:  # an earlier version the write must keep parts of
            earlier = StepContext(root=root, params={}, macros={"ds": "2023-12-31"},
                                  append_key="date_2023-12-31", step="s", types=ctx.types)
            first = engine.transform(case["first"], inputs, ctx, base=inputs["t"])
            engine.write(first, out, "append" if mode == "append" else "overwrite", earlier)
        # the write step's types are the step's output types, as the plan gives them
        engine.write(rel, out, mode, replace(ctx, types={**ctx.types, **case.get("types", {})}))
        return _read_back(root / "out")
    finally:
        engine.close()


def _read_back(folder: Path) -> dict:
    """Every written file: Parquet as (schema types, rows), text as its exact text."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".etlc-dataset")
    out = {}
    for f in files:
        rel = f.relative_to(folder).as_posix()
        if f.suffix == ".parquet":
            t = pq.read_table(f)
            # DuckDB marks a column it knows holds no null REQUIRED; pandas never does:
            # nullability is not part of the comparison
            # pandas' writer stores an Arrow schema hint that reads its strings back as
            # large_string; the Parquet type (BYTE_ARRAY, UTF8) is the same as DuckDB's
            out[rel] = ([(fl.name, str(fl.type).replace("large_string", "string"))
                         for fl in t.schema], t.to_pylist())
        else:
            out[rel] = f.read_text()
    return out


OUT_COLS = {"d": {"type": "decimal", "scale": 2}}
SORT = {"sort": ["id"]}


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


CASES = [
    pytest.param({"step": SORT, "out": {"columns": OUT_COLS}}, id="read-write-parquet"),
    pytest.param({"input": "csv", "step": SORT, "out": {"columns": OUT_COLS}},
                 id="read-csv-write-parquet"),
    pytest.param({"input": "csv", "step": {"filter": "id between -99 and 99", **SORT},
                  "out": {"columns": OUT_COLS}}, id="read-csv-small-ints"),
    pytest.param({"input": "json", "step": {"filter": "id between -99 and 99", **SORT},
                  "out": {"columns": OUT_COLS}}, id="read-json"),
    pytest.param({"input": "hive", "step": {"sort": ["id"]}}, id="read-hive-folders"),
    pytest.param({"step": SORT}, id="undeclared-decimal"),
    pytest.param({"step": {"filter": "f > 0 and s is not null", **SORT},
                  "out": {"columns": OUT_COLS}}, id="filter"),
    pytest.param({"step": {"derive": {"x": "id % 7", "y": "upper(s) || '!'", "z": "day - day",
                                      "w": "if(b, f, 0.0)", "n": "length(s)",
                                      "r": "round(f * 3, 1)"}, **SORT},
                  "out": {"columns": OUT_COLS}}, id="derive"),
    pytest.param({"step": {"derive": {"dd": "d * 2", "ds": "d + 1"}, **SORT},
                  "out": {"columns": {**OUT_COLS, "dd": {"type": "decimal", "scale": 4},
                                      "ds": {"type": "decimal", "scale": 2}}}},
                 id="derive-decimal"),
    pytest.param({"step": {"derive": {"z": "day + 1"}, **SORT}, "out": {"columns": OUT_COLS}},
                 id="derive-date-plus-int"),
    pytest.param({"step": {"group_by": ["k"],
                           "aggregate": {"n": "count(*)", "sf": "sum(f)", "mn": "min(day)",
                                         "mx": "max(ts)", "cd": "count_distinct(s)",
                                         "si": "sum(id % 10)"},
                           "having": "count(*) >= 1", "sort": ["k"]}},
                 id="aggregate"),
    pytest.param({"step": {"group_by": ["k"], "aggregate": {"f": "count(*)", "mx": "max(f)"},
                           "having": "f >= 2 and sum(f) > 0 and k is not null",
                           "sort": ["k"]}}, id="having-names-outputs"),
    pytest.param({"step": {"select": ["id", "k", "s"], "rename": {"s": "text"},
                           "drop": ["k"], **SORT}}, id="select-rename-drop"),
    pytest.param({"step": {"cast": {"f": "int", "b": "string", "day": "timestamp"}, **SORT},
                  "out": {"columns": OUT_COLS},
                  "types": {"f": {"type": "int"}, "b": {"type": "string"},
                            "day": {"type": "timestamp"}}}, id="cast"),
    pytest.param({"step": {"select": ["k", "b"], "distinct": True, "sort": ["k", "b"]}},
                 id="distinct"),
    pytest.param({"step": {"sort": ["-f", "id"], "limit": 4}, "out": {"columns": OUT_COLS}},
                 id="sort-nulls-last-limit"),
    pytest.param({"step": {"join": {"with": "dim", "on": ["k"], "how": "left"}, **SORT},
                  "out": {"columns": OUT_COLS}}, id="join-left"),
    pytest.param({"step": {"join": {"with": "dim", "on": ["k"], "how": "inner"},
                           "select": ["id", "label"], **SORT}}, id="join-inner"),
    pytest.param({"step": {"union": ["t"], "select": ["id", "s", "day"],
                           "sort": ["id", "s"]}}, id="union"),
    pytest.param({"step": {"select": ["id", "k", "s", "day"], **SORT},
                  "out": {"partition_by": ["k"]}}, id="partitioned-parquet"),
    pytest.param({"step": {"select": ["id", "k", "s", "f", "day", "b"], **SORT},
                  "out": {"format": "csv", "partition_by": ["b"],
                          "options": {"null_value": "NULL"}}},
                 id="partitioned-csv"),
    pytest.param({"step": {"select": ["id", "ts", "b"], **SORT},
                  "out": {"format": "csv", "partition_by": ["b"]}},
                 id="csv-timestamps"),
    pytest.param({"step": {"select": ["id", "k", "s", "f", "b"], **SORT},
                  "out": {"format": "csv"}}, id="csv-text-forms"),
    pytest.param({"step": {"select": ["id", "k", "f", "b"], **SORT},
                  "out": {"format": "json"}}, id="json-write"),
    pytest.param({"step": {"select": ["id", "s"], **SORT}, "out": {"format": "json"}},
                 id="json-non-ascii"),
    pytest.param({"first": {"select": ["id", "k", "s"], "filter": "id > 1", **SORT},
                  "step": {"select": ["id", "k", "s"], **SORT}, "mode": "append",
                  "out": {"partition_by": ["k"]}}, id="append-partitioned"),
    pytest.param({"first": {"select": ["id", "k", "s"], **SORT},
                  "step": {"select": ["id", "k", "s"], "filter": "k = 'a'",
                           "derive": {"s": "s || '2'"}, **SORT},
                  "mode": "overwrite_partitions", "out": {"partition_by": ["k"]}},
                 id="overwrite-partitions"),
    pytest.param({"step": {"select": ["id", "day"], **SORT}, "out": {"format": "json"}},
                 id="json-dates"),
    pytest.param({"checks": {"not_null": ["id", "s"]}}, id="check-not-null"),
    pytest.param({"checks": {"unique": ["k"]}}, id="check-unique"),
    pytest.param({"checks": {"expect": ["f > 0"]}}, id="check-expect-null-fails"),
    pytest.param({"checks": {"row_count": {"min": 6}}}, id="check-row-count"),
    pytest.param({"metrics": {"n": "count(*)", "sf": "sum(f)", "mx": "max(day)",
                              "avg": "mean(f)", "ids": "count_distinct(k)"}}, id="metrics"),
]


def test_abs_of_the_smallest_int_stops_every_engine(tmp_path):
    """abs(-2**63) has no int64: every engine stops (pandas and dask wrapped it to -2**63
    before 5ec32c7); pandas and dask name the row and value (R041); the duckdb engine raises DuckDB's
    out-of-range error at this boundary."""
    import duckdb

    case = {"step": {"filter": "abs(id) < 100", **SORT}}
    for name in ("pandas", "dask"):
        with pytest.raises(Exception) as info:
            _run(name, tmp_path / name, case)
        err = info.value
        assert (err.code, err.value) == ("R041", -2**63), name
    with pytest.raises(duckdb.OutOfRangeException):
        _run("duckdb", tmp_path / "duckdb", case)


@pytest.mark.parametrize("case", CASES)
def test_engines_agree(case, tmp_path):
    pandas_out = _run("pandas", tmp_path / "pandas", case)
    duckdb_out = _run("duckdb", tmp_path / "duckdb", case)
    assert duckdb_out == pandas_out
    if "checks" not in case:
        assert pandas_out  # something was written or computed


# -- every expression case of tests/expr (cases.py, exprdata.py: read, not changed), on both
# engines: the duckdb engine's derive/filter/aggregate against the pandas evaluator, types
# (etlc types of the DuckDB columns) and values exactly

EXPR_DIR = Path(__file__).resolve().parents[1] / "expr"


def _expr_modules():
    import sys
    if str(EXPR_DIR) not in sys.path:
        sys.path.insert(0, str(EXPR_DIR))
    import cases
    import exprdata
    return cases, exprdata


_cases, _exprdata = _expr_modules()


def _expr_table() -> pa.Table:
    arrow = {"int": pa.int64(), "float": pa.float64(), "string": pa.string(),
             "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us")}
    cols = {}
    for name, (t, _, values) in _exprdata.COLUMNS.items():
        typ = pa.decimal128(18, t.scale) if t.name == "decimal" else arrow[t.name]
        cols[name] = pa.array(values, typ)
    return pa.table(cols)


@pytest.fixture(scope="module")
def expr_engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("expr")
    engine = DuckDBEngine(TaskResources(spill_dir=root / "spill"))
    rel = engine.from_arrow(_expr_table())
    yield engine, rel, StepContext(root=root, params=_exprdata.PARAMS, macros={})
    engine.close()


@pytest.fixture(scope="module")
def expr_frame():
    return _exprdata.pandas_frame()


def _duck_values(values, t) -> list:
    return [_exprdata.duck_value(v, t) for v in values]


def _param(text: str, kind: str):
    return pytest.param(text, id=f"{kind}:{text}")


@pytest.mark.parametrize("text", [_param(t, "row") for t in _cases.ROW_CASES])
def test_row_expression_agrees(text, expr_engine, expr_frame):
    from etlc_runtime.expr import check, parse
    from etlc_runtime.expr.pandas_eval import evaluate
    from etlc_runtime.expr.types import param_type

    engine, base, ctx = expr_engine
    p_types = {k: param_type(v) for k, v in _exprdata.PARAMS.items()}
    t, _ = check(parse(text), _exprdata.TYPES, p_types, "row")
    want = _exprdata.etlc_values(evaluate(text, expr_frame, _exprdata.PARAMS,
                                          types=_exprdata.TYPES), t, len(expr_frame))
    rel = engine.transform({"from": ["t"], "derive": {"__v": text}, "select": ["id", "__v"],
                            "sort": ["id"]}, {"t": base}, ctx)
    if t.name not in ("null", "unknown"):
        assert rel.types["__v"] == t, f"{text}: duckdb {rel.types['__v']}, etlc {t}"
    got = _duck_values(engine.to_arrow(rel).column("__v").to_pylist(), t)
    _exprdata.assert_same_lists(got, want, text)


@pytest.mark.parametrize("text", [_param(t, "filter") for t in _cases.FILTER_CASES])
def test_filter_agrees(text, expr_engine, expr_frame):
    from etlc_runtime.expr.pandas_eval import apply_filter

    engine, base, ctx = expr_engine
    want = apply_filter(text, expr_frame, _exprdata.PARAMS, types=_exprdata.TYPES)["id"].tolist()
    rel = engine.transform({"from": ["t"], "filter": text, "sort": ["id"]}, {"t": base}, ctx)
    assert engine.to_arrow(rel).column("id").to_pylist() == want


@pytest.mark.parametrize("index", range(len(_cases.AGG_CASES)),
                         ids=[f"agg{i}" for i in range(len(_cases.AGG_CASES))])
def test_aggregate_agrees(index, expr_engine, expr_frame):
    from etlc_runtime.expr import parse
    from etlc_runtime.expr.pandas_eval import aggregate

    engine, base, ctx = expr_engine
    group_by, aggs, having = _cases.AGG_CASES[index]
    out = aggregate(expr_frame, group_by, {k: parse(v) for k, v in aggs.items()},
                    _exprdata.PARAMS, parse(having) if having else None, types=_exprdata.TYPES)
    rel = engine.transform({"from": ["t"], "group_by": group_by, "aggregate": aggs,
                            "having": having, "sort": group_by}, {"t": base}, ctx)
    got = engine.to_arrow(rel)
    assert list(got.schema.names) == [*group_by, *aggs]
    order = sorted(range(len(out)), key=lambda r: tuple(
        (out[k].iloc[r] is None or out[k].isna().iloc[r], str(out[k].iloc[r])) for k in group_by))
    for col in [*group_by, *aggs]:
        t = rel.types[col]
        want = [_exprdata.etlc_value(out[col].iloc[r], t) for r in order]
        ulps = 2 if col in ("std", "sd") and t.name == "float" else 0
        _exprdata.assert_same_lists(_duck_values(got.column(col).to_pylist(), t), want,
                                    f"agg{index}: {col}", ulps)
