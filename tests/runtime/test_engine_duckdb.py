"""The duckdb engine called directly with plan-shaped steps: reads, the chain as one lazy
query, checks, metrics, writes through the commit protocol, the staging hand-off, spilling
under a small memory_limit, quoting of hostile names, and no pandas on its path."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import hive
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.engines.duckdb_engine import DuckDBEngine
from etlc_runtime.errors import CheckFailed, StepError, UnsafePath

CSV = "id,name,amt,day,ok\n1,a,1.5,2024-01-02,true\n2,b,,2024-01-03,no\n3, c ,2.25,,YES\n"
COLS = {"id": {"type": "int"}, "name": {"type": "string"},
        "amt": {"type": "decimal", "scale": 2}, "day": {"type": "date"},
        "ok": {"type": "bool"}}


@pytest.fixture
def engine(project):
    e = DuckDBEngine(TaskResources(spill_dir=project / ".etlc" / "spill"))
    yield e
    e.close()


def ctx_of(root: Path, **params) -> StepContext:
    return StepContext(root=root, params=params, macros={"ds": "2024-01-01"},
                       append_key="date_2024-01-01", step="s")


def csv_ds(project, text=CSV, **opts):
    (project / "in.csv").write_text(text)
    return {"format": "csv", "path": "in.csv", "columns": COLS, "options": opts}


def rows(engine, rel):
    return engine.to_arrow(rel).to_pylist()


def test_csv_read_converts_declared_types_as_the_pandas_engine(engine, project):
    rel = engine.read(csv_ds(project), ctx_of(project))
    t = engine.to_arrow(rel)
    assert t.schema.names == list(COLS)
    assert [str(x) for x in t.schema.types] == ["int64", "string", "decimal128(38, 2)",
                                                "date32[day]", "bool"]
    assert t.to_pylist() == [
        {"id": 1, "name": "a", "amt": decimal.Decimal("1.50"), "day": dt.date(2024, 1, 2),
         "ok": True},
        {"id": 2, "name": "b", "amt": None, "day": dt.date(2024, 1, 3), "ok": False},
        {"id": 3, "name": " c ", "amt": decimal.Decimal("2.25"), "day": None, "ok": True}]


def test_csv_null_value_header_and_delimiter(engine, project):
    ds = csv_ds(project, "1;NULL;1;2024-01-01;t\n2;x;NULL;NULL;f\n", delimiter=";",
                header=False, null_value="NULL")
    got = rows(engine, engine.read(ds, ctx_of(project)))
    assert [(r["id"], r["name"], r["amt"], r["day"]) for r in got] == [
        (1, None, decimal.Decimal("1.00"), dt.date(2024, 1, 1)), (2, "x", None, None)]


def test_bad_value_fails_at_execution_and_names_the_column(engine, project):
    ds = csv_ds(project, "id,name,amt,day,ok\nzz,a,1,2024-01-01,true\n")
    rel = engine.read(ds, ctx_of(project))  # lazy: nothing read yet
    with pytest.raises(Exception) as info:
        engine.to_arrow(rel)
    err = info.value
    assert (err.code, err.column, err.row, err.value) == ("R040", "id", 1, "zz")


def test_chain_is_one_lazy_query(engine, project):
    """Transforms build SQL only: a value that fails to cast is found when rows are asked for,
    and the final query holds every stage as a CTE of one statement."""
    ds = csv_ds(project)
    ctx = ctx_of(project, m=2)
    base = engine.read(ds, ctx)
    step = {"filter": "id >= $m", "derive": {"x": "amt * 2", "y": "x + 1", "n": "1"},
            "cast": {"name": "int"}, "sort": ["-id"]}
    rel = engine.transform(step, {}, ctx, base=base)
    query = rel.query()
    assert query.count("SELECT") >= 5 and query.startswith("WITH ")
    with pytest.raises(Exception, match="not a valid int"):
        engine.to_arrow(rel)  # ' c ' and 'b' are no ints: the error comes at execution
    ok = engine.transform({k: v for k, v in step.items() if k != "cast"}, {}, ctx, base=base)
    t = engine.to_arrow(ok)
    assert t.column("id").to_pylist() == [3, 2]
    assert t.column("y").to_pylist() == [decimal.Decimal("5.50"), None]
    assert t.schema.field("n").type == pa.int64()  # an int literal is a 64-bit int


def test_every_transform_key(engine, project):
    ctx = ctx_of(project)
    a = engine.from_arrow(pa.table({"k": [1, 2, 2, None], "v": ["x", "y", "y", "z"]}))
    b = engine.from_arrow(pa.table({"k": [2, 3, None], "v": ["p", "q", "r"]}))
    j = engine.transform({"from": ["a"], "join": {"with": "b", "on": ["k"], "how": "left"},
                          "sort": ["k", "v"]}, {"a": a, "b": b}, ctx)
    assert rows(engine, j) == [{"k": 1, "v": "x", "v__right": None},
                               {"k": 2, "v": "y", "v__right": "p"},
                               {"k": 2, "v": "y", "v__right": "p"},
                               {"k": None, "v": "z", "v__right": None}]
    anti = engine.transform({"from": ["a"], "join": {"with": "b", "on": ["k"], "how": "anti"},
                             "sort": ["v"]}, {"a": a, "b": b}, ctx)
    assert [r["v"] for r in rows(engine, anti)] == ["x", "z"]  # a null key matches nothing
    u = engine.transform({"from": ["a"], "union": ["b"], "distinct": True,
                          "sort": ["-k", "v"], "limit": 3}, {"a": a, "b": b}, ctx)
    assert rows(engine, u) == [{"k": 3, "v": "q"}, {"k": 2, "v": "p"}, {"k": 2, "v": "y"}]
    g = engine.transform({"from": ["a"], "group_by": ["v"],
                          "aggregate": {"n": "count(*)", "s": "sum(k)", "f": "first(k)"},
                          "having": "n >= 1 and v != 'x'", "rename": {"n": "count"},
                          "drop": ["f"], "select": ["v", "n", "s", "f"], "sort": ["v"]},
                         {"a": a}, ctx)
    assert rows(engine, g) == [{"v": "y", "count": 2, "s": 4}, {"v": "z", "count": 1, "s": None}]
    assert engine.to_arrow(g).schema.field("s").type == pa.int64()  # not DuckDB's HUGEINT


def test_decimal_sum_wider_than_its_input(engine, project):
    big = decimal.Decimal("9999999999999999.99")  # 18 digits, the widest DECIMAL(18, 2)
    rel = engine.from_arrow(pa.table({"d": pa.array([big] * 20, pa.decimal128(18, 2))}))
    g = engine.transform({"from": ["r"], "aggregate": {"s": "sum(d)"}}, {"r": rel},
                         ctx_of(project))
    assert rows(engine, g) == [{"s": big * 20}]


def test_a_derived_copy_keeps_a_wide_decimal(engine, project):
    """``derive: {w: v}`` of a DECIMAL(38, 2) value with 19 digits: the copy is the value
    (a cast to the expression default DECIMAL(18, 2) would stop the run on it)."""
    big = decimal.Decimal("12345678901234567.89")
    rel = engine.from_arrow(pa.table({"v": pa.array([big, None], pa.decimal128(38, 2))}))
    d = engine.transform({"from": ["r"], "derive": {"w": "v"}}, {"r": rel}, ctx_of(project))
    assert rows(engine, d) == [{"v": big, "w": big}, {"v": None, "w": None}]
    assert engine.to_arrow(d).schema.field("w").type == pa.decimal128(38, 2)


def test_sort_puts_nulls_last_both_ways(engine, project):
    rel = engine.from_arrow(pa.table({"k": [2, None, 1]}))
    for keys, want in ((["k"], [1, 2, None]), (["-k"], [2, 1, None])):
        got = engine.transform({"from": ["r"], "sort": keys}, {"r": rel}, ctx_of(project))
        assert [r["k"] for r in rows(engine, got)] == want


def test_hostile_identifiers_and_literals_are_quoted(engine, project):
    name = 'we"ird select\'; DROP TABLE x; --'
    rel = engine.from_arrow(pa.table({name: [1, 2], "s": ["it's", "o\"k"]}))
    out = engine.transform({"from": ["r"], "filter": "s != 'it''s'",
                            "derive": {"from": f"`{name}` + 1"}}, {"r": rel}, ctx_of(project))
    assert rows(engine, out) == [{name: 2, "s": 'o"k', "from": 3}]


def test_hive_folders_are_decoded_as_hive_py(engine, project):
    values = ["a/b:c", None, hive.HIVE_NULL, "", "x%zz", "ü=1"]
    base = project / "data"
    for i, v in enumerate(values):
        folder = base / hive.segment("k", v)
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"i": [i]}), folder / "part-00000.parquet")
    (base / "_SUCCESS").write_text("")
    (base / ".hidden.parquet").write_text("not parquet")
    got = rows(engine, engine.read({"format": "parquet", "path": "data"}, ctx_of(project)))
    assert sorted((r["i"], r["k"]) for r in got) == [(i, v) for i, v in enumerate(values)]


def test_json_and_fixed_width_reads(engine, project):
    (project / "in.jsonl").write_text('{"a": 1, "b": "x"}\n\n{"a": 2.0, "b": null}\n')
    ds = {"format": "json", "path": "in.jsonl",
          "columns": {"a": {"type": "int"}, "b": {"type": "string"}}}
    assert rows(engine, engine.read(ds, ctx_of(project))) == [{"a": 1, "b": "x"},
                                                               {"a": 2, "b": None}]
    (project / "in.txt").write_text("H header\nD0012345abc\n\nD00200  x\nD003\n")
    fw = {"format": "fixed_width", "path": "in.txt", "options": {"skip_rows": 1,
                                                                   "record_types": ["D"]},
          "columns": {"rt": {"type": "string", "span": [1, 1]},
                      "n": {"type": "int", "span": [2, 4]},
                      "amt": {"type": "decimal", "scale": 2, "span": [5, 8]},
                      "s": {"type": "string", "span": [9, 11]}}}
    got = rows(engine, engine.read(fw, ctx_of(project)))
    assert got == [{"rt": "D", "n": 1, "amt": decimal.Decimal("23.45"), "s": "abc"},
                   {"rt": "D", "n": 2, "amt": decimal.Decimal("0.00"), "s": "x"},
                   {"rt": "D", "n": 3, "amt": None, "s": None}]


def test_reads_go_through_ensure_readable(engine, project, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text("a\n1\n")
    with pytest.raises(UnsafePath):
        engine.read({"format": "csv", "path": str(outside / "x.csv")}, ctx_of(project))


def test_checks_raise_check_failed_with_count_and_examples(engine, project):
    rel = engine.read(csv_ds(project), ctx_of(project))
    ctx = ctx_of(project)
    engine.check(rel, {"not_null": ["id"], "unique": ["id"], "expect": ["id > 0"],
                       "row_count": {"min": 3, "max": 3}}, ctx)
    with pytest.raises(CheckFailed) as info:
        engine.check(rel, {"not_null": ["day"]}, ctx)
    assert (info.value.check, info.value.failing) == ("not_null(day)", 1)
    assert info.value.examples == [{"id": 3, "name": " c ", "amt": 2.25, "day": None,
                                    "ok": True}]
    with pytest.raises(CheckFailed) as info:
        engine.check(rel, {"expect": ["amt > 1.6"]}, ctx)  # null fails too
    assert (info.value.check, info.value.failing) == ("expect(amt > 1.6)", 2)
    with pytest.raises(CheckFailed) as info:
        engine.check(rel, {"unique": ["ok"]}, ctx)
    assert (info.value.failing, info.value.examples) == (2, [{"ok": True}, {"ok": True}])
    with pytest.raises(CheckFailed) as info:
        engine.check(rel, {"row_count": {"max": 2}}, ctx)
    assert info.value.failing == 3 and len(info.value.examples) == 3
    with pytest.raises(StepError):
        engine.check(rel, {"not_null": ["nope"]}, ctx)


def test_metrics(engine, project):
    rel = engine.read(csv_ds(project), ctx_of(project))
    got = engine.metrics(rel, {"n": "count(*)", "last_day": "max(day)", "total": "sum(amt)",
                               "avg": "mean(id)", "none": "min(amt) / 0"}, ctx_of(project))
    assert got == {"n": 3, "last_day": "2024-01-03", "total": 3.75, "avg": 2.0,
                   "none": None}


def test_partitioned_write_names_folders_as_hive_py(engine, project):
    """One COPY per partition folder named by hive.segment: DuckDB's own PARTITION_BY names
    differ (it escapes spaces, '+', '}' and non-ASCII, writes 1.0 and timestamps its way)."""
    keys = ["a/b", None, hive.HIVE_NULL, "", "50%", "x=y", "a b", "ü", "a+b", "a{b}", "t\tab"]
    rel = engine.from_arrow(pa.table({"k": keys, "v": list(range(len(keys)))}))
    ds = {"format": "parquet", "path": "out", "partition_by": ["k"]}
    res = engine.write(rel, ds, "overwrite", ctx_of(project))
    assert (res["rows"], res["partitions"]) == (len(keys), len(keys))
    for i, k in enumerate(keys):
        part = project / "out" / hive.segment("k", k) / "part-00000.parquet"
        t = pq.read_table(part)
        assert t.schema.names == ["v"] and t.column("v").to_pylist() == [i]
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 1)
    rel = engine.from_arrow(pa.table({"f": [1.0, 2.5], "ts": [when, when], "v": [1, 2]}))
    engine.write(rel, {"format": "csv", "path": "o2", "partition_by": ["f", "ts"]},
                 "overwrite", ctx_of(project))
    assert sorted(p.relative_to(project / "o2").as_posix()
                  for p in (project / "o2").rglob("*.csv")) == [
        f"{hive.segment('f', f)}/{hive.segment('ts', when)}/part-00000.csv" for f in (1.0, 2.5)]


def test_write_modes_through_the_commit_protocol(engine, project):
    ds = {"format": "parquet", "path": "out/", "partition_by": ["p"]}
    rel = engine.from_arrow(pa.table({"p": [1, 2], "v": ["a", "b"]}))
    engine.write(rel, ds, "overwrite", ctx_of(project))
    assert (project / "out" / ".etlc-dataset").is_file()
    new = engine.from_arrow(pa.table({"p": [2, 3], "v": ["B", "C"]}))
    engine.write(new, ds, "overwrite_partitions", ctx_of(project))
    got = {d.name: pq.read_table(d / "part-00000.parquet").column("v").to_pylist()
           for d in sorted((project / "out").glob("p=*"))}
    assert got == {"p=1": ["a"], "p=2": ["B"], "p=3": ["C"]}
    flat = {"format": "csv", "path": "log/"}
    for _ in range(2):  # a retry of the same logical date replaces its own part
        engine.write(rel, flat, "append", ctx_of(project))
    other = StepContext(root=project, params={}, macros={"ds": "2024-01-02"},
                        append_key="date_2024-01-02")
    engine.write(rel, flat, "append", other)
    assert sorted(p.name for p in (project / "log").glob("*.csv")) == [
        "part-date_2024-01-01-00000.csv", "part-date_2024-01-02-00000.csv"]


def test_unsafe_part_names_and_hidden_partition_columns_are_refused(engine, project):
    rel = engine.from_arrow(pa.table({"_p": [1], "v": ["a"]}))
    with pytest.raises(UnsafePath):
        engine.write(rel, {"format": "csv", "path": "o/", "options": {"file_name": "../x{i}.csv"}},
                     "overwrite", ctx_of(project))
    with pytest.raises(StepError, match="start with '.' or '_'"):
        engine.write(rel, {"format": "csv", "path": "o/", "partition_by": ["_p"]}, "overwrite",
                     ctx_of(project))
    assert not (project / "o").exists() and not (project / "x00000.csv").exists()


def test_csv_output_text_forms(engine, project):
    rel = engine.from_arrow(pa.table({
        "b": [True, False, None], "s": ["x,y", "", None],
        "d": pa.array([dt.date(2024, 1, 2), None, None], pa.date32()),
        "t": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 6), None, None], pa.timestamp("us")),
        "f": [1.0, 2.5, None]}))
    engine.write(rel, {"format": "csv", "path": "o.csv", "options": {"null_value": "NA"}},
                 "overwrite", ctx_of(project))
    assert (project / "o.csv").read_text() == (
        "b,s,d,t,f\ntrue,\"x,y\",2024-01-02,2024-01-02 03:04:05.000006,1.0\n"
        "false,,NA,NA,2.5\nNA,NA,NA,NA,NA\n")


def test_stage_and_read_staged(engine, project):
    rel = engine.from_arrow(pa.table({"i": list(range(10)), "s": list("abcdefghij")}))
    folder = project / ".etlc" / "staging" / "p" / "run" / "s"
    seen = []
    m = engine.stage(rel, folder, partitions=3, meta={"pipeline": "p", "run_id": "run",
                                                       "step": "s"},
                     before_commit=lambda f, names: seen.append(
                         (names, (f / "_manifest.json").exists())))
    assert m["rows"] == 10 and m["part_rows"] == [4, 3, 3] and len(m["parts"]) == 3
    assert seen == [(m["parts"], False)]  # parts first, then the manifest
    assert m["schema"] == {"i": "int", "s": "string"}
    on_disk = json.loads((folder / "_manifest.json").read_text())
    assert on_disk["parts"] == m["parts"] and on_disk["etlc"] == 1
    back = engine.to_arrow(engine.read_staged(m["manifest"]))
    assert back.column("i").to_pylist() == list(range(10))


def test_small_memory_limit_spills_and_finishes(project):
    """A sort and an aggregate over more data than memory_limit finish by spilling to the
    spill folder (the Parquet writer's row groups are kept small: DuckDB buffers one per
    thread outside what the sort can spill)."""
    spill = project / ".etlc" / "staging" / "_spill"
    e = DuckDBEngine(TaskResources(spill_dir=spill, memory_limit="64MB", threads=1))
    try:
        limit = e.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.startswith(("61.0", "64.0"))
        assert e.con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == \
            str(spill)
        big = project / "big"
        big.mkdir()
        e.con.execute(f"COPY (SELECT i, md5(i::VARCHAR) AS s FROM range(2000000) t(i)) "
                      f"TO '{big}/part-0.parquet' (FORMAT parquet)")
        meta = pq.ParquetFile(big / "part-0.parquet").metadata
        raw = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
        assert raw > 64 * 2**20  # more than memory_limit, before any sorting overhead
        ds = {"format": "parquet", "path": "big"}
        ctx = ctx_of(project)
        rel = e.read(ds, ctx)
        srt = e.transform({"from": ["r"], "sort": ["-s"]}, {"r": rel}, ctx)
        out = e.write(srt, {"format": "parquet", "path": "sorted.parquet",
                            "options": {"row_group_size": 20000}}, "overwrite", ctx)
        assert out["rows"] == 2000000
        agg = e.transform({"from": ["r"], "group_by": ["s"], "aggregate": {"n": "count(*)"}},
                          {"r": rel}, ctx)
        assert e.metrics(agg, {"groups": "count(*)", "total": "sum(n)"}, ctx) == {
            "groups": 2000000, "total": 2000000}
        head = pq.read_table(project / "sorted.parquet", columns=["s"]).slice(0, 3)
        values = head.column("s").to_pylist()
        assert values == sorted(values, reverse=True) and values[0] == "ffff" + values[0][4:]
    finally:
        e.close()


def test_no_pandas_on_the_duckdb_path(project):
    """A read -> transform -> write -> stage chain in a fresh process never imports pandas."""
    (project / "in.csv").write_text(CSV)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from etlc_runtime.engines.base import StepContext, TaskResources
        from etlc_runtime.engines.duckdb_engine import DuckDBEngine
        root = Path({str(project)!r})
        e = DuckDBEngine(TaskResources())
        ctx = StepContext(root=root, params={{}}, macros={{"ds": "2024-01-01"}},
                          append_key="date_2024-01-01", step="s")
        rel = e.read({{"format": "csv", "path": "in.csv", "columns": {COLS!r}}}, ctx)
        rel = e.transform({{"derive": {{"x": "amt * 2"}}, "filter": "id > 1",
                           "group_by": ["ok"], "aggregate": {{"n": "count(*)"}}}}, {{}}, ctx,
                          base=rel)
        e.check(rel, {{"not_null": ["n"]}}, ctx)
        e.metrics(rel, {{"n": "sum(n)"}}, ctx)
        e.write(rel, {{"format": "parquet", "path": "out/", "partition_by": ["ok"]}},
                "overwrite", ctx)
        e.write(rel, {{"format": "csv", "path": "out.csv"}}, "overwrite", ctx)
        e.stage(rel, root / ".etlc/staging/p/r/s", partitions=2, meta={{}})
        e.close()
        print("pandas" in sys.modules)
    """)
    env = {**os.environ, "ETLC_PROJECT_ROOT": str(project)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=project, check=True)
    assert out.stdout.strip() == "False"
    assert (project / "out" / "ok=true").is_dir()


