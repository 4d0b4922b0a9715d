"""The dask engine's ``sort`` and ``distinct`` by shuffles (engines/dask/shuffle.py).

Differential against an oracle written here with Python's own ``sorted`` and a dict (stable,
nulls last, ``-`` descending; the first row of each duplicate set kept) and against the
pandas engine's steps, over generated frames split into 1-6 partitions; and the rows stay
spread: the output keeps the input's partitions, each holding one range of the order.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal

import dask
import dask.dataframe as dd
import pandas as pd
import pytest
from etlc_runtime import steps as S
from etlc_runtime.engines.dask import shuffle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COLUMNS = ("i", "f", "s", "d")


@pytest.fixture(autouse=True)
def _values_stay():
    with dask.config.set({"dataframe.convert-string": False}):
        yield


def _null(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _oracle_sort(rows: list[dict], keys: list[str]) -> list[dict]:
    def cmp(a, b):
        for key in keys:
            desc = key.startswith("-")
            col = key.lstrip("-")
            x, y = a[col], b[col]
            if _null(x) or _null(y):
                if _null(x) and _null(y):
                    continue
                return 1 if _null(x) else -1          # nulls last, either direction
            if x != y:
                return (-1 if x < y else 1) * (-1 if desc else 1)
        return 0
    return sorted(rows, key=functools.cmp_to_key(cmp))   # sorted() is stable


def _oracle_distinct(rows: list[dict], cols: list[str]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = tuple("<null>" if _null(row[c]) else row[c] for c in cols)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _frame(data) -> pd.DataFrame:
    i, f, s, d = zip(*data) if data else ((), (), (), ())
    return pd.DataFrame({
        "i": pd.array(list(i), dtype="Int64"),
        "f": pd.array(list(f), dtype="Float64"),
        "s": pd.Series(list(s), dtype=object),
        "d": pd.Series([None if v is None else Decimal(v).scaleb(-2) for v in d], dtype=object),
        "row": pd.array(range(len(data)), dtype="int64"),
    })


def _records(df: pd.DataFrame) -> list[dict]:
    return [{c: (None if _null(v) else v) for c, v in r.items()}
            for r in df.astype(object).to_dict("records")]


ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)),
                          st.one_of(st.none(), st.sampled_from([-1.5, -0.0, 0.0, 2.25])),
                          st.one_of(st.none(), st.sampled_from(["", "a", "b", "ä"])),
                          st.one_of(st.none(), st.integers(-300, 300))),
                max_size=60)
KEYS = st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=3, unique=True).flatmap(
    lambda cols: st.tuples(*[st.sampled_from([c, "-" + c]) for c in cols]).map(list))
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _parts(ddf) -> list[pd.DataFrame]:
    return list(dask.compute(*ddf.to_delayed(), scheduler="sync"))


@SETTINGS
@given(ROWS, KEYS, st.integers(1, 6))
def test_sort_is_the_stable_sort_of_every_row(data, keys, n):
    df = _frame(data)
    out = shuffle.sort(dd.from_pandas(df, npartitions=n, sort=False), keys)
    got = pd.concat(_parts(out), ignore_index=True)
    assert list(got.columns) == list(df.columns)
    assert [r["row"] for r in _records(got)] == \
        [r["row"] for r in _oracle_sort(_records(df), keys)]
    assert got.dtypes.equals(S.sort(df, keys).dtypes)


@SETTINGS
@given(ROWS, st.one_of(st.just(True), st.lists(st.sampled_from(COLUMNS), min_size=1,
                                                max_size=3, unique=True)),
       st.integers(1, 6))
def test_distinct_keeps_the_first_row_of_each_set(data, spec, n):
    df = _frame(data)
    if spec is True:   # on every column: the row number would make every row distinct
        df = df.drop(columns="row").assign(row=0)
    cols = list(df.columns) if spec is True else spec
    out = shuffle.distinct(dd.from_pandas(df, npartitions=n, sort=False), spec)
    got = pd.concat(_parts(out), ignore_index=True)
    want = _oracle_distinct(_records(df), cols)

    def key(r):
        return tuple(repr(r[c]) for c in df.columns)
    assert sorted(map(key, _records(got))) == sorted(map(key, want))
    assert sorted(map(key, _records(S.distinct(df, spec)))) == sorted(map(key, want))


@pytest.mark.parametrize("keys", [["i"], ["-f", "i"], ["s", "-d"]])
def test_sorted_rows_stay_spread_over_the_partitions(keys):
    """No partition gathers the frame: four partitions in, four out, each a range of the
    order (every row of partition k sorts at or before every row of partition k + 1)."""
    n, size = 4, 4000
    data = [((v * 7919) % 1000, (v * 31) % 97 / 4, f"s{(v * 13) % 500:03d}", (v * 17) % 900)
            for v in range(size)]
    df = _frame(data)
    out = shuffle.sort(dd.from_pandas(df, npartitions=n, sort=False), keys)
    assert out.npartitions == n
    parts = _parts(out)
    assert sum(len(p) for p in parts) == size
    assert max(len(p) for p in parts) < size // 2   # the samples split it evenly enough
    whole = _records(pd.concat(parts, ignore_index=True))
    assert [r["row"] for r in whole] == [r["row"] for r in _oracle_sort(_records(df), keys)]


def test_distinct_rows_stay_spread_over_the_partitions():
    df = _frame([(v % 500, None, "x", v % 500) for v in range(4000)])
    out = shuffle.distinct(dd.from_pandas(df, npartitions=4, sort=False), ["i", "d"])
    parts = _parts(out)
    assert out.npartitions == 4 and sum(len(p) for p in parts) == 500
    assert max(len(p) for p in parts) < 500   # hashed over the partitions, not gathered
    firsts = pd.concat(parts)["row"].sort_values().tolist()
    assert firsts == list(range(500))          # the first of each set in input order


def test_hidden_columns_do_not_clash_with_the_relations():
    df = pd.DataFrame({"__etlc_part": [3, 1, 2, 1], "__etlc_row": [0, 0, 0, 1]})
    out = shuffle.sort(dd.from_pandas(df, npartitions=2, sort=False), ["__etlc_part"])
    got = pd.concat(_parts(out), ignore_index=True)
    assert got.to_dict("list") == {"__etlc_part": [1, 1, 2, 3], "__etlc_row": [0, 1, 0, 0]}


def test_unknown_sort_and_distinct_columns_fail_when_the_step_is_built():
    ddf = dd.from_pandas(_frame([(1, 1.0, "a", 1)]), npartitions=1)
    with pytest.raises(S.StepError):
        shuffle.sort(ddf, ["nope"])
    with pytest.raises(S.StepError):
        shuffle.distinct(ddf, ["nope"])
