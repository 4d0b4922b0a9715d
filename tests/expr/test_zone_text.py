"""Time text with a UTC offset beside a zone-less timestamp or date (E419, R041: zone_text.py).

DuckDB drops such an offset and the pandas evaluator converts to UTC, so the compiler refuses a
constant with one (E419, positioned at the string) and the runtime a `$param` value with one
(R041, at the `$name`). Whatever gets through, the two engines compute alike: a hypothesis
property over wall times, offsets (none, zero, nonzero, in every form Python and DuckDB read)
and the places text meets a timestamp, each run by the pandas evaluator and by DuckDB through
the SQL renderer, compared exactly (tests/exact_rows.py)."""
from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from etlc_compiler.api import check_text
from etlc_runtime.expr import Type, check, parse
from etlc_runtime.expr.pandas_eval import evaluate
from etlc_runtime.expr.sql import to_sql
from etlc_runtime.expr.zone_text import CODE, offset, param_error
from exact_rows import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st

TYPES = {"id": Type("int"), "ts": Type("timestamp"), "z": Type("timestamptz"),
         "d": Type("date"), "s": Type("string")}
PARAMS = {"p": Type("string")}

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: zones
    datasets:
      src: {format: csv, path: in.csv, columns: {ts: {type: timestamp}, z: {type: timestamptz}}}
      out: {format: parquet, path: out.parquet}
    params:
      p: {type: string, default: "2020-01-02 00:00:00"}
    steps:
      raw:
        read: src
      kept:
        from: raw
        filter: EXPR
      save: {from: kept, write: out, mode: overwrite}
    """)

# (filter, the text E419 points at); line 13 is `    filter: EXPR`, EXPR from column 13
REFUSED = [
    ("ts in ('2020-01-02 05:04:05+02')", "'2020-01-02 05:04:05+02'"),
    ("ts > '2020-01-02 05:04:05+02:00'", "'2020-01-02 05:04:05+02:00'"),
    ("'2020-01-02T05:04:05-0330' <= ts", "'2020-01-02T05:04:05-0330'"),
    ("ts between '2020-01-01' and '2020-01-02 05:04:05+02'", "'2020-01-02 05:04:05+02'"),
    ("'2020-01-02 05:04:05+02' between ts and ts", "'2020-01-02 05:04:05+02'"),
    ("ts not in (ts, '2020-01-02 05:04:05.5+14')", "'2020-01-02 05:04:05.5+14'"),
    ("case ts when '2020-01-02 05:04:05+01' then true else false end",
     "'2020-01-02 05:04:05+01'"),
    ("cast('2020-01-02 05:04:05+02' as timestamp) < ts", "'2020-01-02 05:04:05+02'"),
    ("cast('2020-01-02 01:04:05+02' as date) = date '2020-01-02'", "'2020-01-02 01:04:05+02'"),
    ("to_timestamp('2020-01-02 05:04+02') < ts", "'2020-01-02 05:04+02'"),
    ("to_date('2020-01-02 01:04:05-01') < date '2020-01-02'", "'2020-01-02 01:04:05-01'"),
    ("date_trunc('day', ts) = '2020-01-02 00:00:00+02'", "'2020-01-02 00:00:00+02'"),
]
ALLOWED = [
    "ts in ('2020-01-02 05:04:05')", "ts > '2020-01-02 05:04:05Z'",
    "ts > '2020-01-02 05:04:05+00:00'", "ts > '2020-01-02 05:04:05-00'",
    "z > '2020-01-02 05:04:05+02'", "z in ('2020-01-02 05:04:05-03:30')",
    "cast('2020-01-02 05:04:05+02' as timestamptz) < z",
    "to_timestamp('2020-01-02 05:04:05+02', '%Y-%m-%d %H:%M:%S%z') < ts",
    "cast($p as timestamp) < ts",  # a param's value is judged at run time
]


def _diagnostics(expr: str, tmp_path):
    text = SPEC.replace("EXPR", '"' + expr + '"')
    return check_text(text, str(tmp_path / "s.yaml")).diagnostics


@pytest.mark.parametrize(("expr", "at"), REFUSED, ids=[e for e, _ in REFUSED])
def test_a_constant_with_an_offset_is_e419_at_the_string(expr, at, tmp_path):
    diags = _diagnostics(expr, tmp_path)
    col = 14 + expr.index(at)  # 13 for the quote the YAML string opens with
    assert [(d.code, d.severity, d.line, d.col, d.end_line, d.end_col) for d in diags] \
        == [(CODE, "error", 13, col, 13, col + len(at))]
    assert "timestamptz" in diags[0].help


@pytest.mark.parametrize("expr", ALLOWED)
def test_no_offset_a_zero_offset_or_a_zoned_side_compiles(expr, tmp_path):
    assert list(_diagnostics(expr, tmp_path)) == []


@pytest.mark.parametrize("text", ["coalesce(ts, '2020-01-02 05:04:05+02')",
                                  "case when id > 0 then ts else '2020-01-02 05:04:05+02' end",
                                  "if(id > 0, ts, '2020-01-02 05:04:05+02')"])
def test_text_never_mixes_with_a_timestamp_as_a_value(text):
    """coalesce, if and case results take no string beside a timestamp, offset or not (E405
    at the string), so no text reaches a timestamp there."""
    for t in (text, text.replace("+02", "")):
        errors = check(parse(t), TYPES, {}, "row")[1]
        start = t.index("'")
        assert [(e.code, e.start, e.end) for e in errors] == [("E405", start, t.index("'", start + 1) + 1)]


def test_a_timestamp_literal_with_a_zone_stays_a_syntax_error():
    with pytest.raises(Exception) as info:
        parse("ts > timestamp '2020-01-02 05:04:05+02'")
    assert (info.value.code, info.value.start) == ("E401", 15)


def test_undeclared_columns_meet_the_rule_when_the_step_runs():
    """A source without declared columns is typed at run time: the same E419 then."""
    assert check(parse("ts > '2020-01-02 05:04:05+02'"), None, {}, "filter")[1] == []
    errors = check(parse("ts > '2020-01-02 05:04:05+02'"), TYPES, {}, "filter")[1]
    assert [(e.code, e.start, e.end) for e in errors] == [(CODE, 5, 29)]


def test_a_param_value_with_an_offset_is_r041_at_the_param():
    text = "cast($p as timestamp) < ts or to_date($q) > d"
    expr = parse(text)
    err = param_error(expr, {"p": "2020-01-02 05:04:05", "q": "2020-01-02 05:04:05+02"}, text)
    assert (err.code, err.start, err.end, err.value, err.source) \
        == ("R041", 38, 40, "2020-01-02 05:04:05+02", text)
    assert param_error(expr, {"p": "2020-01-02 05:04:05Z", "q": "2020-01-02"}, text) is None
    assert param_error(parse("cast($p as timestamptz) < z"), {"p": "2020-01-02 05:04:05+02"},
                       text) is None


# -- the property ---------------------------------------------------------------------

WALL = st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1))
OFFSET = st.one_of(st.none(), st.just(0), st.integers(-14 * 60, 14 * 60))  # minutes


def _offset_text(minutes: int | None, form: int) -> str:
    """The offset as Python and DuckDB both read it: Z, +HH:MM, +HHMM or +HH."""
    if minutes is None:
        return ""
    if minutes == 0 and form == 3:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02}{m:02}" if form == 1 else f"{sign}{h:02}" if form == 2 and not m \
        else f"{sign}{h:02}:{m:02}"


@st.composite
def stamp_text(draw) -> tuple[str, dt.datetime, int | None]:
    wall = draw(WALL).replace(microsecond=draw(st.sampled_from([0, 500000, 123456])))
    minutes = draw(OFFSET)
    sep = draw(st.sampled_from([" ", "T"]))
    text = wall.isoformat(sep=sep) + _offset_text(minutes, draw(st.integers(0, 3)))
    return text, wall, minutes


SHAPES = ["ts = '{a}'", "ts < '{a}'", "'{a}' >= ts", "ts in ('{a}', '{b}')",
          "ts not in ('{b}')", "ts between '{a}' and '{b}'",
          "case ts when '{a}' then true when '{b}' then false end",
          "cast('{a}' as timestamp)", "to_timestamp('{b}')", "cast('{a}' as date)",
          "to_date('{b}')", "cast($p as timestamp)", "to_date($p)"]


def _frame(walls: list[dt.datetime]) -> pa.Table:
    """Rows at the wall times, at their UTC times under every offset drawn, and a null."""
    return pa.table({"id": pa.array(range(len(walls)), pa.int64()),
                     "ts": pa.array(walls, pa.timestamp("us"))})


@settings(deadline=None)
@given(a=stamp_text(), b=stamp_text(), shape=st.sampled_from(SHAPES))
def test_what_the_checks_let_through_the_engines_compute_alike(a, b, shape):
    text = shape.format(a=a[0], b=b[0])
    params = {"p": a[0]}
    errors = check(parse(text), TYPES, PARAMS, "row")[1]
    texts = [t for t, name in ((a, "{a}"), (b, "{b}")) if name in shape]
    if errors:  # refused: a constant with a nonzero offset, and nothing else
        assert {e.code for e in errors} == {CODE}
        assert any(offset(t[0]) is not None for t in texts)
        return
    assert all(offset(t[0]) is None for t in texts)
    refused = param_error(parse(text), params, text)
    if "$p" in shape:
        assert (refused is not None) == (offset(a[0]) is not None)
        if refused is not None:
            return
    walls = [a[1], b[1], None]
    for wall, minutes in (a[1:], b[1:]):
        if minutes:
            walls.append(wall - dt.timedelta(minutes=minutes))
    table = _frame(walls)
    from etlc_runtime.dtypes import arrow_to_frame
    ours = evaluate(text, arrow_to_frame(table), params, types=TYPES, dates_as_dates=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", table)
    sql = to_sql(parse(text), params, types=TYPES)
    duck = con.sql(f"SELECT {sql} AS v FROM t ORDER BY id").to_arrow_table()
    assert_same(pd.DataFrame({"v": ours}), duck, ordered=True)
