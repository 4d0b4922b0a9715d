"""Templated strings: known macros pass; unknown ones, statements, attributes and calls are E312."""

from __future__ import annotations

import pytest

from etlc_compiler.templates import check_template

PARAMS = ["region"]


@pytest.mark.parametrize("text", [
    "s3://raw/{{ ds }}/x.csv", "{{ ds_nodash }}", "{{ params.region }}", "{{ logical_date | ts }}",
    "a {{ run_id }} b {{ ts_nodash }}", "no template",
])
def test_allowed(text):
    assert check_template(text, PARAMS) == []


@pytest.mark.parametrize("text, start, end", [
    ("x/{{ dss }}/y", 5, 8),
    ("{{ params.regio }}", 10, 15),
    ("{% if x %}a{% endif %}", 0, 2),
    ("a {{ ds", 2, 4),
    ("{{ ds.__class__ }}", 6, 15),
    ("{{ macros.nope(ds) }}", 10, 14),  # Airflow's objects: known macros only
    ("{{ dag_run.__dict__ }}", 11, 19),
    ("{{ ds.upper() }}", 6, 11),  # attributes of anything but params, and calls
    ("{{ ds|attr('x') }}", 6, 10),
    ("{{ run_id['a'] }}", 9, 10),
    ("{{ ds.x\\x5f\\x5f }}", 7, 8),
])
def test_rejected_with_span(text, start, end):
    problems = check_template(text, PARAMS)
    assert problems, text
    assert problems[0][:2] == (start, end)
