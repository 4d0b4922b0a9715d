"""Schedules: cron fields checked for range at the bad field (E206, against croniter, the cron
library Airflow uses), and the object forms of `schedule:` (E330)."""

from __future__ import annotations

import pytest
from croniter import croniter
from etlc_compiler.api import check_text
from etlc_compiler.schedules import cron_errors
from hypothesis import given, settings
from hypothesis import strategies as st

SPEC = """\
etlc: 1
pipeline: sched
start_date: 2025-01-01
schedule: {schedule}
datasets:
  src: {{format: csv, path: data/in.csv, columns: {{x: {{type: int}}}}}}
  dst: {{format: csv, path: data/out.csv}}
steps:
  raw:
    read: src
  save:
    from: raw
    write: dst
    mode: overwrite
"""


def diags(schedule: str) -> list[tuple[str, int, int, int | None]]:
    checked = check_text(SPEC.format(schedule=schedule), "s.yaml")
    return [(d.code, d.line, d.col, d.end_col) for d in checked.diagnostics]


def test_each_out_of_range_field_is_named_at_its_position():
    # schedule: "61 25 * * *" -> the 61 at column 12, the 25 at column 15
    assert diags('"61 25 * * *"') == [("E206", 4, 12, 14), ("E206", 4, 15, 17)]


@pytest.mark.parametrize(("cron", "start"), [
    ("0 0 0 * *", 4), ("0 0 32 * *", 4), ("0 0 * 13 *", 6), ("0 0 * * 8", 8), ("*/0 * * * *", 2),
    ("0 0 * * 1#6", 10), ("0 0 * * MON-FRX", 12), ("0 0 * * * 60", 10), ("1,2,60 * * * *", 4),
    ("0-60 * * * *", 2),
])
def test_cron_errors_start_at_the_bad_value(cron, start):
    errors = cron_errors(cron)
    assert [e[0] for e in errors] == [start]


@pytest.mark.parametrize("cron", [
    "0 6 * * 1-5", "*/15 * * * *", "0 0 L * *", "0 0 15W * *", "0 0 * * 1#2", "0 0 1 JAN,jul *",
    "0 0 * * SUN-SAT", "0 0 * * 7", "*/30 * * * * 0", "0 0 ? * *",
])
def test_valid_crons_pass(cron):
    assert cron_errors(cron) == []
    assert diags(f'"{cron}"') == []


_VALUE = st.integers(min_value=0, max_value=75).map(str)
_ELEMENT = st.one_of(
    st.just("*"), _VALUE,
    st.tuples(_VALUE, _VALUE).map(lambda p: f"{p[0]}-{p[1]}"),
    st.tuples(st.sampled_from(["*", "0", "1"]), st.integers(min_value=1, max_value=30)).map(
        lambda p: f"{p[0]}/{p[1]}"),
)
_FIELD = st.lists(_ELEMENT, min_size=1, max_size=3).map(",".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FIELD, min_size=5, max_size=5))
def test_what_croniter_refuses_etlc_refuses(fields):
    """A cron of numbers, ranges, steps and lists that croniter (Airflow's cron library) refuses
    is refused at compile time too. (etlc is stricter where croniter is lenient: month 0.)"""
    text = " ".join(fields)
    if not croniter.is_valid(text):
        assert cron_errors(text), text


def _in_range(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(min_value=low, max_value=high).map(str)
    element = st.one_of(st.just("*"), value, st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}"),
                        st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, high or 1)).map(
                            lambda p: f"{p[0]}/{p[1]}"))
    return st.lists(element, min_size=1, max_size=3).map(",".join)


@settings(max_examples=200, deadline=None)
@given(st.tuples(_in_range(0, 59), _in_range(0, 23), _in_range(1, 31), _in_range(1, 12), _in_range(0, 7)))
def test_what_etlc_accepts_croniter_accepts(fields):
    text = " ".join(fields)
    assert cron_errors(text) == []
    assert croniter.is_valid(text), text


def test_schedule_forms_that_pass():
    for schedule in ('{cron: "0 6 * * *", timezone: Europe/Paris}', "{every: 6h}",
                     '{timetable: MultipleCronTriggerTimetable, args: ["0 6 * * *"], kwargs: {timezone: UTC}}',
                     "{timetable: 'my_pkg.tt:Nightly', kwargs: {hour: 2}}",
                     "{assets: {or: [a.x, {and: [b.y, c.z]}]}, external: true}",
                     '{assets: [a.x, b.y], external: true, cron: "0 0 * * *", timezone: UTC}'):
        assert diags(schedule) == [], schedule


@pytest.mark.parametrize(("schedule", "code", "col"), [
    ('{cron: "0 6 * * *", timezone: Europe/Pariss}', "E330", 41),
    ('{cron: "0 6 * * *", every: 1h}', "E330", 31),
    ("{timezone: UTC}", "E202", 1),
    ("{every: 1h, args: [1]}", "E330", 23),
    ("{timetable: os:system}", "E330", 23),
    ("{timetable: CronTrigerTimetable}", "E330", 23),
    ('{cron: "0 24 * * *", timezone: UTC}', "E206", 21),
    ("{assets: {xor: [a.b]}, external: true}", "E201", 21),
])
def test_schedule_mistakes_are_positioned(schedule, code, col):
    found = diags(schedule)
    assert found and found[0][:3] == (code, 4, col), found
