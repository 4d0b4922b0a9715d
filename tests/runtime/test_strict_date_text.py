"""Date and timestamp text is read by one strict rule on every engine (docs/types.md, "Text
accepted"): ``YYYY-MM-DD`` (year 0001 to 9999), optionally ``T`` or a space and
``HH:MM[:SS[.fraction]]`` (digits past the microsecond zeros), optionally a zone ``Z``,
``+HH``, ``+HHMM`` or ``+HH:MM``; surrounding whitespace ignored; a date only at midnight.

Differential: the pandas engine (arrow_convert.text_to, dtypes.cast_series for the ``cast:``
step), the duckdb engine (conversions.from_text and cast_sql, with the fast path of
text_canonical) and an independent oracle (a regular expression and Python's datetime)
agree on each value: the same value, or a refusal.  DuckDB's own CAST reads much more
(``2020-1-2``, ``99-01-02``, ``epoch``, ``infinity``, ``0000-01-01`` as 1 BC, ``(BC)``,
``24:00:00``); every such value is R040 naming dataset, column, line or row and value on
both engines, through CSV, JSON Lines and fixed-width reads.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor
from etlc_runtime.arrow_convert import text_to
from etlc_runtime.dtypes import cast_series
from etlc_runtime.engines.duckdb.conversions import cast_sql, from_text
from etlc_runtime.errors import DataError, StepError
from etlc_runtime.expr.types import Type
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rt_helpers import task_plan

# Unicode whitespace as Arrow's utf8_trim_whitespace strips it
SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(
    map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})"
                  r"(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?")


def oracle(text: str, kind: str):
    """The value of ``text`` as a ``kind`` (date, timestamp) by docs/types.md, or None
    where the text is refused."""
    m = _ISO.fullmatch(text.strip(SPACE))
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    if frac and frac[6:].strip("0"):
        return None   # finer than the microsecond
    try:
        t = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                        int((frac or "").ljust(6, "0")[:6]))
        if zone and zone != "Z":
            oh, om = int(zone[1:3]), int(zone[3:].strip(":") or 0)
            if oh > 23 or om > 59:
                return None
            t -= (1 if zone[0] == "+" else -1) * dt.timedelta(hours=oh, minutes=om)
    except (ValueError, OverflowError):
        return None
    if kind == "timestamp":
        return t
    return t.date() if t.time() == dt.time(0) else None


ADVERSARIAL = [
    "2020-1-2", "99-01-02", "20200-01-02", "02020-01-02", "2020/01/02", "-2020-01-02",
    "+2020-01-02", "0000-01-01", "2020-01-02 (BC)", "0001-01-01 (BC)", "epoch", "infinity",
    "-infinity", "allballs", "now", "today", "tomorrow", "yesterday", "2020-1-2 3:04:05",
    "2020-01-02 3:04:05", "2020-01-02 03:4:05", "2020-01-02 03:04:5", "2020-01-02  03:04:05",
    "2020-01-02 24:00:00", "2020-01-02 23:59:60", "2020-01-02T03", "2020-01-02 03:04:05.",
    "2020-01-02 03:04:05.+02", "2020-01-02 03:04:05 UTC", "2020-01-02 03:04:05 +02:00",
    "2020-01-02T03:04:05z", "2020-02-30", "2020-01-02x", "20200102",
    "2020-01-02 03:04:05.1234567", "10000-01-01 00:00:00", "2020-01-02 00:00:00 (BC)",
    "2020-01-02 03:04+25:00", "2020-01-02 03:04+02:60", "2020-01-02 00:00+24",
    "0001-01-01 00:00+01", "9999-12-31 23:00-02",
]
ACCEPTED = ["2020-01-02", " 2020-01-02\t", "\xa02020-01-02\u3000", "0001-01-01",
            "9999-12-31", "2020-01-02 00:00:00.000000000", "2020-01-02T00:00:00Z",
            "2020-01-02 02:00+02", "2020-01-02 03:04+0200", "2020-01-02 03:04:05.1234560",
            "2020-01-01T22:00-02:00", "9999-12-31 23:59:59.999999", "2020-01-02 03:04",
            "2020-01-02 23:59+23:59", "2020-01-02 03:04:05-0000", "2020-01-01 00:00-23"]


def _show(v) -> str | None:
    """A date or timestamp as DuckDB writes it (fraction without trailing zeros)."""
    if v is None or isinstance(v, str):
        return v
    text = v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat()
    return re.sub(r"\.?0*$", "", text) if "." in text else text


def _pandas_read(values: list[str], kind: str) -> list:
    out = []
    for v in values:
        try:
            out.append(_show(text_to(pa.array([v]), {"type": kind}, "d")[0].as_py()))
        except DataError:
            out.append(None)
    return out


def _pandas_cast_step(values: list[str], kind: str) -> list:
    out = []
    for v in values:
        try:
            got = cast_series(pd.Series([v], dtype="string"), {"type": kind}, "d").iloc[0]
        except DataError:
            out.append(None)
            continue
        got = got.to_pydatetime() if hasattr(got, "to_pydatetime") else got
        out.append(_show(got))
    return out


def _duckdb(values: list[str], sql: str) -> list:
    """``sql`` over column ``s`` of each value (non-strict SQL: null where refused)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"SELECT i, CAST({sql} AS VARCHAR) FROM (SELECT unnest(?) AS s, "
                       f"generate_subscripts(?, 1) AS i) ORDER BY i",
                       [values, values]).fetchall()
    return [r[1] for r in rows]


