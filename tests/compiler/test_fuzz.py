"""Hypothesis: random text and random mutations of valid specs only ever give diagnostics."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from etlc_compiler.api import check_text
from etlc_compiler.diagnostics import Diagnostic
from hypothesis import given
from hypothesis import strategies as st

from .conftest import VALID

# examples, seed and database come from the hypothesis profile (tests/conftest.py)
BASE = yaml.safe_load(VALID)
BASE["start_date"] = "2025-01-01"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["raw", "big", "agg", "orders", "sum(total)", "$x",
                                                           "{{ ds }}", "{{ nope }}", "total >", "'", "5m", "a:b"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths(v, prefix + (i,))


ALL_PATHS = [p for p in paths(BASE) if p]
EXAMPLES = [yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.yaml"))]
EXAMPLE_PATHS = [(i, p) for i, ex in enumerate(EXAMPLES) for p in paths(ex) if p]


def assert_only_diagnostics(result):
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    for d in result.diagnostics:
        assert d.line >= 1 and d.col >= 1 and d.code[0] in "EW"


@given(st.text(max_size=400))
def test_random_text(text):
    assert_only_diagnostics(check_text(text, "r.yaml"))


@given(st.binary(max_size=300))
def test_random_bytes(raw):
    assert_only_diagnostics(check_text(raw, "r.yaml"))


@given(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete", "rename"]), values, st.text(max_size=10))
def test_mutated_valid_spec(path, op, value, new_key):
    data = copy.deepcopy(BASE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[new_key] = parent.pop(last)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    assert_only_diagnostics(check_text(text, "m.yaml"))


@given(st.integers(0, len(VALID) - 1), st.text(max_size=5))
def test_text_splices(at, insert):
    assert_only_diagnostics(check_text(VALID[:at] + insert + VALID[at:], "s.yaml"))


def test_mutation_sanity():
    assert not check_text(yaml.safe_dump(BASE, sort_keys=False), "v.yaml").diagnostics


EXPR_ALPHABET = st.sampled_from(["total", "customer", "order_id", "ordered_at", "$min_total", "$nope", " ", "(", ")",
                                 "+", "-", "*", "/", "%", "=", "==", "!=", "<", ">=", "and", "or", "not", "in",
                                 "is null", "between", "1", "2.5", "'x'", "null", "true", "date '2025-01-02'",
                                 "sum(", "count(*)", "if(", ",", "coalesce(", "cast(", " as int", "`", "\\", "'",
                                 "\n", "unknown_fn(", "round(", "substr("])
EXPR_PLACES = [("steps", "big", "filter"), ("steps", "big", "derive", "day"), ("steps", "agg", "aggregate", "orders"),
               ("steps", "agg", "having")]


@given(st.sampled_from(EXPR_PLACES), st.lists(EXPR_ALPHABET, max_size=12).map("".join))
def test_random_expressions(place, text):
    data = copy.deepcopy(BASE)
    parent = data
    for part in place[:-1]:
        parent = parent[part]
    parent[place[-1]] = text
    result = check_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "e.yaml")
    assert_only_diagnostics(result)


@given(st.sampled_from(EXAMPLE_PATHS), st.sampled_from(["replace", "delete"]), values)
def test_mutated_example_specs(where, op, value):
    index, path = where
    data = copy.deepcopy(EXAMPLES[index])
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if op == "replace":
        parent[path[-1]] = value
    else:
        del parent[path[-1]]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_style=None)
    assert_only_diagnostics(check_text(text, "x.yaml"))
