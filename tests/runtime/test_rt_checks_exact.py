"""Checks, exactly: which step and check a failure names, how many rows fail, and the example
rows it carries (at most five, only failing rows, JSON-ready: None for every kind of null,
ISO text for dates). Written against the mutants mutmut found alive (docs/testing.md)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from etlc_runtime.checks import run_checks
from etlc_runtime.errors import CheckFailed, StepError


def failure(df, checks, step="s") -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        run_checks(df, checks, {}, step=step)
    return info.value


def test_examples_are_at_most_five_failing_rows_in_order():
    df = pd.DataFrame({"k": pd.array([1, 2, None, None, None, None, None, None, 3],
                                     dtype="Int64")})
    err = failure(df, {"not_null": ["k"]}, step="clean")
    assert (err.step, err.check, err.failing) == ("clean", "not_null(k)", 6)
    assert err.examples == [{"k": None}] * 5


def test_examples_are_json_ready():
    df = pd.DataFrame({
        "id": pd.array([1, 1], dtype="Int64"),
        "f": np.array([np.nan, 1.5]),                                       # numpy NaN
        "ts": pd.to_datetime(["2020-01-02 03:04:05", None]),                  # NaT
        "d": pd.Series([dt.date(2021, 5, 6), None], dtype=object),
        "tags": pd.Series([["a", "b"], ["c"]], dtype=object),                # pd.isna raises
    })
    err = failure(df, {"unique": ["id"]})
    assert err.examples == [{"id": 1}, {"id": 1}]
    err = failure(df, {"expect": ["id > 1"]})
    assert err.examples == [
        {"id": 1, "f": None, "ts": "2020-01-02T03:04:05", "d": "2021-05-06", "tags": ["a", "b"]},
        {"id": 1, "f": 1.5, "ts": None, "d": None, "tags": ["c"]},
    ]


def test_unknown_columns_are_step_errors_naming_the_step_and_column():
    df = pd.DataFrame({"a": [1]})
    for check in ("not_null", "unique"):
        with pytest.raises(StepError) as info:
            run_checks(df, {check: ["a", "zz"]}, {}, step="clean")
        assert type(info.value) is StepError
        assert info.value.step == "clean" and "'zz'" in info.value.message


def test_unique_names_its_columns_counts_rows_and_values_and_shows_only_duplicates():
    df = pd.DataFrame({"day": ["d1", "d2", "d1", "d3", "d2", "d1"],
                       "id": [1, 9, 1, 4, 9, 1], "v": [0, 1, 2, 3, 4, 5]})
    err = failure(df, {"unique": ["day", "id"]}, step="agg")
    assert (err.step, err.check, err.failing) == ("agg", "unique(day, id)", 5)
    assert err.examples == [{"day": "d1", "id": 1}, {"day": "d2", "id": 9},
                            {"day": "d1", "id": 1}, {"day": "d2", "id": 9},
                            {"day": "d1", "id": 1}]
    # the detail counts the duplicated values (groups), not only the rows
    assert re.search(r"\b5 row\(s\).*\(day, id\).*\b2 duplicated value", err.message)


def test_expect_as_a_mapping_of_named_conditions():
    df = pd.DataFrame({"x": pd.array([1, 5, None], dtype="Int64")})
    assert run_checks(df, {"expect": {"positive": "x > 0 or x is null"}}, {}) == ["expect"]
    err = failure(df, {"expect": {"big": "x > 2"}}, step="t")
    assert (err.step, err.check, err.failing) == ("t", "expect(x > 2)", 2)
    assert err.examples == [{"x": 1}, {"x": None}]  # false and null both fail


@pytest.mark.parametrize("text, failing", [("1 = 1", 0), ("1 = 2", 3), ("null", 3)])
def test_expect_constant_conditions(text, failing):
    df = pd.DataFrame({"x": pd.array([1, 2, 3], dtype="Int64")}, index=[10, 20, 30])
    if not failing:
        assert run_checks(df, {"expect": [text]}, {}) == ["expect"]
        return
    err = failure(df, {"expect": [text]})
    assert err.failing == failing and err.examples == [{"x": 1}, {"x": 2}, {"x": 3}]


def test_row_count_failures_carry_the_count_and_examples_only_above_the_maximum():
    df = pd.DataFrame({"a": pd.array(range(7), dtype="Int64")})
    low = failure(df, {"row_count": {"min": 8}}, step="r")
    assert (low.step, low.check, low.failing, low.examples) == ("r", "row_count", 7, [])
    high = failure(df, {"row_count": {"max": 6}}, step="r")
    assert (high.step, high.check, high.failing) == ("r", "row_count", 7)
    assert high.examples == [{"a": k} for k in range(5)]


def test_all_checks_pass_in_order():
    df = pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")})
    checks = {"row_count": {"min": 2, "max": 2}, "expect": ["a > 0"], "unique": ["a"],
              "not_null": ["a"]}
    assert run_checks(df, checks, {}) == ["not_null", "unique", "expect", "row_count"]
    assert run_checks(df, {}, {}) == [] and run_checks(df, None, {}) == []