@pytest.mark.postgres
def test_postgres_sink_and_source_through_arrow(engine, project, monkeypatch):
    """PostgreSQL goes through io_postgres (pandas) and Arrow for now: upsert twice, read back."""
    import psycopg
    uri = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        psycopg.connect(uri, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Postgres at {uri}: {exc}")
    monkeypatch.setenv("AIRFLOW_CONN_PG_TEST", uri)
    schema = f"etlc_d_{os.getpid()}"
    ctx = StepContext(root=project, params={}, macros={"ds": "2024-01-01"},
                      connections={"dwh": "pg_test"}, append_key="date_2024-01-01")
    ds = {"format": "postgres", "connection": "dwh", "table": f"{schema}.t", "key": ["id"],
          "columns": {"amt": {"type": "decimal", "scale": 2}}}
    try:
        rel = engine.read(csv_ds(project), ctx)
        rel = engine.transform({"select": ["id", "name", "amt", "day"]}, {}, ctx, base=rel)
        for _ in range(2):  # a retry upserts the same keys
            assert engine.write(rel, ds, "upsert", ctx)["rows"] == 3
        source = {k: v for k, v in ds.items() if k != "columns"}  # every column of the table
        back = engine.read(source, ctx, columns=["id", "amt"])
        got = sorted(engine.to_arrow(back).to_pylist(), key=lambda r: r["id"])
        assert [(r["id"], None if r["amt"] is None else float(r["amt"])) for r in got] == [
            (1, 1.5), (2, None), (3, 2.25)]
    finally:
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')



def test_every_method_leaves_the_connection_free(engine, project):
    """DuckDB refuses a relation's to_arrow while an execute() result is unfinished: each
    method fetches to the end, so a call step's to_arrow may follow any of them."""
    rel = engine.read(csv_ds(project), ctx_of(project))
    ctx = ctx_of(project)
    calls = [
        lambda: engine.write(rel, {"format": "parquet", "path": "o.parquet"}, "overwrite", ctx),
        lambda: engine.check(rel, {"not_null": ["id"], "unique": ["id"], "expect": ["id > 0"],
                                   "row_count": {"min": 1}}, ctx),
        lambda: engine.metrics(rel, {"n": "count(*)"}, ctx),
        lambda: engine.stage(rel, project / ".etlc" / "st", partitions=2, meta={}),
        lambda: engine.write(rel, {"format": "csv", "path": "o/", "partition_by": ["ok"]},
                             "overwrite", ctx),
    ]
    for call in calls:
        call()
        assert engine.to_arrow(rel).num_rows == 3
