"""NaN has one meaning on every engine (docs/expressions.md, "NaN"): a value apart from null,
equal to itself and above every number, kept by arithmetic. Filters, sort, group_by, distinct,
min/max, std/var, arithmetic (+ - * / %, unary minus, abs, round, floor, ceil), sqrt, exp,
ln, log10, greatest, least and window sums over float columns holding NaN, nulls, +-inf and
-0.0, read from Parquet files written by pyarrow (whose row-group min/max statistics leave NaN
out) in several row-group layouts, give exactly the same rows on pandas, dask and duckdb
(tests/exact_rows.py)."""
from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.expr.errors import EvalError
from exact_rows import assert_same, rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAN, INF = math.nan, math.inf
COLS = {"id": {"type": "int"}, "f": {"type": "float"}, "g": {"type": "float"}}
ENGINES = ("pandas", "dask", "duckdb")


def _run(engine_name: str, root: Path, step: dict, then=None):
    """``step`` over in.parquet as Arrow; with ``then``, ``then(engine, rel, ctx)``."""
    ctx = StepContext(root=root, params={"nan": NAN, "big": 1.5}, macros={},
                      append_key="date_2024-01-01", step="s", types=COLS)
    engine = get_engine(engine_name, TaskResources(spill_dir=root / ".etlc" / "spill"))
    try:
        rel = engine.read({"format": "parquet", "path": "in.parquet", "columns": COLS}, ctx)
        if then is not None:
            return then(engine, rel, ctx)
        out = engine.transform(step, {"t": rel}, ctx, base=rel)
        return engine.to_arrow(out)
    finally:
        engine.close()


def _write(root: Path, f: list, g: list, row_group_size: int) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    pq.write_table(pa.table({"id": pa.array(range(len(f)), pa.int64()),
                             "f": pa.array(f, pa.float64(), from_pandas=False),
                             "g": pa.array(g, pa.float64(), from_pandas=False)}),
                   root / "in.parquet", row_group_size=row_group_size)


def test_duckdb_keeps_nan_rows_of_pruned_row_groups(tmp_path):
    """The regression: DuckDB 2.0.1 pruned the second row group ([NaN, 0.5], statistics
    min = max = 0.5) under `f > 1.5`, though NaN > 1.5 holds."""
    _write(tmp_path, [1.0, 2.0, NAN, 0.5], [0.0] * 4, 2)
    for name in ENGINES:
        got = rows(_run(name, tmp_path, {"filter": "f > 1.5", "select": ["id", "f"]}))
        assert [r[0] for r in got] == [1, 2], name
        assert math.isnan(got[1][1]), name


VALUES = [NAN, None, INF, -INF, -0.0, 0.0, 0.5, 1.5, -2.0, 3.0]
FILTERS = ["f > 1.5", "f >= 1.5", "f < 1.5", "f <= 0.0", "f = f", "f <> 1.5", "f = g",
           "f > g", "f <> g", "not (f > 1.5)", "f in (1.5, 3.0)", "f not in (0.5, -2.0)",
           "f between 0.0 and 3.0", "f > $big", "f = $nan", "f < $nan", "f >= $nan",
           "f > 0.5 and g < 1.5", "f > 0.5 or g > 1.5", "id >= 2 and f > 1.5"]
# pandas and DuckDB both show a zero of their choosing for a group, min or max that holds
# both -0.0 and 0.0 (docs/expressions.md): those steps draw only one of the two zeros
STEPS = [{"sort": ["f", "id"]}, {"sort": ["g", "f", "id"]},
         {"group_by": ["f"], "aggregate": {"n": "count(*)", "mx": "max(g)", "mn": "min(g)",
                                           "s": "sum(g)", "m": "mean(g)"}},
         {"distinct": True, "select": ["f"]},
         {"aggregate": {"mx": "max(f)", "mn": "min(f)", "n": "count(f)", "m": "mean(f)"}},
         {"join": {"with": "t", "on": ["f"]}, "select": ["id", "f", "id__right"]},
         {"group_by": ["g"], "aggregate": {"v": "var(f)", "sd": "std(f)"}}]
