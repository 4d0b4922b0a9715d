"""Checks and metrics of the DuckDB engine: SQL over the step's relation.

Same rules and error shape as checks.py (:class:`CheckFailed` with the check's name, the
failing row count and up to five example rows) and as the pandas engine's metrics (one
aggregate expression over the whole output, a plain Python value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import CheckFailed, need_check_columns, row_count_violation
from ...expr.sql import quote_ident as q
from ...plain import plain
from .sql_build import Builder, Rel, typed

EXAMPLES = 5


def _rows(con, rel: Rel, where: str | None = None, columns=None) -> list[dict]:
    cols = list(columns or rel.columns)
    sql = rel.query(", ".join(map(q, cols)))
    if where:
        sql += f" WHERE {where}"
    return [dict(zip(cols, map(plain, r)))
            for r in con.execute(f"{sql} LIMIT {EXAMPLES}").fetchall()]


def run_checks(b: Builder, rel: Rel, checks: Mapping[str, Any] | None, params,
               step: str | None = None) -> list[str]:
    """Run the checks; return the names of those that passed, raise on the first failure."""
    if not checks:
        return []
    con, passed = b.con, []

    def scalar(select: str, where: str | None = None):
        sql = rel.query(select) + (f" WHERE {where}" if where else "")
        return con.execute(sql).fetchall()[0][0]

    cols = checks.get("not_null") or []
    if cols:
        need_check_columns(step, "not_null", cols, rel.columns)
        counts = con.execute(rel.query(", ".join(
            f"count(*) FILTER (WHERE {q(c)} IS NULL)" for c in cols))).fetchall()[0]
        for col, failing in zip(cols, counts):
            if failing:
                raise CheckFailed(step, f"not_null({col})", int(failing),
                                  _rows(con, rel, f"{q(col)} IS NULL"),
                                  detail=f"{failing} row(s) have a null {col}")
        passed.append("not_null")
    cols = checks.get("unique") or []
    if cols:
        need_check_columns(step, "unique", cols, rel.columns)
        keys = ", ".join(map(q, cols))
        dup = f"SELECT {keys}, count(*) AS n FROM {q(rel.name)} GROUP BY {keys} HAVING count(*) > 1"
        failing, groups = con.execute(
            f"WITH {_ctes(rel)} SELECT sum(n), count(*) FROM ({dup})").fetchall()[0]
        if failing:
            examples = [dict(zip(cols, map(plain, r))) for r in con.execute(
                f"WITH {_ctes(rel)} SELECT {keys} FROM (SELECT {keys}, count(*) OVER "
                f"(PARTITION BY {keys}) AS __n FROM {q(rel.name)}) WHERE __n > 1 "
                f"LIMIT {EXAMPLES}").fetchall()]
            raise CheckFailed(step, f"unique({', '.join(cols)})", int(failing), examples,
                              detail=f"{failing} row(s) share a value of ({', '.join(cols)}) "
                                     f"with another row ({groups} duplicated value(s))")
        passed.append("unique")
    expects = checks.get("expect") or []
    if isinstance(expects, Mapping):
        expects = list(expects.values())
    for text in expects:
        cond, _ = b.expr(rel, text, params, "filter")
        bad = f"NOT coalesce({cond}, false)"
        failing = scalar("count(*)", bad)
        if failing:
            raise CheckFailed(step, f"expect({text})", int(failing), _rows(con, rel, bad),
                              detail=f"{failing} row(s) do not satisfy `{text}`")
    if expects:
        passed.append("expect")
    bounds = checks.get("row_count") or {}
    if bounds:
        failure = row_count_violation(step, int(scalar("count(*)")), bounds,
                                      lambda: _rows(con, rel))
        if failure is not None:
            raise failure
        passed.append("row_count")
    return passed


def _ctes(rel: Rel) -> str:
    return ",\n".join(f"{q(n)} AS (\n{sql}\n)" for n, sql in rel.ctes)


def metrics(b: Builder, rel: Rel, exprs: Mapping[str, str], params) -> dict[str, Any]:
    """Every metric in one query over the relation; plain Python values (dates as
    datetime.date, as the pandas engine's ``metric``)."""
    if not exprs:
        return {}
    items = []
    for text in exprs.values():
        sql, t = b.expr(rel, text, params, "metric")
        items.append(typed(sql, t))
    row = b.con.execute(rel.query(", ".join(items))).fetchall()[0]
    return dict(zip(exprs, row))
