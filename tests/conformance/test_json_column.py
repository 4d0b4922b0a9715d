"""The json column type on every engine: nested values written by reference writers (Python's
json for JSON Lines, DuckDB's COPY for CSV, pyarrow for Parquet) read into a declared `json`
column as DuckDB's canonical text (its json() of the value), and the same after read ->
identity -> write (JSON Lines writes the value nested, CSV and Parquet the text) and a read
back; text that is not JSON is R040 naming the column and line."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest
from conformance_helpers import ENGINES, assert_same, context, make_project, read, read_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_roundtrip import write_reference

COLUMNS = {"id": "int", "j": "json"}
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(st.characters(exclude_categories=("Cs",)), max_size=5))
values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8)


def _reference(texts: list, fmt: str, path) -> None:
    if fmt != "json":
        write_reference(pa.table({"id": pa.array(range(len(texts)), pa.int64()),
                                  "j": pa.array(texts, pa.string())}), fmt, path)
        return
    with open(path, "w", encoding="utf-8") as fh:  # the value nested, Python's spacing
        fh.writelines(f'{{"id": {k}, "j": {"null" if t is None else t}}}\n'
                      for k, t in enumerate(texts))


def _canonical(texts: list) -> pa.Table:
    con = duckdb.connect()
    out = [r[0] for r in con.execute("SELECT json(t) FROM unnest(?) AS u(t)",
                                     [texts]).fetchall()]
    return pa.table({"id": pa.array(range(len(texts)), pa.int64()), "j": pa.array(out,
                                                                                 pa.string())})


EXT = {"parquet": "parquet", "csv": "csv", "json": "jsonl"}
_ENGINES: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _close_engines():
    yield
    while _ENGINES:
        _ENGINES.popitem()[1].close()


def _engine(name: str, tmp_path_factory):
    if name not in _ENGINES:
        from etlc_runtime.engines import get_engine
        from etlc_runtime.engines.base import TaskResources
        _ENGINES[name] = get_engine(name, TaskResources(
            spill_dir=tmp_path_factory.mktemp("spill")))
    return _ENGINES[name]


@pytest.mark.parametrize("engine_name, fmt, out_fmt", [
    (e, f, o) for e in ENGINES for f in ("json", "csv", "parquet")
    for o in ("json", "csv", "parquet")])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(values, min_size=1, max_size=5), spaced=st.booleans())
def test_json_column_roundtrip(engine_name, tmp_path_factory, fmt, out_fmt, data, spaced):
    # a JSON null in a JSON Lines record is a null; elsewhere the text 'null' is JSON
    texts = [None if v is None and fmt == "json" else
             json.dumps(v, ensure_ascii=not spaced,
                        separators=(", ", ": ") if spaced else (",", ":")) for v in data]
    engine = _engine(engine_name, tmp_path_factory)
    root = make_project(tmp_path_factory.mktemp("js"))
    _reference(texts, fmt, root / f"in.{EXT[fmt]}")
    want = _canonical(texts)
    got = read(engine, root, {"format": fmt, "path": f"in.{EXT[fmt]}", "columns": COLUMNS})
    assert_same(got, want, f"{engine_name} read of {fmt}")
    ctx = context(root, COLUMNS)
    rel = engine.read({"format": fmt, "path": f"in.{EXT[fmt]}", "columns": COLUMNS}, ctx)
    engine.write(rel, {"format": out_fmt, "path": "out/", "columns": COLUMNS}, "overwrite", ctx)
    back = read(engine, root, {"format": out_fmt, "path": "out/", "columns": COLUMNS})
    if out_fmt == "json":  # JSON Lines has one null: a JSON null value reads back as null
        want = want.set_column(1, "j", pa.array([None if t == "null" else t for t in
                                                 want.column("j").to_pylist()], pa.string()))
    assert_same(back.sort_by("id"), want, f"{engine_name} {fmt} -> {out_fmt}")
    if out_fmt == "json":  # the value nested, not a quoted string
        part = next(p for p in (root / "out").rglob("*") if p.is_file()
                    and not p.name.startswith("."))
        rows = sorted((json.loads(line) for line in part.read_text("utf-8").split("\n") if line),
                      key=lambda r: r["id"])
        assert [r["j"] for r in rows] == [None if t is None else json.loads(t) for t in
                                          want.column("j").to_pylist()]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_text_that_is_not_json_is_r040(engine_name, tmp_path_factory):
    engine = _engine(engine_name, tmp_path_factory)
    root = make_project(tmp_path_factory.mktemp("bad"))
    (root / "in.csv").write_text('id,j\n1,"{""a"": 1}"\n2,{a: 1}\n', encoding="utf-8")
    err = read_error(engine, root, {"format": "csv", "path": "in.csv", "columns": COLUMNS})
    assert (err.column, err.value) == ("j", "{a: 1}")
    assert err.line in (3, None) if engine_name == "duckdb" else err.line == 3


@pytest.mark.parametrize("engine_name", ENGINES)
def test_undeclared_output_writes_json_typed_columns_nested(engine_name, tmp_path_factory):
    """An output that declares no columns: the step's types say which columns are json (a
    relation handed over as plain Arrow strings, as between engines), and every engine
    writes the same bytes, the values nested."""
    engine = _engine(engine_name, tmp_path_factory)
    root = make_project(tmp_path_factory.mktemp("undeclared"))
    rel = engine.from_arrow(pa.table({"id": pa.array([1, 2], pa.int64()),
                                      "j": pa.array(['{"a": [1, 2.50]}', None]),
                                      "s": pa.array(['{"a": 1}', "x"])}))
    engine.write(rel, {"format": "json", "path": "out/"}, "overwrite",
                 context(root, {"id": {"type": "int"}, "j": {"type": "json"},
                                "s": {"type": "string"}}))
    part = next(p for p in (root / "out").rglob("*.json*"))
    assert part.read_text("utf-8") == ('{"id":1,"j":{"a":[1,2.5]},"s":"{\\"a\\": 1}"}\n'
                                       '{"id":2,"j":null,"s":"x"}\n')


def test_a_write_step_has_the_types_of_what_it_writes():
    from etlc_runtime.plan_types import step_types
    plan = {"types": {"t": {"cols": {"j": {"type": "json"}}}},
            "steps": [{"name": "t", "kind": "transform"},
                      {"name": "w", "kind": "write", "from": ["t"], "write": "out"}]}
    assert step_types(plan, plan["steps"][1]) == {"j": {"type": "json"}}
    assert step_types(plan, "w") == {}
