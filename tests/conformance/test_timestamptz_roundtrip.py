"""Property: timestamptz columns (instants from year 1 to 9999 with microseconds, nulls) written
by a reference writer - Parquet through pyarrow in any zone, CSV and JSON Lines as ISO text
with mixed offsets (``Z``, ``+02:00``, ``+0545``, ``-03``, ``T`` or a space) - come out of
every engine's read as the same instants (``timestamp[us, tz=UTC]``), equal to DuckDB's own
read, and the same again after the engine writes them (read -> identity -> write, Parquet, CSV,
JSON) and they are read back.  Text without an offset is R040 on every engine."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conformance_helpers import (
    ENGINES,
    EngineCache,
    assert_same,
    make_project,
    read,
    read_error,
    written_back,
)
from hypothesis import given, settings
from hypothesis import strategies as st

U = dt.UTC
EXAMPLES = max(5, settings.default.max_examples // 15)
OFFSETS = [("Z", 0), ("+00:00", 0), ("+02:00", 120), ("-03:30", -210), ("+0545", 345),
           ("-03", -180), ("+14:00", 840), ("-12:00", -720)]
ZONES = ["UTC", "America/Sao_Paulo", "Asia/Kathmandu", "Europe/Berlin", "+02:00"]
instants = st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30, 23, 59, 59, 999999)
                        ).map(lambda v: v.replace(tzinfo=U))
texts = st.tuples(instants, st.sampled_from(OFFSETS), st.sampled_from([" ", "T"]))


def _text(value: dt.datetime, offset: tuple[str, int], sep: str) -> str:
    local = (value + dt.timedelta(minutes=offset[1])).replace(tzinfo=None)
    return local.isoformat(sep=sep) + offset[0]


@st.composite
def columns(draw):
    n = draw(st.integers(0, 6))
    rows = draw(st.lists(st.one_of(st.none(), texts), min_size=n, max_size=n))
    want = pa.table({"z": pa.array([None if r is None else r[0] for r in rows],
                                   pa.timestamp("us", "UTC"))})
    return rows, want


def _write_text(rows, fmt: str, path) -> None:
    values = [None if r is None else _text(*r) for r in rows]
    with open(path, "w", encoding="utf-8") as fh:
        if fmt == "csv":
            fh.write("z\n" + "".join(("" if v is None else v) + "\n" for v in values))
        else:
            fh.writelines(json.dumps({"z": v}) + "\n" for v in values)


def _duckdb_csv(path) -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(f"SELECT * FROM read_csv('{path}', header = true, columns = "
                       f"{{'z': 'TIMESTAMPTZ'}}, auto_detect = false, nullstr = '')"
                       ).to_arrow_table()
    finally:
        con.close()


COLS = {"z": "timestamptz"}


@pytest.mark.parametrize("fmt", ["csv", "json"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=columns())
def test_text_with_offsets_reads_as_instants(engine, tmp_path_factory, fmt, data):
    rows, want = data
    root = make_project(tmp_path_factory.mktemp("tz"))
    _write_text(rows, fmt, root / f"in.{fmt}")
    got = read(engine, root, {"format": fmt, "path": f"in.{fmt}", "columns": COLS})
    assert_same(got, want, f"{engine.name} read of {fmt}")
    if fmt == "csv":
        assert_same(_duckdb_csv(root / "in.csv"), want, "DuckDB's read of csv")


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=columns())
def test_parquet_in_any_zone_reads_as_the_same_instants(engine, tmp_path_factory, zone, data):
    _rows, want = data
    root = make_project(tmp_path_factory.mktemp("tz"))
    pq.write_table(want.cast(pa.schema([pa.field("z", pa.timestamp("us", zone))])),
                   root / "in.parquet")
    got = read(engine, root, {"format": "parquet", "path": "in.parquet", "columns": COLS})
    assert_same(got, want, f"{engine.name} read of Parquet in {zone}")


_ENGINES = EngineCache()


@pytest.fixture(scope="module", autouse=True)
def _close_engines():
    yield
    _ENGINES.close()


@pytest.mark.parametrize("engine_name, out_fmt", [
    pytest.param(e, o, id=f"{e}-{o}") for e in ENGINES for o in ("parquet", "csv", "json")])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=columns())
def test_read_identity_write_roundtrip(engine_name, tmp_path_factory, out_fmt, data):
    _rows, want = data
    engine = _ENGINES.get(engine_name, tmp_path_factory)
    root = make_project(tmp_path_factory.mktemp("tz"))
    pq.write_table(want, root / "in.parquet")
    back = written_back(engine, root, COLS, out_fmt)
    if out_fmt != "parquet":
        text = "".join(p.read_text(encoding="utf-8") for p in (root / "out").rglob("*.*")
                       if p.is_file() and not p.name.startswith("."))
        assert "Z" not in text and ("+00" in text or want.column("z").null_count == len(want))
    assert_same(back, want, f"{engine.name} parquet -> {out_fmt}")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_text_without_an_offset_is_r040(engine, tmp_path, fmt):
    root = make_project(tmp_path)
    _write_text([(dt.datetime(2025, 1, 16, 9, 30, tzinfo=U), ("Z", 0), " ")], fmt,
                root / f"in.{fmt}")
    text = (root / f"in.{fmt}").read_text().replace("09:30:00Z", "09:30:00")
    (root / f"in.{fmt}").write_text(text)
    err = read_error(engine, root, {"format": fmt, "path": f"in.{fmt}", "columns": COLS})
    assert err.column == "z" and "2025-01-16 09:30:00" in str(err.value)


def test_zone_less_parquet_is_r040(engine, tmp_path):
    root = make_project(tmp_path)
    pq.write_table(pa.table({"z": pa.array([dt.datetime(2025, 1, 1)], pa.timestamp("us"))}),
                   root / "in.parquet")
    err = read_error(engine, root, {"format": "parquet", "path": "in.parquet", "columns": COLS})
    assert err.column == "z"