# arithmetic on float columns: NaN stays NaN, a null stays null, x / 0 and x % 0 are null;
# greatest and least order NaN above every number; window sums are NaN over a NaN (the values
# drawn are dyadic, so sums in any order are exact)
ARITH = ["f * 1.0", "f + 1", "-f", "f / 2", "f - g", "f * g", "f / g", "f % g", "abs(f)",
         "round(f)", "round(f, 1)", "floor(f)", "ceil(f)", "f * $nan", "-$nan + f",
         "1 / g", "f / 0", "sqrt(f)", "exp(f)", "ln(f)", "log10(f)", "greatest(f, g)",
         "least(f, g)", "sum(f) over (order by id)", "mean(g) over ()",
         "max(f) over (order by id)", "min(g) over ()", "sign(f)"]
STEPS.append({"derive": {f"c{i}": e for i, e in enumerate(ARITH)},
              "select": ["id"] + [f"c{i}" for i in range(len(ARITH))], "sort": ["id"]})
# pandas and DuckDB sum in other orders (tests/expr/test_differential.py)
ULPS = {"m": 1, "v": 2, "sd": 2}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_engines_agree_on_nan(tmp_path_factory, data):
    n = data.draw(st.integers(1, 9), "rows")
    one_zero = data.draw(st.sampled_from([-0.0, 0.0]), "zero")
    kind = data.draw(st.sampled_from(["filter", "step"]), "kind")
    pool = VALUES if kind == "filter" else [v for v in VALUES if v != 0.0] + [one_zero]
    f = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n), "f")
    g = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n), "g")
    step = ({"filter": data.draw(st.sampled_from(FILTERS), "filter"), "sort": ["id"]}
            if kind == "filter" else data.draw(st.sampled_from(STEPS), "step"))
    root = tmp_path_factory.mktemp("nan")
    _write(root, f, g, data.draw(st.sampled_from([1, 2, 3, 1000]), "row_group_size"))
    ordered = "sort" in step
    ref = _one_nan(_run("duckdb", root, step))
    ulps = {c: u for c, u in ULPS.items() if c in ref.column_names}
    for name in ("pandas", "dask"):
        assert_same(_one_nan(_run(name, root, step)), ref, ordered=ordered, ulps_of=ulps)


def _one_nan(table: pa.Table) -> pa.Table:
    """Every NaN as Python's: a computed NaN's sign bit is the CPU's and the algorithm's
    (inf - inf is -nan on x86), no part of its meaning; a NaN read is compared as read by the
    tests above, where no NaN is computed."""
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            col = table.column(i)
            fixed = pc.if_else(pc.is_nan(col), pa.scalar(NAN, field.type), col)
            table = table.set_column(i, field, fixed)
    return table


@pytest.mark.parametrize("text, expected", [
    ("f > 1.5", [1, 2, 3]), ("f = f", [0, 1, 2, 3]), ("f <> 2.0", [0, 2, 3]),
    ("not (f < 1.0)", [0, 1, 2, 3]), ("f >= $nan", [2]), ("f < $nan", [0, 1, 3]),
    ("f > 1e308", [2, 3]), ("f in (1.0, $nan)", [0, 2]),
])
def test_the_meaning_on_every_engine(tmp_path, text, expected):
    """The documented meaning itself, as literal rows: NaN equals NaN, is above 2.0 and inf."""
    _write(tmp_path, [1.0, 2.0, NAN, INF], [0.0] * 4, 1)
    for name in ENGINES:
        got = [r[0] for r in rows(_run(name, tmp_path, {"filter": text, "select": ["id"]}))]
        assert got == expected, (name, text)


def test_spread_of_a_nan_group(tmp_path):
    """std and var of a group holding NaN are NaN from two values on, null below."""
    _write(tmp_path, [1.0, NAN, 2.0, NAN], [1.0, 1.0, 1.0, 2.0], 2)
    step = {"group_by": ["g"], "aggregate": {"v": "var(f)", "sd": "std(f)"}, "sort": ["g"]}
    for name in ENGINES:
        got = rows(_run(name, tmp_path, step), ordered=True)
        assert [r[0] for r in got] == [1.0, 2.0], name
        assert math.isnan(got[0][1]) and math.isnan(got[0][2]), (name, got)
        assert got[1][1:] == (None, None), (name, got)
    step = {"aggregate": {"v": "var(f)", "sd": "std(f)"}}
    for name in ENGINES:
        assert all(math.isnan(v) for v in rows(_run(name, tmp_path, step))[0]), name