dates = st.dates().map(str)
stamps = st.datetimes().map(lambda t: t.isoformat(" "))
PIECES = ["0", "1", "2", "9", "12", "31", "60", "24", "-", "+", " ", "\t", "\xa0", "T", ":",
          "Z", "z", ".", "(BC)", " (BC)", "2020", "0000", "20200", "-02-29", "-1-2",
          "00:00:00", "10:00", "3:04", "+02:00", "+0200", "-03", "epoch", "infinity",
          "allballs", "now"]
near = st.tuples(st.sampled_from(["", " ", "\t", "+", "-", "0", "1", "\xa0"]),
                 st.one_of(dates, stamps),
                 st.sampled_from(["", " ", "\t", "\n", "x", "T", " 00:00:00", "T00:00:00Z",
                                  " 10:00", "Z", "+00", "+02:00", " (BC)", ".0", "0",
                                  ":00", ".0000001", "z", " UTC", "+23:59", "+24:00",
                                  "+02:60", "-2359", "+25"])
                 ).map("".join)
shapes = st.tuples(st.integers(0, 99999), st.integers(0, 13), st.integers(0, 32),
                   st.integers(0, 25), st.integers(0, 61),
                   st.sampled_from(["{}-{}-{} {}:{}", "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}",
                                    "{:05d}-{:02d}-{:02d} {:02d}:{:02d}",
                                    "{:04d}-{:02d}-{:02d} {:d}:{:02d}:00",
                                    "{:04d}-{:02d}-{:02d} {:02d}:{:02d}+{:02d}:00"])
                   ).map(lambda t: t[5].format(*t[:5], *t[3:4]))
text = st.one_of(dates, stamps, near, shapes,
                 st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join))


@pytest.mark.parametrize("kind", ["date", "timestamp"])
@settings(max_examples=60, deadline=None)
@given(values=st.lists(text, min_size=1, max_size=30))
@example(values=ADVERSARIAL + ACCEPTED)
def test_pandas_duckdb_and_the_oracle_read_the_same(kind, values):
    want = [_show(oracle(v, kind)) for v in values]
    spec = {"type": kind}
    got = {"pandas read": _pandas_read(values, kind),
           "pandas cast: step": _pandas_cast_step(values, kind),
           "duckdb read": _duckdb(values, from_text("s", spec, "d", strict=False))}
    for what, out in got.items():
        wrong = {v: (g, w) for v, g, w in zip(values, out, want) if g != w}
        assert not wrong, what


