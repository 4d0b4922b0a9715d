"""timestamptz and ``at time zone`` (issues 10 and 13): etlc's pandas evaluator and its DuckDB
rendering against DuckDB SQL written by hand here (TimeZone 'UTC', as the duckdb engine runs),
over instants and local times at DST gaps and overlaps, zones with historic (LMT) offsets,
half-hour zones and nulls; types compared exactly, values exactly (an instant as an instant);
and the compile-time check of zone names (E418, positioned)."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from etlc_compiler.api import check_text
from etlc_runtime.expr import EvalError, Type, check, parse
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, evaluate
from etlc_runtime.expr.sql import to_sql
from hypothesis import given, settings
from hypothesis import strategies as st

U = dt.UTC
TS = dt.datetime
N = None

# id, z (an instant), ts (a local wall time), s (text), d (a date)
ROWS = [
    (0, TS(2025, 3, 9, 7, 30, tzinfo=U), TS(2025, 3, 9, 2, 30), "2025-01-16T09:30:00Z",
     dt.date(2025, 3, 9)),                                       # New York's spring gap
    (1, TS(2025, 11, 2, 5, 30, 0, 123456, tzinfo=U), TS(2025, 11, 2, 1, 30),
     "2025-01-16 11:30:00+02:00", dt.date(2025, 11, 2)),         # New York's autumn overlap
    (2, N, TS(2025, 3, 30, 2, 30), N, N),                        # Berlin's gap
    (3, TS(2025, 10, 26, 0, 30, tzinfo=U), TS(2025, 10, 26, 2, 30), "2025-10-26 02:30:00+0100",
     dt.date(2025, 10, 26)),                                     # Berlin's overlap
    (4, TS(2018, 11, 4, 2, 59, 59, 999999, tzinfo=U), TS(2018, 11, 4, 0, 30),
     "2018-11-04 00:30:00.5-03", dt.date(2018, 11, 4)),          # Sao Paulo's gap (2018)
    (5, TS(2019, 2, 17, 1, 30, tzinfo=U), TS(2019, 2, 16, 23, 30), "2019-02-16 23:30:00",
     dt.date(2019, 2, 16)),                                      # Sao Paulo's overlap (2019)
    (6, TS(1900, 1, 1, 12, tzinfo=U), TS(1900, 1, 1, 0, 0), "1900-01-01",
     dt.date(1900, 1, 1)),                                       # local mean times
    (7, TS(2025, 4, 5, 14, 45, tzinfo=U), TS(2025, 4, 6, 1, 45), "2025-04-06 01:45:00+11:00",
     dt.date(2025, 4, 6)),                                       # Lord Howe's half-hour DST
    (8, TS(2014, 10, 25, 22, 30, tzinfo=U), TS(2014, 10, 26, 1, 30), "2014-10-26 01:30:00+04",
     dt.date(2014, 10, 26)),                                     # Moscow's 2014 change
    (9, TS(2024, 2, 29, 23, 59, 59, tzinfo=U), N, "2024-02-29 23:59:59Z", dt.date(2024, 2, 29)),
    (10, TS(2000, 1, 1, tzinfo=U), TS(2000, 1, 1), "2000-01-01 00:00:00-00:00", N),
]
TYPES = {"id": Type("int"), "z": Type("timestamptz"), "ts": Type("timestamp"),
         "s": Type("string"), "d": Type("date")}

# (etlc expression, the same written by hand in DuckDB SQL)
CASES = [
    ("z", "z"),
    ("z at time zone 'America/Sao_Paulo'", "timezone('America/Sao_Paulo', z)"),
    ("z at time zone 'America/New_York'", "z AT TIME ZONE 'America/New_York'"),
    ("z at time zone 'Europe/Berlin'", "timezone('Europe/Berlin', z)"),
    ("z at time zone 'Asia/Kolkata'", "timezone('Asia/Kolkata', z)"),
    ("z at time zone 'Australia/Lord_Howe'", "timezone('Australia/Lord_Howe', z)"),
    ("z at time zone 'Europe/Moscow'", "timezone('Europe/Moscow', z)"),
    ("z at time zone 'UTC'", "timezone('UTC', z)"),
    ("timezone('Asia/Tokyo', z)", "timezone('Asia/Tokyo', z)"),
    ("ts at time zone 'America/New_York'", "ts AT TIME ZONE 'America/New_York'"),
    ("ts at time zone 'Europe/Berlin'", "timezone('Europe/Berlin', ts)"),
    ("ts at time zone 'America/Sao_Paulo'", "timezone('America/Sao_Paulo', ts)"),
    ("ts at time zone 'Australia/Lord_Howe'", "timezone('Australia/Lord_Howe', ts)"),
    ("ts at time zone 'Europe/Moscow'", "timezone('Europe/Moscow', ts)"),
    ("timezone('Asia/Kathmandu', ts)", "timezone('Asia/Kathmandu', ts)"),
    ("ts at time zone 'Europe/Berlin' at time zone 'Europe/Berlin'",
     "timezone('Europe/Berlin', timezone('Europe/Berlin', ts))"),
    ("z at time zone 'America/New_York' + interval '1 hour'",
     "timezone('America/New_York', z) + INTERVAL 1 HOUR"),
    ("hour(z at time zone 'Asia/Kolkata')", "hour(timezone('Asia/Kolkata', z))"),
    ("date_trunc('day', z at time zone 'America/Sao_Paulo')",
     "date_trunc('day', timezone('America/Sao_Paulo', z))"),
    ("cast(z at time zone 'America/New_York' as string)",
     "CAST(timezone('America/New_York', z) AS VARCHAR)"),
    ("year(z)", "year(z)"), ("month(z)", "month(z)"), ("day(z)", "day(z)"),
    ("hour(z)", "hour(z)"), ("minute(z)", "minute(z)"), ("second(z)", "second(z)"),
    ("millisecond(z)", "millisecond(z)"), ("dayofweek(z)", "dayofweek(z)"),
    ("dayofyear(z)", "dayofyear(z)"), ("week(z)", "week(z)"), ("quarter(z)", "quarter(z)"),
    ("date_trunc('day', z)", "date_trunc('day', z)"),
    ("date_trunc('month', z)", "date_trunc('month', z)"),
    ("date_trunc('hour', z)", "date_trunc('hour', z)"),
    ("date_trunc('week', z)", "date_trunc('week', z)"),
    ("epoch(z)", "epoch(z)"),
    ("strftime(z, '%Y-%m-%d %H:%M:%S')", "strftime(z, '%Y-%m-%d %H:%M:%S')"),
    ("date_diff('day', ts, z)", "date_diff('day', ts, z)"),
    ("date_diff('hour', z, ts)", "date_diff('hour', z, ts)"),
    ("z + interval '1 day'", "z + INTERVAL 1 DAY"),
    ("z - interval '2 hours'", "z - INTERVAL 2 HOUR"),
    ("z + interval '1 month'", "z + INTERVAL 1 MONTH"),
    ("date_add(z, interval '1 month')", "z + INTERVAL 1 MONTH"),
    ("epoch(z - ts)", "epoch(z - ts)"),
    ("z > ts", "z > ts"),
    ("z = cast(ts as timestamptz)", "z = CAST(ts AS TIMESTAMPTZ)"),
    ("z < timestamp '2020-01-01 00:00:00'", "z < TIMESTAMP '2020-01-01 00:00:00'"),
    ("z >= d", "z >= d"),
    ("cast(z as string)", "CAST(z AS VARCHAR)"),
    ("cast(z as date)", "CAST(z AS DATE)"),
    ("cast(z as timestamp)", "CAST(z AS TIMESTAMP)"),
    ("cast(ts as timestamptz)", "CAST(ts AS TIMESTAMPTZ)"),
    ("cast(d as timestamptz)", "CAST(d AS TIMESTAMPTZ)"),
    ("cast(s as timestamptz)", "CAST(s AS TIMESTAMPTZ)"),
    ("coalesce(z, ts)", "coalesce(z, ts)"),
    ("if(id > 4, z, ts)", "CASE WHEN id > 4 THEN z ELSE ts END"),
]
FILTERS = [
    ("z > '2025-01-01 00:00:00+05'", "z > TIMESTAMPTZ '2025-01-01 00:00:00+05'"),
    ("z at time zone 'America/Sao_Paulo' < timestamp '2019-01-01 00:00:00'",
     "timezone('America/Sao_Paulo', z) < TIMESTAMP '2019-01-01 00:00:00'"),
    ("z is null", "z IS NULL"),
]
AGGS = [("max(z)", "max(z)"), ("min(z)", "min(z)"), ("count(z)", "count(z)"),
        ("max(ts at time zone 'Europe/Berlin')", "max(timezone('Europe/Berlin', ts))")]

DUCK_TYPES = {"TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp",
              "BIGINT": "int", "DOUBLE": "float", "VARCHAR": "string", "BOOLEAN": "bool",
              "DATE": "date"}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute("CREATE TABLE t (id BIGINT, z TIMESTAMPTZ, ts TIMESTAMP, s VARCHAR, d DATE)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [list(r) for r in ROWS])
    yield c
    c.close()


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    cols = list(zip(*ROWS))
    types = [pa.int64(), pa.timestamp("us", "UTC"), pa.timestamp("us"), pa.string(), pa.date32()]
    table = pa.table({name: pa.array(list(v), t) for name, v, t in
                      zip(["id", "z", "ts", "s", "d"], cols, types)})
    from etlc_runtime.dtypes import arrow_to_frame
    return arrow_to_frame(table)


def _plain(v):
    """A value as compared: an instant as its UTC time, tagged apart from a local time."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return ("instant", v.astimezone(U).replace(tzinfo=None))
        return ("local", v)
    if isinstance(v, dt.date):
        return ("local", dt.datetime(v.year, v.month, v.day))
    return v


