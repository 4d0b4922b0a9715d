"""Running the hand-written oracle (oracle_cases.py) on DuckDB, and etlc's results in the same
strict form (exprdata): shared by the pandas and Dask differential tests."""
from __future__ import annotations

from etlc_runtime.expr import check, parse
from etlc_runtime.expr.types import param_type
from exprdata import PARAMS, TYPES, duck_value, etlc_values

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}


def params_of(sql: str) -> dict:
    return {k: v for k, v in PARAMS.items() if f"${k}" in sql}


def oracle_column(con, sql: str, t) -> tuple[str, list]:
    """(DuckDB's type, values in id order) of a hand-written SQL expression over table t."""
    p = params_of(sql)
    duck_type = con.execute(f"DESCRIBE SELECT {sql} AS v FROM t", p).fetchall()[0][1]
    rows = con.execute(f"SELECT {sql} FROM t ORDER BY id", p).fetchall()
    return duck_type, [duck_value(r[0], t) for r in rows]


def _sort_key(row):
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)


def oracle_aggregate(con, case, case_sql, types: dict) -> tuple[list[str], list[tuple]]:
    """(DuckDB's column types, rows sorted) of an AGG_CASES case by its hand-written SQL."""
    group_by, aggs, _ = case
    select_sql, having_sql = case_sql
    assert list(select_sql) == list(aggs)
    select = [f'"{k}"' for k in group_by] + list(select_sql.values())
    sql = f"SELECT {', '.join(select)} FROM t"
    if group_by:
        sql += " GROUP BY " + ", ".join(f'"{k}"' for k in group_by)
    if having_sql:
        sql += " HAVING " + having_sql
    p = params_of(sql)
    duck_types = [r[1] for r in con.execute(f"DESCRIBE {sql}", p).fetchall()]
    cols = [*group_by, *aggs]
    rows = [tuple(duck_value(v, types[c]) for c, v in zip(cols, row))
            for row in con.execute(sql, p).fetchall()]
    return duck_types, sorted(rows, key=_sort_key)


def etlc_rows(out, types: dict) -> list[tuple]:
    cols = list(out.columns)
    values = {c: etlc_values(out[c], types[c], len(out)) for c in cols}
    return sorted(zip(*(values[c] for c in cols)), key=_sort_key)


def aggregate_types(group_by, aggs) -> dict:
    types = {k: TYPES[k] for k in group_by}
    for name, text in aggs.items():
        t, errors = check(parse(text), TYPES, P_TYPES, "aggregate", group_by)
        assert not errors, errors
        types[name] = t
    return types
