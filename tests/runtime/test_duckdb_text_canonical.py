"""The duckdb engine's text conversion takes a cast's result where the text is the cast's own
rendering (engines/duckdb/text_canonical.py); that shortcut must never change a value or let
a refused one through.  Differential: the SQL with the shortcut against the exact rules alone
(conversions._exact_from_text), on canonical text, near-canonical variants, and DuckDB's
renderings of what was drawn, for every type it covers."""

from __future__ import annotations

import duckdb
import pytest
from etlc_runtime.engines.duckdb.conversions import _exact_from_text, from_text
from hypothesis import example, given, settings
from hypothesis import strategies as st

SPECS = [{"type": "int"}, {"type": "float"}, {"type": "date"}, {"type": "timestamp"},
         {"type": "decimal", "scale": 2}, {"type": "decimal", "scale": 0},
         {"type": "decimal", "scale": 3, "precision": 6}]
PIECES = ["0", "1", "9", "-", "+", ".", "_", " ", "e", "E", ":", "T", "x", "inf", "nan",
          "infinity", " (BC)", "00", "2020-01-02", "1998-08-12 10:00:00", ".000001", "Z",
          "9223372036854775807", "9223372036854775808", "1e400", "12:00", "0000-01-01"]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


canonical = st.one_of(
    st.integers(-2**64, 2**64).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: f"{d:f}"),
    st.floats(allow_nan=True).map(repr),
    st.dates().map(str),
    st.datetimes().map(lambda t: t.isoformat(" ")),
)
variant = st.tuples(canonical, st.sampled_from(["", "+", " ", "0", "-"]),
                    st.sampled_from(["", " ", "0", ".0", ".5", "e0", "_0", " (BC)"])
                    ).map(lambda t: t[1] + t[0] + t[2])
text = st.one_of(canonical, variant,
                 st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map("".join))


def _differences(spec, values, strict=False):
    sql_new = from_text("s", spec, "c", strict=strict)
    sql_old = _exact_from_text("s", spec, "c", null_value=None, strict=strict,
                               implied_scale=False, file_sql=None)
    rows = ", ".join(f"({_lit(v)})" for v in values)
    target = "VARCHAR"  # renderings of DuckDB's own casts join the drawn values
    casts = {"int": "BIGINT", "float": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP"}
    t = spec["type"]
    target = casts.get(t) or f"DECIMAL({spec.get('precision', 38)}, {spec.get('scale', 0)})"
    query = (f"WITH v(s) AS (VALUES {rows}), w AS (SELECT s FROM v UNION ALL "
             f"SELECT CAST(TRY_CAST(s AS {target}) AS VARCHAR) FROM v) "
             f"SELECT s, {sql_new}, {sql_old} FROM w WHERE s IS NOT NULL")
    out = duckdb.connect().execute(query).fetchall()
    return [r for r in out if not (r[1] == r[2] or r[1] is None and r[2] is None
                                  or r[1] != r[1] and r[2] != r[2])]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SPECS), st.lists(text, min_size=1, max_size=25))
@example({"type": "date"}, ["infinity", "-infinity", "0001-01-01 (BC)", "10000-01-01",
                            "2020-01-02", "2020-1-2", "2020-01-02 00:00:00"])
@example({"type": "int"}, ["1.5", "1.0", "+1", "01", "1_000", "0x10", "1e3", "-0",
                           "9223372036854775808"])
@example({"type": "decimal", "scale": 2}, ["1.005", "1.5", "1_0.50", "1e2", "26.00", "-0.00"])
@example({"type": "timestamp"}, ["2020-01-02 10:00:00", "2020-01-02T10:00:00Z", "infinity",
                                 "2020-01-02 10:00:00.1234567"])
def test_shortcut_gives_the_exact_rules_values(spec, values):
    assert _differences(spec, values) == []


@pytest.mark.parametrize("spec,value", [
    ({"type": "int"}, "1.5"), ({"type": "int"}, "1_000"), ({"type": "int"}, "0x10"),
    ({"type": "int"}, "9223372036854775808"), ({"type": "decimal", "scale": 2}, "1.005"),
    ({"type": "decimal", "scale": 2}, "1_0.50"), ({"type": "date"}, "2020-01-02 10:00"),
    ({"type": "timestamp"}, "2020-01-02 10:00:00.1234567"),
    # digit separators: DuckDB's DOUBLE cast reads them, Arrow's (the pandas engine) does not
    ({"type": "float"}, "1_000"), ({"type": "float"}, " 1_0.5e1 "),
])
def test_refused_text_still_raises_r040(spec, value):
    with pytest.raises(duckdb.Error, match="R040"):
        duckdb.connect().execute(f"SELECT {from_text(_lit(value), spec, 'c')}").fetchall()


@pytest.mark.parametrize("spec,value", [
    ({"type": "int"}, "26"), ({"type": "decimal", "scale": 2}, "37061.18"),
    ({"type": "date"}, "1998-08-12"), ({"type": "float"}, "0.5"),
])
def test_canonical_text_takes_the_cast(spec, value):
    """The shortcut is taken (what makes typed CSV reads fast): the SQL's first branch
    accepts the value, so the exact rules' branch never runs on it."""
    sql = from_text(_lit(value), spec, "c")
    assert sql.startswith("(CASE WHEN ")
    cond = sql[len("(CASE WHEN "):sql.index(" THEN ")]
    assert duckdb.connect().execute(f"SELECT {cond}").fetchone()[0] is True


def _projections(node) -> list:
    own = node.get("extra_info", {}).get("Projections") if node.get("name") == "PROJECTION" \
        else None
    below = [p for child in node.get("children", []) for p in _projections(child)]
    return ([own] if own else []) + below


@pytest.mark.parametrize("spec,target", [
    ({"type": "int"}, "BIGINT"), ({"type": "float"}, "DOUBLE"), ({"type": "date"}, "DATE"),
    ({"type": "timestamp"}, "TIMESTAMP"),
    ({"type": "decimal", "scale": 2, "precision": 15}, "DECIMAL(15,2)"),
])
def test_the_cast_runs_once_per_value(spec, target):
    # the shortcut's comparison and its result share one cast: DuckDB computes it in a
    # projection below the CASE (a guard before the comparison stopped that for dates)
    import json
    con = duckdb.connect()
    con.execute("CREATE TABLE v(s VARCHAR)")
    plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) SELECT {from_text('s', spec, 'c')} "
                                  f"AS a FROM v").fetchall()[0][1])
    below = [p for node in plan for p in _projections(node)][1:]
    assert any(f"TRY_CAST(s AS {target})" in p for p in below)
