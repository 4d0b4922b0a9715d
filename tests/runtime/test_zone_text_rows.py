"""Time text DATA naming a time zone, read as a zone-less timestamp or date (expr/zone_text.py).

A string column's value in `cast(s as timestamp | date)`, `to_timestamp(s)` or `to_date(s)`
that carries a UTC offset other than zero or a zone name is R041 naming the row and value on
every engine (DuckDB alone would drop the offset, pandas convert to UTC); `Z`, `+00` and
`-00:00` read as no offset; into a `timestamptz` the offset is honoured. A hypothesis property
runs random texts through the pandas, dask and duckdb engines' transform and compares the rows
or the R041 (code, row, value); fixed cases pin each form. Reads of CSV text into a declared
`timestamp` keep their own rule (docs/types.md, Reading files): the UTC time, on every engine.
"""
from __future__ import annotations

import datetime as dt
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.expr import Type, parse, zone_text
from etlc_runtime.expr.errors import EvalError
from etlc_runtime.expr.typecheck import infer
from exact_rows import assert_same
from hypothesis import given
from hypothesis import strategies as st
from rt_helpers import run_spec

ENGINES = ("pandas", "dask", "duckdb")
FORMS = {"ts": "cast(s as timestamp)", "d": "cast(s as date)", "tt": "to_timestamp(s)",
         "td": "to_date(s)"}


def _run(name: str, root, texts: list[str | None], derive: dict[str, str]):
    """The engine's rows of ``derive`` over a string column ``s`` holding ``texts``, or the
    R041 it stops with as (code, row, value)."""
    engine = get_engine(name, TaskResources(spill_dir=root / ".etlc" / "spill"))
    ctx = StepContext(root=root, params={}, macros={}, step="s")
    step = {"from": ["t"], "derive": derive}
    inputs = {}
    try:
        inputs = {"t": engine.from_arrow(pa.table({"s": pa.array(texts, pa.string())}))}
        return engine.to_arrow(engine.transform(step, inputs, ctx, base=inputs["t"]))
    except EvalError as exc:
        return (exc.code, exc.row, exc.value)
    except Exception as exc:  # noqa: BLE001 - DuckDB's own error: ask the engine for the row
        explained = name == "duckdb" and engine.explain_error(exc, step, inputs, {})
        if not explained:
            raise
        return (explained.code, explained.row, explained.value)
    finally:
        engine.close()


def _same_everywhere(root, texts, derive):
    results = {name: _run(name, root / name, texts, derive) for name in ENGINES}
    first = results["pandas"]
    for name in ENGINES[1:]:
        if isinstance(first, tuple) or isinstance(results[name], tuple):
            assert results[name] == first, (name, results)
        else:
            assert_same(results[name].select(list(derive)), first.select(list(derive)))
    return first


# -- fixed cases --------------------------------------------------------------------------

REFUSED = ["2020-01-02 05:04:05+02", "2020-01-02T05:04:05-03:30", "2020-01-02 05:04:05.25+0100",
           "2020-01-02 05:04:05 Europe/Berlin", "2020-01-02 05:04:05 UTC",
           "2020-01-02 05:04:05+00:30", "2020-01-02 05:04 +14"]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("text", REFUSED)
def test_a_zone_in_the_data_is_r041_at_its_row(tmp_path, form, text):
    texts = ["2020-01-02 05:04:05", None, text, "2020-01-03 00:00:00+05"]
    assert _same_everywhere(tmp_path, texts, {"v": FORMS[form]}) == ("R041", 2, text)


def test_the_first_bad_row_wins_whether_zoned_or_unreadable(tmp_path):
    texts = ["2020-01-02", "not a time", "2020-01-02 05:04:05+02"]
    assert _same_everywhere(tmp_path, texts, {"v": FORMS["ts"]}) == ("R041", 1, "not a time")
    texts = ["2020-01-02", "2020-01-02 05:04:05+02", "not a time"]
    assert _same_everywhere(tmp_path, texts, {"v": FORMS["td"]}) \
        == ("R041", 1, "2020-01-02 05:04:05+02")


def test_a_zero_offset_reads_as_none_and_mixes_with_bare_text(tmp_path):
    texts = ["2020-01-02 05:04:05Z", "2020-01-02 05:04:05+00", "2020-01-02T05:04:05-00:00",
             "2020-01-02 05:04:05.5+0000", "2020-01-02 05:04:05", None, "2020-01-02"]
    out = _same_everywhere(tmp_path, texts, dict(FORMS))
    wall = dt.datetime(2020, 1, 2, 5, 4, 5)
    assert out.column("ts").to_pylist() == [wall, wall, wall, wall.replace(microsecond=500000),
                                            wall, None, dt.datetime(2020, 1, 2)]
    assert out.column("td").to_pylist() == [dt.date(2020, 1, 2)] * 5 + [None,
                                                                           dt.date(2020, 1, 2)]


