"""Mapped operator steps under `etlc run`: each instance's arguments, differential against
Airflow's own expansion (DictOfListsExpandInput), and the errors for what cannot map."""

from __future__ import annotations

import pytest
from airflow.sdk.definitions._internal.expandinput import DictOfListsExpandInput
from etlc_runtime.errors import StepError
from etlc_runtime.operator_map import instances, run_mapped
from hypothesis import given, settings
from hypothesis import strategies as st

values = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none())
mappable = st.one_of(st.lists(values, min_size=1, max_size=3),
                     st.dictionaries(st.text(min_size=1, max_size=2), values, min_size=1, max_size=3))
expands = st.dictionaries(st.sampled_from(["a", "b", "c", "op_args"]), mappable, min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(expands)
def test_instances_are_airflows_map_indexes_in_order(expand):
    """Instance i gets what Airflow's expand input resolves for map index i (cross product,
    the last argument varying fastest; a dict maps over its (key, value) pairs)."""
    airflow = DictOfListsExpandInput(expand)
    lengths = {k: len(v) for k, v in expand.items()}
    total = 1
    for n in lengths.values():
        total *= n
    want = [{k: airflow._expand_mapped_field(k, v, i, lengths) for k, v in expand.items()} for i in range(total)]
    assert instances({"name": "s", "expand": expand}, {}) == want


def test_xcom_sources_and_partial_args():
    step = {"name": "each", "args": {"shared": 1}, "expand": {"x": {"from": "make"}, "y": ["p", "q"]}}
    assert instances(step, {"make": [1, 2]}) == [{"x": 1, "y": "p"}, {"x": 1, "y": "q"},
                                                 {"x": 2, "y": "p"}, {"x": 2, "y": "q"}]
    seen = run_mapped(step, {"make": [1, 2]}, lambda one: dict(one["args"]))
    assert seen[0] == {"shared": 1, "x": 1, "y": "p"} and len(seen) == 4
    assert all("expand" not in one for one in seen)
    kw = {"name": "k", "expand_kwargs": {"from": "make"}}
    assert instances(kw, {"make": [{"a": 1}, {"a": 2, "b": 3}]}) == [{"a": 1}, {"a": 2, "b": 3}]
    assert instances({"name": "e", "expand": {"x": []}}, {}) == []   # Airflow skips: no instance


@pytest.mark.parametrize("step, returned, words", [
    ({"name": "s", "expand": {"x": {"from": "gone"}}}, {}, "'gone': it did not run"),
    ({"name": "s", "expand": {"x": {"from": "up"}}}, {"up": None}, "NoneType"),
    ({"name": "s", "expand": {"x": {"from": "up"}}}, {"up": "abc"}, "not a list or dict"),
    ({"name": "s", "expand_kwargs": {"from": "up"}}, {"up": [{"a": 1}, 2]}, "element 1 is int"),
])
def test_what_cannot_map_is_a_step_error_before_any_instance(step, returned, words):
    ran = []
    with pytest.raises(StepError) as info:
        run_mapped(step, returned, ran.append)
    assert words in str(info.value) and info.value.step == "s" and ran == []