@pytest.mark.parametrize("kind", ["date", "timestamp"])
@pytest.mark.parametrize("value", ADVERSARIAL)
def test_duckdb_refuses_each_adversarial_value_with_r040(kind, value):
    assert oracle(value, kind) is None
    con = duckdb.connect()
    for sql in (from_text("s", {"type": kind}, "d"),
                cast_sql("s", Type.from_spec("string"), Type.from_spec(kind), "d")):
        with pytest.raises(duckdb.Error) as info:
            con.execute(f"SELECT {sql} FROM (SELECT ? AS s)", [value]).fetchall()
        err = DataError.from_exception(info.value)
        assert (err.code, err.column, err.value) == ("R040", "d", value.strip())


GOOD = {"date": "2020-01-02", "timestamp": "2020-01-02 03:04:05"}


def _files(root, fmt: str, kind: str, values: list[str]) -> dict:
    """``values`` as column ``d`` of a file of ``fmt``, after one good row; the dataset."""
    rows = [GOOD[kind], *values]
    if fmt == "csv":
        body = "id,d\n" + "".join(f'{i},"{v}"\n' for i, v in enumerate(rows))
        (root / "in.csv").write_text(body)
        return {"format": "csv", "path": "in.csv", "columns": {"id": "int", "d": kind}}
    if fmt == "json":
        body = "".join(json.dumps({"id": i, "d": v}) + "\n" for i, v in enumerate(rows))
        (root / "in.jsonl").write_text(body)
        return {"format": "json", "path": "in.jsonl", "columns": {"id": "int", "d": kind}}
    width = max(map(len, rows))
    (root / "in.txt").write_text("".join(f"{i:03d}{v:<{width}}\n" for i, v in enumerate(rows)))
    return {"format": "fixed_width", "path": "in.txt",
            "columns": {"id": {"type": "int", "span": [1, 3]},
                        "d": {"type": kind, "span": [4, 3 + width]}}}


_NAMES = {"csv": "in.csv", "json": "in.jsonl", "fixed_width": "in.txt"}
# (line, row): the data row in the file on every format, a text file's line where it has one
POSITIONS = {"csv": (3, 2), "json": (None, 2), "fixed_width": (2, 2)}


def _run(project, fmt: str, kind: str, engine: str, values: list[str]):
    ds = _files(project, fmt, kind, values)
    datasets = {"src": ds, "out": {"format": "parquet", "path": "out/"}}
    steps = [{"name": "r", "read": "src"}, {"name": "w", "write": "out", "from": "r"}]
    executor.run_task(task_plan(steps, datasets, engine=engine), {"run_id": "r"})
    return pq.read_table(project / "out").sort_by("id").column("d").to_pylist()


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("fmt", ["csv", "json", "fixed_width"])
@pytest.mark.parametrize("kind", ["date", "timestamp"])
def test_reads_refuse_with_r040_naming_column_place_and_value(project, engine, fmt,
                                                                    kind):
    for value in ["2020-1-2", "99-01-02", "0000-01-01", "epoch", "infinity",
                  "2020-01-02 (BC)", "20200-01-02", "2020-01-02 24:00:00", "2020-01-02T03"]:
        with pytest.raises(StepError) as info:
            _run(project, fmt, kind, engine, [value])
        err = info.value.cause
        assert isinstance(err, DataError), (value, repr(info.value))
        width = max(len(GOOD[kind]), len(value))   # a fixed-width field keeps its padding
        shown = value.ljust(width) if fmt == "fixed_width" else value
        assert (err.code, err.column, err.value) == ("R040", "d", shown)
        assert err.file.endswith(_NAMES[fmt])
        # the value's place, the same on both engines: the data row (a CSV header not
        # counted) and the line of a CSV (header at 1) or fixed-width file; the duckdb engine
        # finds the row after its SQL failed (engines/duckdb/read_rows.py)
        assert (err.dataset, err.line, err.row) == ("src", *POSITIONS[fmt]), value


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("fmt", ["csv", "json", "fixed_width"])
def test_reads_keep_accepted_text(project, engine, fmt):
    values = ["2020-01-03", " 2020-01-04 ", "2020-01-05T00:00:00Z", "2020-01-06 02:00+02"]
    assert _run(project, fmt, "date", engine, values) == [
        dt.date(2020, 1, d) for d in range(2, 7)]