def test_arithmetic_keeps_nan(tmp_path):
    """The regression: pandas' masked Float64 arithmetic made a NaN result null (`f * 1.0`,
    `f + 1`, `f / 2`, `round(f)` of a NaN row) where DuckDB gives NaN."""
    _write(tmp_path, [NAN, None, INF, -INF, 2.0, -0.0, 1.5], [1.0, 2.0, INF, 0.0, NAN, None, 0.0], 3)
    step = {"derive": {f"c{i}": e for i, e in enumerate(ARITH)},
            "select": ["id"] + [f"c{i}" for i in range(len(ARITH))], "sort": ["id"]}
    ref = _one_nan(_run("duckdb", tmp_path, step))
    got = rows(ref, ordered=True)
    assert math.isnan(got[0][1]) and got[1][1] is None, got   # f * 1.0: NaN, null
    assert got[0][4] is not None and math.isnan(got[0][4]), got   # f / 2
    for name in ("pandas", "dask"):
        assert_same(_one_nan(_run(name, tmp_path, step)), ref, ordered=True)


def test_spread_of_an_inf_group(tmp_path):
    """std and var over +-inf are NaN from two values on (inf - inf), null below; sum and
    mean over +inf and -inf NaN."""
    _write(tmp_path, [INF, INF, 1.0, -INF, INF], [1.0, 1.0, 2.0, 2.0, 3.0], 1)
    step = {"group_by": ["g"], "aggregate": {"v": "var(f)", "sd": "std(f)"}, "sort": ["g"]}
    for name in ENGINES:
        got = rows(_run(name, tmp_path, step), ordered=True)
        assert [r[0] for r in got] == [1.0, 2.0, 3.0], name
        assert all(math.isnan(v) for r in got[:2] for v in r[1:]), (name, got)
        assert got[2][1:] == (None, None), (name, got)
    step = {"aggregate": {"v": "var(f)", "sd": "std(f)", "s": "sum(f)", "m": "mean(f)"}}
    for name in ENGINES:   # inf + -inf: NaN
        assert all(math.isnan(v) for v in rows(_run(name, tmp_path, step))[0]), name


WINDOWS = ["max(f) over ()", "min(f) over ()", "max(f) over (partition by g)",
           "min(f) over (partition by g)", "max(f) over (order by id)",
           "min(f) over (order by id)", "max(f) over (partition by g order by id desc)",
           "min(f) over (partition by g order by f)", "max(f) over (order by g)"]


def test_window_min_max_of_nan(tmp_path):
    """The regression: pandas' grouped and running max read NaN as missing (`max(f) over ()`
    over inf and NaN was inf where DuckDB gives NaN); min is NaN only over NaN alone."""
    _write(tmp_path, [1.0, INF, NAN, None, -INF, NAN, NAN, 2.0],
           [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0], 3)
    step = {"derive": {f"w{i}": e for i, e in enumerate(WINDOWS)},
            "select": ["id"] + [f"w{i}" for i in range(len(WINDOWS))], "sort": ["id"]}
    ref = _one_nan(_run("duckdb", tmp_path, step))
    got = rows(ref, ordered=True)
    assert math.isnan(got[0][1]) and got[0][2] == -INF, got          # over (): NaN, -inf
    assert got[0][3] == INF and math.isnan(got[2][3]), got            # by g: inf; NaN
    assert math.isnan(got[5][4]) and got[0][5] == 1.0, got            # g = 3: NaN alone
    assert [r[5] for r in got[:3]] == [1.0, INF] + [got[2][5]] and math.isnan(got[2][5])
    for name in ("pandas", "dask"):
        assert_same(_one_nan(_run(name, tmp_path, step)), ref, ordered=True)


