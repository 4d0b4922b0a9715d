"""A declared decimal that every value of the file's type fits skips the per-row check of
the duckdb reader (read_sql._widens); the rule is checked against DuckDB itself: when it says
"widens", the extreme values of the file's type cast exactly, and when a cast of an extreme
value could fail or round, it must say no."""

from __future__ import annotations

import decimal

import duckdb
from etlc_runtime.engines.duckdb.read_sql import _widens
from hypothesis import given
from hypothesis import strategies as st

INTS = {"TINYINT": 127, "SMALLINT": 32767, "INTEGER": 2**31 - 1, "BIGINT": 2**63 - 1}


@st.composite
def decimal_type(draw):
    p = draw(st.integers(1, 38))
    return f"DECIMAL({p},{draw(st.integers(0, p))})"


def extremes(raw: str) -> list[str]:
    if raw in INTS:
        return [str(INTS[raw]), str(-INTS[raw] - 1)]
    p, s = map(int, raw[8:-1].split(","))
    with decimal.localcontext(prec=80):   # the default 28 digits would round 38-digit values
        top = decimal.Decimal(10**p - 1).scaleb(-s)
        return [f"{top:f}", f"{-top:f}", f"{decimal.Decimal(1).scaleb(-s):f}"]


@given(st.sampled_from(sorted(INTS)) | decimal_type(), decimal_type())
def test_widens_agrees_with_duckdb(raw, target):
    con = duckdb.connect()
    exact = True
    for v in extremes(raw):
        try:
            same = con.execute(f"SELECT CAST(CAST('{v}' AS {raw}) AS {target}) = CAST('{v}' AS {raw}), "
                               f"CAST(CAST(CAST('{v}' AS {raw}) AS {target}) AS VARCHAR)").fetchone()
        except duckdb.Error:
            exact = False
            break
        exact = exact and bool(same[0]) and decimal.Decimal(same[1]) == decimal.Decimal(v)
    if _widens(raw, target):
        assert exact, (raw, target)
    if not exact:
        assert not _widens(raw, target)