def _duck(con, sql: str, where: str = "") -> tuple[str, list]:
    rel = con.execute(f"SELECT {sql} AS v FROM t {where} ORDER BY id")
    kind = DUCK_TYPES.get(str(rel.description[0][1]).upper(), str(rel.description[0][1]))
    return kind, [_plain(r[0]) for r in rel.fetchall()]


def test_enough_cases():
    assert len(CASES) + len(FILTERS) + len(AGGS) >= 40


@pytest.mark.parametrize(("text", "sql"), CASES)
def test_row_expression(text, sql, df, con):
    t, errors = check(parse(text), TYPES, {}, "row")
    assert not errors, errors
    kind, want = _duck(con, sql)
    if t.name == "date":  # the evaluator's date: a midnight datetime64
        kind = "date"
    assert t.name == kind, f"{text}: etlc {t}, DuckDB {kind}"
    got = [_plain(v) for v in evaluate(text, df, {}, types=TYPES).tolist()]
    assert got == want, text
    _, rendered = _duck(con, to_sql(parse(text), {}, types=TYPES))
    assert rendered == want, f"{text} rendered as {to_sql(parse(text), {}, types=TYPES)}"


@pytest.mark.parametrize(("text", "sql"), FILTERS)
def test_filter(text, sql, df, con):
    want = [r[0] for r in con.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id").fetchall()]
    assert apply_filter(text, df, {}, types=TYPES)["id"].tolist() == want


@pytest.mark.parametrize(("text", "sql"), AGGS)
def test_aggregate(text, sql, df, con):
    got = aggregate(df, [], {"v": text}, types=TYPES)["v"].tolist()
    assert [_plain(v) for v in got] == [_plain(con.execute(
        f"SELECT {sql} FROM t").fetchone()[0])]


def test_results_are_stored_as_utc_instants(df):
    out = evaluate("ts at time zone 'America/Sao_Paulo'", df, {}, types=TYPES)
    assert str(out.dtype) == "datetime64[us, UTC]"
    assert str(evaluate("z at time zone 'Asia/Tokyo'", df, {}, types=TYPES).dtype) \
        == "datetime64[us]"


def test_text_that_is_no_time_stops_the_cast(df):
    bad = pd.DataFrame({"s": pd.array(["2025-01-01 10:00:00+02", "not a time"], "string")})
    with pytest.raises(EvalError, match="not a time"):
        evaluate("cast(s as timestamptz)", bad, {}, types={"s": Type("string")})


def test_conversion_beyond_year_one_is_an_error():
    early = pd.DataFrame({"z": pd.Series(pa.array([TS(1, 1, 1, 1, tzinfo=U)],
                                                   pa.timestamp("us", "UTC")).to_pandas())})
    with pytest.raises(EvalError, match="years 1 to 9999"):
        evaluate("z at time zone 'America/New_York'", early, {},
                 types={"z": Type("timestamptz")})


@pytest.mark.parametrize(("text", "code", "start", "end"), [
    ("z at time zone 'Mars/Olympus'", "E418", 15, 29),
    ("timezone('America/Sao_paulo', z)", "E418", 9, 28),
    ("z at time zone s", "E405", 15, 16),           # the zone must be a constant
    ("d at time zone 'UTC'", "E405", 0, 1),         # a date has no zone to convert
])
def test_zone_errors_are_positioned(text, code, start, end):
    _, errors = check(parse(text), TYPES, {}, "row")
    assert [(e.code, e.start, e.end) for e in errors] == [(code, start, end)]


SPEC = """\
etlc: 1
pipeline: zones
start_date: 2025-01-01
datasets:
  a: {format: csv, path: data/a.csv, columns: {z: {type: timestamptz}}}
  b: {format: parquet, path: data/b/}
steps:
  ra:
    read: a
  local:
    from: ra
    derive:
      here: "z at time zone 'America/Sao_Paolo'"
  wb:
    from: local
    write: b
    mode: overwrite
"""


def test_unknown_zone_in_a_spec_is_e418_at_the_name():
    checked = check_text(SPEC, "z.yaml")
    got = [(d.code, d.line, d.col) for d in checked.diagnostics]
    assert got == [("E418", 13, 29)], checked.diagnostics
    assert list(check_text(SPEC.replace("Paolo", "Paulo"), "z.yaml").diagnostics) == []


ZONES = ["America/Sao_Paulo", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
         "Asia/Kathmandu", "Europe/Moscow", "Pacific/Apia", "UTC"]
# local times near DST changes as often as anywhere: whole half hours of 1890-2100
half_hours = st.builds(lambda d, k: dt.datetime.combine(d, dt.time()) + dt.timedelta(minutes=30 * k),
                       st.dates(dt.date(1890, 1, 1), dt.date(2100, 12, 31)), st.integers(0, 47))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ZONES), st.lists(st.one_of(st.none(), half_hours), min_size=1, max_size=8))
def test_at_time_zone_equals_duckdb_both_ways(zone, stamps):
    """A local time to its instant and an instant to its local time, as DuckDB (ICU)."""
    frame = pd.DataFrame({"ts": pd.Series(stamps, dtype="datetime64[us]")})
    got = evaluate(f"ts at time zone '{zone}'", frame, {}, types={"ts": Type("timestamp")})
    back = evaluate(f"cast(ts as timestamptz) at time zone '{zone}'", frame, {},
                    types={"ts": Type("timestamp")})
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(f"SELECT timezone('{zone}', ts), timezone('{zone}', CAST(ts AS "
                           f"TIMESTAMPTZ)) FROM (SELECT unnest(?::TIMESTAMP[]) AS ts)",
                           [stamps]).fetchall()
    finally:
        con.close()
    assert [_plain(v) for v in got.tolist()] == [_plain(r[0]) for r in rows]
    assert [_plain(v) for v in back.tolist()] == [_plain(r[1]) for r in rows]