def _cast_rows(engine_name: str, root, texts: list[str], form: str):
    """``form`` over a string column ``s`` on the engine: its values, or (code, row, value)
    of the error it stops with."""
    from etlc_runtime.engines import get_engine
    from etlc_runtime.engines.base import StepContext, TaskResources
    from etlc_runtime.expr.errors import EvalError

    engine = get_engine(engine_name, TaskResources(spill_dir=root / "spill"))
    step, inputs = {"from": ["t"], "derive": {"x": form}}, {}
    try:
        inputs = {"t": engine.from_arrow(pa.table({"s": pa.array(texts, pa.string())}))}
        ctx = StepContext(root=root, params={}, macros={}, step="s")
        return engine.to_arrow(engine.transform(step, inputs, ctx, base=inputs["t"])
                               ).column("x").to_pylist()
    except EvalError as exc:
        return (exc.code, exc.row, exc.value)
    except Exception as exc:  # noqa: BLE001 - DuckDB's own error: the engine finds the row
        found = engine_name == "duckdb" and engine.explain_error(exc, step, inputs, {})
        return (found.code, found.row, found.value) if found else repr(exc)
    finally:
        engine.close()


EXPR_REFUSED = ["2020-1-2", "99-01-02", "2020/01/02", "20200102", "epoch", "infinity", "now",
                "today", "2020-01-02 24:00:00", "02020-01-02", "0000-01-01", "2020-01-02T03",
                "2020-01-02 03:04:05.1234567", "2020-02-30", "2020-01-02 (BC)", "allballs",
                "2020-01-02 03:04:05 +0000", "2020-01-02T03:04:05z"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("form", ["cast(s as date)", "cast(s as timestamp)", "to_date(s)",
                                  "to_timestamp(s)", "cast(s as timestamptz)"])
def test_expression_cast_refuses_text_the_rule_refuses_with_r041(tmp_path, engine, form):
    wrong = {}
    for i, value in enumerate(EXPR_REFUSED):
        got = _cast_rows(engine, tmp_path / str(i), ["2020-01-02", value], form)
        if got != ("R041", 1, value):
            wrong[value] = got
    assert not wrong


def expr_oracle(text: str, kind: str):
    """``cast(text as kind)`` in an expression by docs/types.md: the read rule's text, but a
    zone other than UTC is refused (a zone-less type has none) and a date drops the time of
    day; None where the text is refused."""
    m = _ISO.fullmatch(text.strip(SPACE))
    if not m or (m.group(8) or "Z")[1:].replace(":", "").strip("0"):
        return None
    t = oracle(text, "timestamp")
    return t if kind == "timestamp" or t is None else t.date()


def _expr_show(v, kind: str):
    if v is None:
        return None
    if kind == "date" and isinstance(v, dt.datetime):
        assert v.time() == dt.time(0), v
        v = v.date()
    return _show(v)


expr_text = st.one_of(text, st.sampled_from(EXPR_REFUSED + ACCEPTED),
                      st.dates().map(str))


@pytest.mark.parametrize("engine", ["pandas", "dask", "duckdb"])
@pytest.mark.parametrize("kind", ["date", "timestamp"])
@settings(max_examples=12, deadline=None)
@given(values=st.lists(expr_text, min_size=1, max_size=8))
@example(values=ACCEPTED + ["2020-01-02 03:04:05Z", "2020-01-02 03:04:05-00:00 "])
@example(values=["2020-01-02 03:04:05+02"])
def test_expression_casts_and_the_oracle_agree(tmp_path_factory, engine, kind, values):
    """Each engine's ``cast(s as kind)`` gives the oracle's values, or stops with R041 at the
    first row the oracle refuses, naming that row's value."""
    want = [expr_oracle(v, kind) for v in values]
    root = tmp_path_factory.mktemp("cast")
    got = _cast_rows(engine, root, values, f"cast(s as {kind})")
    refused = [i for i, w in enumerate(want) if w is None]
    if refused:
        assert got == ("R041", refused[0], values[refused[0]])
    else:
        assert [_expr_show(g, kind) for g in got] == [_show(w) for w in want]
