"""A Qdrant read's payload filter pushdown (issue 12): a read step whose filter goes down to
Qdrant gives exactly the rows of the same filter applied by the engine after a plain read
(hypothesis over filters mixing pushable and engine-only terms), and what went down really
leaves points in Qdrant."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor
from etlc_runtime.pg_pushdown import PUSHDOWN
from etlc_runtime.qdrant_filter import payload_filter
from etlc_runtime.qdrant_io import read_qdrant, write_qdrant
from hypothesis import given, settings
from hypothesis import strategies as st
from rt_service_helpers import service_plan

pytest.importorskip("qdrant_client", reason="qdrant-client is in the dev extra")

BIG = 2 ** 53
STRINGS = ["a", "b", "ab", "é", ""]
INTS = [-2 ** 60, -BIG, -3, 0, 1, 2, 3, BIG - 1, BIG, BIG + 1, 2 ** 60]
DATES = [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2025, 12, 31)]
VEC = {"format": "qdrant", "collection": "things", "key": ["k"], "vector": "v",
       "payload": ["k", "s", "n", "b", "d", "f"],
       "columns": {"k": {"type": "int"}, "s": {"type": "string"}, "n": {"type": "int"},
                   "b": {"type": "bool"}, "d": {"type": "date"}, "f": {"type": "float"},
                   "v": {"type": "vector", "size": 2}}}


def rows(count: int = 120) -> pa.Table:
    rnd = random.Random(12)

    def pick(values):
        return None if rnd.random() < 0.15 else rnd.choice(values)

    data = [(k, pick(STRINGS), pick(INTS), pick([True, False]), pick(DATES),
             pick([0.0, 0.5, 1.5, float("nan")])) for k in range(count)]
    cols = list(zip(*data, strict=True))
    return pa.table({"k": pa.array(cols[0], pa.int64()), "s": pa.array(cols[1], pa.string()),
                     "n": pa.array(cols[2], pa.int64()), "b": pa.array(cols[3], pa.bool_()),
                     "d": pa.array(cols[4], pa.date32()), "f": pa.array(cols[5], pa.float64()),
                     "v": pa.array([[float(k), 1.0] for k in range(count)],
                                   pa.list_(pa.float32()))})


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("qdrant_pushdown")
    write_qdrant(rows(), VEC, "overwrite", {}, {}, root)
    return root


def lit(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    return str(value)


def atoms():
    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    return st.one_of(
        st.builds(lambda o, v: f"s {o} {lit(v)}", st.sampled_from(["=", "!="]),
                  st.sampled_from(STRINGS)),
        st.builds(lambda neg, vs: f"s {neg}in ({', '.join(map(lit, vs))})",
                  st.sampled_from(["", "not "]), st.lists(st.sampled_from(STRINGS), min_size=1,
                                                          max_size=3)),
        st.builds(lambda o, v: f"n {o} {v}", ops, st.sampled_from(INTS)),
        st.builds(lambda o, v: f"{v} {o} n", ops, st.sampled_from(INTS)),
        st.builds(lambda neg, vs: f"n {neg}in ({', '.join(map(str, vs))})",
                  st.sampled_from(["", "not "]), st.lists(st.sampled_from(INTS), min_size=1,
                                                          max_size=3)),
        st.builds(lambda neg, a, b: f"n {neg}between {a} and {b}", st.sampled_from(["", "not "]),
                  st.sampled_from(INTS), st.sampled_from(INTS)),
        st.sampled_from(["b", "not b", "b = true", "b != false"]),
        st.builds(lambda o, v: f"d {o} {lit(v)}", st.sampled_from(["=", "!=", "<"]),
                  st.sampled_from(DATES)),
        st.builds(lambda c, neg: f"{c} is {neg}null", st.sampled_from("snbdf"),
                  st.sampled_from(["", "not "])),
        st.sampled_from(["f > 0.4", "length(s) > 1", "n + 1 > 2", "s = $p", "n = $i"]),
    )


def filters():
    return st.recursive(atoms(), lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner)), max_leaves=4)


PARAMS = {"p": "ab", "i": 3}


def run(root, steps, out: str) -> list[int]:
    datasets = {"things": VEC, "out": {"format": "parquet", "path": f"out/{out}/"}}
    plan = service_plan(steps, datasets, "save", params=PARAMS)
    executor.run_task(plan, {"run_id": f"manual__{out}", "project_root": str(root)})
    return sorted(pq.read_table(root / "out" / out).column("k").to_pylist())


@settings(max_examples=40)
@given(text=filters())
def test_pushed_down_equals_the_engine_filter(root, text):
    pushed = run(root, [{"name": "got", "read": "things", "filter": text},
                        {"name": "save", "from": "got", "write": "out", "mode": "overwrite"}],
                 "pushed")
    plain = run(root, [{"name": "got", "read": "things"},
                       {"name": "kept", "from": "got", "filter": text},
                       {"name": "save", "from": "kept", "write": "out", "mode": "overwrite"}],
                "plain")
    assert pushed == plain


def keys_read(root, text: str) -> list[int]:
    table = read_qdrant({**VEC, PUSHDOWN: {"filter": text, "params": PARAMS}}, {}, {}, root)
    return sorted(table.column("k").to_pylist())


def test_what_goes_down_leaves_points_in_qdrant(root):
    table = rows()
    want = [r["k"] for r in table.to_pylist() if r["s"] == "ab" and r["n"] is not None
            and -3 < r["n"] <= BIG - 1]
    assert keys_read(root, "s = $p and n > -3 and n <= 9007199254740991 and f > 0.4") == want
    _, texts = payload_filter("s = $p and n > -3 and f > 0.4 and n < 9007199254740992",
                              PARAMS, VEC)
    assert texts == ["s = $p", "n > -3"]           # floats and a bound of 2**53 stay
    assert keys_read(root, "s is null") == [r["k"] for r in table.to_pylist() if r["s"] is None]
    assert keys_read(root, "f > 0.4") == list(range(table.num_rows))    # nothing went down