@pytest.mark.parametrize("row_group_size", [1, 2, 1000])
def test_spread_whose_squares_overflow(tmp_path, row_group_size):
    """The regression: var and std of finite values whose squared deviations overflow a double
    (the variance itself is beyond 1.8e308, Fraction arithmetic below) are inf as on DuckDB;
    dask's combination of partitions squared the partial sums (inf - inf) and gave null. The
    values stay far enough below the largest double that their sums and differences do not
    overflow (there DuckDB's own result depends on the row-group layout)."""
    from fractions import Fraction
    from statistics import variance

    f = [1e200, -1e200, 3e200, 1.0, 1e160, 2e160, 3e160, 4e160, 1.5, 2.5]
    g = [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 4.0, 4.0]
    for group in ([1e200, -1e200, 3e200], f[4:8], f):   # the oracle: beyond any double
        assert variance([Fraction(x) for x in group]) > Fraction(1.7976931348623157e308)
    _write(tmp_path, f, g, row_group_size)
    steps = [{"group_by": ["g"], "aggregate": {"v": "var(f)", "sd": "std(f)"}, "sort": ["g"]},
             {"aggregate": {"v": "var(f)", "sd": "std(f)"}}]
    for step in steps:
        ref = _run("duckdb", tmp_path, step)
        got = rows(ref, ordered=True)
        assert all(r[-2:] == (INF, INF) for r in got if r[0] in (1.0, 3.0) or len(r) == 2), got
        for name in ("pandas", "dask"):
            assert_same(_run(name, tmp_path, step), ref, ordered=True, ulps_of={"v": 2, "sd": 2})


def test_csv_text_of_a_computed_nan(tmp_path):
    """docs/types.md: a float's CSV text is `nan` for every NaN. The regression: DuckDB's COPY
    wrote a NaN whose sign bit is set ('inf - inf' on x86, '-f' of a NaN) as '-nan'."""
    _write(tmp_path, [INF, NAN, -0.0, None], [INF, 1.0, 1.0, 1.0], 2)
    step = {"derive": {"a": "f - g", "b": "-f", "c": "f * 1.0"}, "select": ["id", "a", "b", "c"],
            "sort": ["id"]}
    texts = {}
    for name in ENGINES:
        _run(name, tmp_path, step, lambda e, rel, ctx, name=name: e.write(
            e.transform(step, {"t": rel}, ctx, base=rel),
            {"format": "csv", "path": f"{name}.csv"}, "overwrite", ctx))
        texts[name] = (tmp_path / f"{name}.csv").read_text().splitlines()
    want = ["id,a,b,c", "0,nan,-inf,inf", "1,nan,nan,nan", "2,-1.0,0.0,-0.0", "3,,,"]
    for name in ENGINES:
        assert texts[name] == want, (name, texts[name])


@pytest.mark.parametrize("text, f", [
    ("cast(f as int)", [1.5, NAN, INF]), ("cast(f as int)", [1.5, -INF, NAN]),
    ("cast(f as int) + 1", [2.0, 1e19, 3.0]),
    ("cast(f as decimal(4, 1))", [1.5, NAN, 2.0]), ("cast(f as decimal(4, 1))", [1.5, INF]),
    ("cast(f as decimal(4, 1))", [1.5, 12345.0, 3.0]),
    ("cast(f as decimal(18, 2)) * 2", [1.5, 1e17]),
])
def test_a_float_no_int_or_decimal_holds_is_an_error(tmp_path, text, f):
    """The regression: pandas cast NaN to an int as -2**63 and to a decimal as null, and
    kept a decimal beyond the precision the cast names; DuckDB refuses each. R041 at the
    first such row (1) on every engine."""
    _write(tmp_path, f, [0.0] * len(f), 1)
    step = {"derive": {"c": text}, "select": ["id", "c"], "sort": ["id"]}
    for name in ENGINES:
        err = _run(name, tmp_path, step, lambda e, rel, ctx: _failure(e, rel, ctx, step))
        assert isinstance(err, EvalError) and err.row == 1, (name, err)
        assert float(err.value) == f[1] or math.isnan(f[1]), (name, err.value)


def _failure(engine, rel, ctx, step: dict) -> BaseException | None:
    """The error of ``step``, a DuckDB one as the executor explains it (R041 at its row)."""
    try:
        engine.to_arrow(engine.transform(step, {"t": rel}, ctx, base=rel))
    except Exception as exc:
        return exc if isinstance(exc, EvalError) else \
            engine.explain_error(exc, {"from": "t", **step}, {"t": rel}, {})
    return None
