"""write_dataset's postgres branch exactly (io_write.py; the loading itself is io_postgres's,
tested in test_rt_postgres.py): a date with a time of day is R040 naming the table before
anything is written, computed decimals and dates reach the table in their plan types, an
R040 of the load names the table, a keyless append is keyed by the run, the table name is
rendered with the run's macros. Written against the mutants mutmut found alive
(docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import psycopg
import pytest
from etlc_runtime.errors import DataError
from etlc_runtime.io_write import write_dataset
from test_rt_postgres import URI, M, pg, rows  # noqa: F401  (pg: the schema fixture)

CONNS = {"dwh": "pg_test"}


def _write(df, schema, mode="overwrite", run="r1", table="t", columns=None, types=None):
    ds = {"format": "postgres", "connection": "dwh", "table": f"{schema}.{table}"}
    if columns:
        ds["columns"] = columns
    return write_dataset(df, ds, mode, M, None, run, connections=CONNS, types=types)


def _columns(schema, table="t") -> dict:
    with psycopg.connect(URI) as conn:
        got = conn.execute("select column_name, data_type, numeric_scale from "
                           "information_schema.columns where table_schema = %s and "
                           "table_name = %s", (schema, table)).fetchall()
    return {name: (kind, scale) for name, kind, scale in got}


DAYS = pd.to_datetime(["2024-01-31", "2024-02-29 06:30", None], format="ISO8601")


@pytest.mark.parametrize("where", ["columns", "types"])
def test_a_date_with_a_time_of_day_names_the_table(pg, where):  # noqa: F811
    """Declared, or a computed date of the plan: R040 naming the table, column, row and
    value, and the table is not created."""
    df = pd.DataFrame({"id": [1, 2, 3], "d": DAYS})
    with pytest.raises(DataError) as info:
        _write(df, pg, **{where: {"d": {"type": "date"}}})
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == (
        "R040", f"{pg}.t", "d", 2, "2024-02-29 06:30:00")
    assert _columns(pg) == {}


def test_computed_decimals_and_dates_reach_the_table_in_their_plan_types(pg):  # noqa: F811
    df = pd.DataFrame({"id": [1, 2], "x": pd.array([1.25, None], dtype="Float64"),
                       "d": pd.to_datetime(["2024-01-31", None])})
    _write(df, pg, types={"x": {"type": "decimal", "scale": 2}, "d": {"type": "date"}})
    assert _columns(pg) == {"id": ("bigint", 0), "x": ("numeric", 2), "d": ("date", None)}
    assert rows(pg, "t") == [(1, Decimal("1.25"), dt.date(2024, 1, 31)), (2, None, None)]


def test_declared_types_decide_the_column_types_of_a_new_table(pg):  # noqa: F811
    """A declared json column is jsonb (its values are text in the frame, text to Arrow)."""
    _write(pd.DataFrame({"id": [1], "doc": ['{"a": [1, null]}']}), pg,
           columns={"doc": {"type": "json"}})
    assert _columns(pg) == {"id": ("bigint", 0), "doc": ("jsonb", None)}
    assert rows(pg, "t") == [(1, {"a": [1, None]})]


@pytest.mark.parametrize("declared,values", [
    ({"type": "decimal", "scale": 2}, [1.5, 1.005]), ({"type": "int"}, [1.0, 2.5])],
    ids=["decimal", "int"])
def test_a_value_the_table_refuses_names_the_table(pg, declared, values):  # noqa: F811
    """Checked as a file's values are: 1.005 is not rounded into numeric(38, 2), 2.5 not
    sent to a bigint (R040 naming table, column, row and value; no table created)."""
    with pytest.raises(DataError) as info:
        _write(pd.DataFrame({"id": [1, 2], "x": values}), pg, columns={"x": declared})
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == ("R040", f"{pg}.t", "x",
                                                                        2, values[1])
    assert _columns(pg) == {}


def test_a_keyless_append_is_keyed_by_the_run(pg):  # noqa: F811
    """The same run appended twice leaves its rows once; another run adds its own."""
    for run, ids in [("d1", [1, 2]), ("d1", [1, 2]), ("d2", [3])]:
        _write(pd.DataFrame({"id": ids}), pg, mode="append", run=run)
    assert [r[0] for r in rows(pg, "t")] == [1, 2, 3]


def test_the_table_name_is_rendered_with_the_run_macros(pg):  # noqa: F811
    info = _write(pd.DataFrame({"id": [4]}), pg, table="t_{{ ds_nodash }}")
    assert info["rows"] == 1
    assert [r[0] for r in rows(pg, "t_20250102")] == [4]