def test_into_a_timestamptz_the_offset_is_honoured(tmp_path):
    texts = ["2020-01-02 05:04:05+02", "2020-01-02 05:04:05-03:30", "2020-01-02 05:04:05"]
    out = _same_everywhere(tmp_path, texts, {"z": "cast(s as timestamptz)"})
    utc = dt.timezone.utc
    assert out.column("z").to_pylist() == [dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=utc),
                                           dt.datetime(2020, 1, 2, 8, 34, 5, tzinfo=utc),
                                           dt.datetime(2020, 1, 2, 5, 4, 5, tzinfo=utc)]


def test_the_patterns_say_which_text_names_a_zone():
    for text in REFUSED:
        assert zone_text.zoned(text), text
    for text in ["2020-01-02", "2020-01-02 05:04:05", "2020-01-02T05:04:05Z",
                 "2020-01-02 05:04:05 -00:00", "2020-01-02 05:04:05.1+000000", None, 5]:
        assert not zone_text.zoned(text), text


# -- the property ---------------------------------------------------------------------------

WALLS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))
OFFSETS = st.sampled_from(["", "", "Z", "+00", "-00:00", "+0000", "+02", "-03:30", "+0530",
                           "+14:00", "-00:30", " Europe/Berlin", " UTC", " America/Sao_Paulo"])


@st.composite
def texts(draw):
    wall = draw(WALLS)
    sep = draw(st.sampled_from([" ", "T"]))
    fraction = draw(st.sampled_from(["", ".5", ".123456"]))
    if draw(st.booleans()):
        return None if draw(st.booleans()) else wall.date().isoformat()
    return f"{wall:%Y-%m-%d}{sep}{wall:%H:%M:%S}{fraction}{draw(OFFSETS)}"


@given(values=st.lists(texts(), min_size=1, max_size=6),
       form=st.sampled_from(list(FORMS.values())))
def test_every_engine_gives_the_same_values_or_the_same_r041(tmp_path_factory, values, form):
    root = tmp_path_factory.mktemp("zones")
    out = _same_everywhere(root, values, {"v": form})
    firsts = [k for k, v in enumerate(values) if zone_text.zoned(v)]
    if firsts:
        assert out == ("R041", firsts[0], values[firsts[0]])
    else:
        assert not isinstance(out, tuple), out


@pytest.mark.parametrize("text", ["s < ts", "s in (ts)", "s between ts and ts", "nullif(ts, s)"])
def test_a_string_column_never_meets_a_timestamp_column_unconverted(text):
    _, errors, _ = infer(parse(text), {"s": Type("string"), "ts": Type("timestamp")}, {}, "row")
    assert [e.code for e in errors][:1] == ["E405"]


# -- reads and the cast: step (docs/types.md, Reading files) --------------------------------

READ_SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: zoned_read
    defaults: {engine: ENGINE}
    datasets:
      src: {format: csv, path: in.csv, columns: {id: {type: int}, ts: {type: timestamp}, s: {type: string}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw:
        read: src
      c:
        from: raw
        cast: {s: timestamp}
      save: {from: c, write: out, mode: overwrite}
    """)


def _read(root, engine: str, rows: str):
    root.mkdir()
    summary = run_spec(root, READ_SPEC.replace("ENGINE", engine), rows)
    if summary["status"] == "success":
        return pq.read_table(root / "out.parquet").to_pylist()
    err = summary["error"]
    cause = getattr(err, "cause", None) or err
    return (cause.code, cause.column, cause.value)


def test_read_text_with_an_offset_is_its_utc_time_on_every_engine(tmp_path):
    rows = ("id,ts,s\n0,2020-01-02 05:04:05+02,2020-01-02 05:04:05-03:30\n"
            "1,2020-01-02T05:04:05Z,2020-01-02 05:04:05\n")
    want = [{"id": 0, "ts": dt.datetime(2020, 1, 2, 3, 4, 5),
             "s": dt.datetime(2020, 1, 2, 8, 34, 5)},
            {"id": 1, "ts": dt.datetime(2020, 1, 2, 5, 4, 5),
             "s": dt.datetime(2020, 1, 2, 5, 4, 5)}]
    for engine in ENGINES:
        assert _read(tmp_path / engine, engine, rows) == want, engine


@pytest.mark.parametrize("column", ["ts", "s"])
def test_read_or_cast_text_with_a_zone_name_is_r040_on_every_engine(tmp_path, column):
    zoned, plain = "2020-01-02 05:04:05 Europe/Berlin", "2020-01-02 05:04:05"
    values = {"ts": plain, "s": plain, column: zoned}
    rows = f"id,ts,s\n0,{values['ts']},{values['s']}\n"
    for engine in ENGINES:  # DuckDB's CAST alone would drop the name
        assert _read(tmp_path / engine, engine, rows) == ("R040", column, zoned), engine
