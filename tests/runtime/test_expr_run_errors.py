"""R041: an expression that fails at run time (a string that does not parse as a number or a
date) names the failing sub-expression's place in the YAML file (line and column, as
compile-time diagnostics), the row and the value, on the pandas and duckdb engines."""

from __future__ import annotations

import textwrap

import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.errors import StepError
from etlc_runtime.expr.errors import EvalError
from etlc_runtime.local import run_pipeline

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: failing
    defaults: {engine: ENGINE}
    datasets:
      src: {format: csv, path: in.csv, columns: {id: {type: int}, n: {type: string}, d: {type: string}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw:
        read: src
      parsed:
        from: raw
        filter: "id >= 0"
        derive:
          ok: "id + 1"
          v: "coalesce(cast(n as int), 0) + 1"
          day: 'to_date(d, ''%Y-%m-%d'')'
      save: {from: parsed, write: out, mode: overwrite}
    """)
ROWS = "id,n,d\n0,1,2025-01-01\n1,2,2025-01-02\n2,x7,2025-01-03\n3,4,2025-13-45\n"


def _run(tmp_path, engine: str, rows: str, v: str = "coalesce(cast(n as int), 0) + 1"):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text(rows)
    text = SPEC.replace("ENGINE", engine).replace("coalesce(cast(n as int), 0) + 1", v)
    (tmp_path / "s.yaml").write_text(text)
    checked = check_text(text, str(tmp_path / "s.yaml"))
    assert checked.ok, checked.diagnostics
    payload = plan_checked(checked, tmp_path).pipeline_payload()
    summary = run_pipeline(payload, project_root=str(tmp_path))
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, StepError), summary
    assert isinstance(err.cause, EvalError), err
    return err, err.cause


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_cast_that_fails_names_its_place_row_and_value(tmp_path, engine):
    err, cause = _run(tmp_path, engine, ROWS)
    # line 15 is `      v: "coalesce(cast(n as int), 0) + 1"`: `cast(` starts at column 20
    assert (cause.code, cause.line, cause.column, cause.end_column) == ("R041", 15, 20, 34)
    assert (cause.row, cause.value) == (2, "x7")
    assert err.line == 15


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_date_that_does_not_parse_in_a_single_quoted_string(tmp_path, engine):
    err, cause = _run(tmp_path, engine, ROWS.replace("x7", "3"))
    # line 16 is `      day: 'to_date(d, ''%Y-%m-%d'')'`: the whole call, quotes doubled
    assert (cause.code, cause.line, cause.column, cause.end_column) == ("R041", 16, 13, 37)
    assert (cause.row, cause.value) == (3, "2025-13-45")
    assert err.line == 16


# the same failure found by both engines: the span of the failing sub-expression, row, value
FAILING = [
    {"derive": {"v": "cast(n as int)"}},
    {"derive": {"a": "upper(n)", "v": "cast(a as float) * 2"}},
    {"filter": "id > 0 and cast(b as bool)"},
    {"filter": "id >= 1", "derive": {"t": "strptime(d, '%Y-%m-%d')"}},
    {"derive": {"t": "to_timestamp(d)"}},
    {"derive": {"p": "id + length(lpad(n, 4, ''))"}},
    {"group_by": ["b"], "aggregate": {"c": "count(*)", "s": "sum(cast(n as int)) + 1"}},
    {"derive": {"r": "row_number() over (order by id)"},
     "qualify": "r > 1 and to_date(d, '%Y-%m-%d') > date '2000-01-01'"},
    {"derive": {"v": "json_extract_string(n, '$.k')"}},
    {"derive": {"v": "json_type(cast(n as json))"}},
    {"derive": {"v": "cast(lower('ABC') as int) + id"}},
    # a JSON value that is no int, float or bool (DuckDB named no row before)
    {"derive": {"v": "cast(cast(j as json) as int)"}},
    {"derive": {"v": "cast(cast(j as json) as float) * 2"}},
    {"filter": "id >= 0 and cast(cast(j as json) as bool)"},
    # digit separators DuckDB's CAST reads (its TRY_CAST found no failing row before)
    {"derive": {"v": "cast(k as float)"}},
    {"derive": {"v": "cast(k as decimal(8, 1)) + 1"}},
    {"derive": {"v": "cast(k as int)"}},
]
TABLE = {"id": [0, 1, 2, 3], "n": ["1", " 2 ", "x7", None], "b": ["true", "no", "maybe", "1"],
         "d": ["2025-01-01", None, "2025-01-03", "2025-13-45"],
         "j": ["1", "null", '"x"', "[1]"], "k": [" 1.5 ", None, "1_000", "x"]}


@pytest.mark.parametrize("step", FAILING)
def test_both_engines_find_the_same_place_row_and_value(step):
    import duckdb
    import pandas as pd
    from etlc_runtime import steps as S
    from etlc_runtime.engines.duckdb.expr_errors import explain, step_stages
    from etlc_runtime.engines.duckdb.sql_build import Builder

    df = pd.DataFrame({k: pd.Series(v, dtype="Int64" if k == "id" else "string")
                       for k, v in TABLE.items()})
    with pytest.raises(EvalError) as info:
        S.apply_transform({"from": "t", **step}, {"t": df}, {})
    ours = info.value
    con = duckdb.connect()
    con.register("src", df)
    b = Builder(con)
    rel = b.source("src")
    with pytest.raises(duckdb.Error) as failed:
        con.execute(b.apply({"from": "t", **step}, {"t": rel}, {}).query()).fetchall()
    found = explain(b, failed.value, step_stages(b, {"from": "t", **step}, {"t": rel}, {}), {})
    assert explain(b, RuntimeError("no conversion"),
                   step_stages(b, {"from": "t", **step}, {"t": rel}, {}), {}) is None
    assert found is not None
    got = (found.source, found.start, found.end, found.row, found.value)
    assert got == (ours.source, ours.start, ours.end, ours.row, ours.value)


def test_on_dask_the_place_is_found_from_the_evaluated_tree(tmp_path):
    """The dask engine evaluates parsed trees per partition: the expression is found again
    by its canonical form; the row is its position inside its Dask partition."""
    err, cause = _run(tmp_path, "dask", ROWS)
    assert (cause.code, cause.line, cause.column, cause.end_column) == ("R041", 15, 20, 34)
    assert cause.value == "x7" and cause.row is not None
    assert err.line == 15


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("v, row, value", [
    ("json_extract_string(n, '$.k')", 2, "x7"),  # text that is not JSON: its first row
    ("cast(lower('ABC') as int) + id", None, "abc"),  # a constant's failure is no row's
])
def test_every_engine_names_the_same_row_and_value(tmp_path, engine, v, row, value):
    _, cause = _run(tmp_path, engine, ROWS, v)
    assert (cause.code, cause.line, cause.row, cause.value) == ("R041", 15, row, value)


# a constant is evaluated for each row of the relation its expression runs over, as a column
# is (docs/expressions.md, "Error codes"): over no rows nothing fails, on every engine (a
# literal that never casts, cast('abc' as int), is E422 at compile time: lower() hides it)
ZERO_ROWS = [
    ({"filter": "id > 9", "derive": {"c": "cast(lower('ABC') as int) + id"}, "select": ["id", "c"]},
     []),
    ({"filter": "id > 9", "derive": {"c": "to_date(trim('2025-13-45'))"}, "select": ["id", "c"]}, []),
    ({"filter": "id > 9", "group_by": ["n"], "aggregate": {"c": "count(*) + cast(lower('X') as int)"}},
     []),
    ({"filter": "id > 9", "aggregate": {"c": "sum(cast(lower('ABC') as int))"}}, [{"c": None}]),
    # no group_by: one row over no rows, and the constant is evaluated for it
    ({"filter": "id > 9", "aggregate": {"c": "count(*) + cast(lower('ABC') as int)"}}, EvalError),
    ({"derive": {"c": "cast(lower('ABC') as int) + id"}}, EvalError),
]


# a branch of case, if or coalesce is evaluated for the rows that take it (the guard idiom
# `case when <text is a number> then cast(...)`); pandas evaluated every branch on every row
_X = "'x'"
BRANCHES = [
    ({"derive": {"c": "case when id > 0 then cast(n as int) else 0 end"}, "select": ["id", "c"]},
     [{"id": 0, "c": 0}, {"id": 1, "c": 5}]),
    ({"derive": {"c": "if(id > 0, cast(n as int), -1)"}, "select": ["id", "c"]},
     [{"id": 0, "c": -1}, {"id": 1, "c": 5}]),
    ({"derive": {"c": f"coalesce(case when n = {_X} then 1 end, cast(n as int))"},
      "select": ["id", "c"]}, [{"id": 0, "c": 1}, {"id": 1, "c": 5}]),
    ({"derive": {"c": f"case when n = {_X} then 0 when n = '5' then cast(n as int) end + 1"},
      "select": ["id", "c"]}, [{"id": 0, "c": 1}, {"id": 1, "c": 6}]),
    ({"derive": {"c": "case when regexp_matches(n, '^[0-9]+$') then cast(n as int) end"},
      "select": ["id", "c"]}, [{"id": 0, "c": None}, {"id": 1, "c": 5}]),   # docs' example
    ({"derive": {"c": "case when id > 5 then cast(n as int) end"}, "select": ["id", "c"]},
     [{"id": 0, "c": None}, {"id": 1, "c": None}]),
    ({"derive": {"c": "case when id >= 0 then cast(n as int) end"}}, (EvalError, 0, "x")),
    # the row is one that takes the branch (duckdb's replay probed every row before)
    ({"derive": {"c": "case when id > 0 then cast(n || 'z' as int) end"}}, (EvalError, 1, "5z")),
    ({"derive": {"c": "if(id = 0, 0, cast(n || 'z' as int))"}}, (EvalError, 1, "5z")),
    ({"derive": {"c": f"coalesce(if(n = {_X}, 1, null), cast(n || 'z' as int))"}},
     (EvalError, 1, "5z")),
]


# int arithmetic beyond 64 bits is an error at its row, never a wrapped value (pandas and numpy
# wrapped: 1 + 9223372036854775807 was -9223372036854775808); the value is the left operand
_MAX = "9223372036854775807"
OVERFLOWS = [
    ({"derive": {"c": f"id + {_MAX}"}}, (EvalError, 1, 1)),
    ({"derive": {"c": f"(id + 1) * {_MAX}"}}, (EvalError, 1, 2)),
    ({"derive": {"c": f"(0 - id) - {_MAX} - 1"}}, (EvalError, 1, -int(_MAX) - 1)),
    ({"derive": {"c": f"-((0 - id) - {_MAX})"}}, (EvalError, 1, -int(_MAX) - 1)),
    ({"derive": {"c": f"abs((0 - id) - {_MAX}) + 0"}}, (EvalError, 1, -int(_MAX) - 1)),
    ({"derive": {"c": "(id + 1) * 4611686018427387904"}}, (EvalError, 1, 2)),
    ({"derive": {"c": f"id - 1 + {_MAX}"}, "select": ["id", "c"]},
     [{"id": 0, "c": int(_MAX) - 1}, {"id": 1, "c": int(_MAX)}]),
]


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("step, want", OVERFLOWS, ids=[str(k) for k in range(len(OVERFLOWS))])
def test_int_overflow_is_an_error_at_its_row(tmp_path, engine, step, want):
    _expect(tmp_path, engine, step, want)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("step, want", BRANCHES, ids=[str(k) for k in range(len(BRANCHES))])
def test_a_branch_fails_only_where_a_row_takes_it(tmp_path, engine, step, want):
    _expect(tmp_path, engine, step, want)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("step, want", ZERO_ROWS, ids=[str(k) for k in range(len(ZERO_ROWS))])
def test_a_failing_constant_fails_only_where_a_row_evaluates_it(tmp_path, engine, step, want):
    _expect(tmp_path, engine, step, (EvalError, None, "abc") if want is EvalError else want)


def _expect(tmp_path, engine, step, want):
    """``step`` over the rows (0, 'x') and (1, '5') gives the rows ``want``, or fails with
    R041 at the row and value of ``want = (EvalError, row, value)``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from etlc_runtime.engines import get_engine
    from etlc_runtime.engines.base import StepContext, TaskResources

    step = {"from": "t", **step}
    cols = {"id": {"type": "int"}, "n": {"type": "string"}}
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    pq.write_table(pa.table({"id": pa.array([0, 1], pa.int64()), "n": ["x", "5"]}),
                   tmp_path / "in.parquet")
    ctx = StepContext(root=tmp_path, params={}, macros={}, append_key="date_2024-01-01",
                      step="s", types=cols)
    eng = get_engine(engine, TaskResources(spill_dir=tmp_path / ".etlc" / "spill"))
    try:
        rel = eng.read({"format": "parquet", "path": "in.parquet", "columns": cols}, ctx)
        if not isinstance(want, tuple):
            assert eng.to_arrow(eng.transform(step, {"t": rel}, ctx, base=rel)).to_pylist() \
                == want
            return
        with pytest.raises(Exception) as info:
            eng.to_arrow(eng.transform(step, {"t": rel}, ctx, base=rel))
        err = info.value
        if engine == "duckdb":   # as the executor explains DuckDB's error
            err = eng.explain_error(err, step, {"t": rel}, {})
        assert isinstance(err, EvalError) and err.row == want[1], err
        if want[2] is not None:   # a number as the engine names it (DuckDB: its text)
            assert str(err.value) == str(want[2]), err
    finally:
        eng.close()
