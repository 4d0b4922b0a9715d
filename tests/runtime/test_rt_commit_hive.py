"""Partition folder names: Hive's escaping, exactly, and a round trip for every value."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from etlc_runtime import hive
from hypothesis import example, given
from hypothesis import strategies as st

# Hive FileUtils.escapePathName's set, written out independently of the module under test
HIVE_ESCAPED = {chr(c) for c in range(0x20)} | set('"#%\'*/:=?\\\x7f{[]^')


def test_escape_is_hives_table():
    for code in range(0x250):
        c = chr(code)
        expected = f"%{code:02X}" if c in HIVE_ESCAPED else c
        assert hive.escape(c) == expected, repr(c)
    assert hive.escape("a/b:c=d%e") == "a%2Fb%3Ac%3Dd%25e"
    assert hive.escape("x y-é_.+@") == "x y-é_.+@"


def test_unescape_is_hives():
    assert hive.unescape("a%2Fb%3ac%25") == "a/b:c%"
    assert hive.unescape("100%") == "100%" and hive.unescape("%zz%4") == "%zz%4"
    assert hive.unescape("%5F_HIVE_DEFAULT_PARTITION__") == hive.HIVE_NULL


def test_null_default_partition_and_its_literal():
    assert hive.name_of(None) == hive.HIVE_NULL == hive.name_of(pd.NA) == hive.name_of(pd.NaT)
    assert hive.name_of(float("nan")) == hive.HIVE_NULL
    assert hive.name_of(hive.HIVE_NULL) == "%5F_HIVE_DEFAULT_PARTITION__"
    assert hive.value_of(hive.HIVE_NULL) is None
    assert hive.value_of(hive.name_of(hive.HIVE_NULL)) == hive.HIVE_NULL
    assert hive.segment("a=b", "c/d") == "a%3Db=c%2Fd"
    assert hive.parse_segment("a%3Db=c%2Fd") == ("a=b", "c/d")
    assert hive.parse_segment("plain") is None


def test_value_text_keeps_full_precision():
    ts = pd.Timestamp("2025-01-02 03:04:05.000001")
    assert hive.value_text(ts) == "2025-01-02 03:04:05.000001"
    assert hive.value_text(pd.Timestamp("2025-01-02 00:00:00.000000001")) == \
        "2025-01-02 00:00:00.000000001"
    assert hive.value_text(dt.datetime(2025, 1, 2, 0, 0, 0, 5)) == "2025-01-02 00:00:00.000005"
    assert hive.value_text(dt.date(2025, 1, 2)) == "2025-01-02"
    assert hive.value_text(0.1) == "0.1" and hive.value_text(2.0) == "2"
    assert hive.value_text(True) == "true"


@given(st.one_of(st.none(), st.text()))
@example(None)
@example(hive.HIVE_NULL)
@example("")
@example("%5F_HIVE_DEFAULT_PARTITION__")
@example("a%2Fb")
def test_escape_unescape_round_trip(value):
    name = hive.name_of(value)
    assert "/" not in name and "\x00" not in name
    assert hive.value_of(name) == value


@given(st.lists(st.one_of(st.none(), st.text()), min_size=2, max_size=8, unique=True))
@example([None, hive.HIVE_NULL, ""])
def test_distinct_values_get_distinct_names(values):
    names = [hive.name_of(v) for v in values]
    assert len(set(names)) == len(values)


@given(st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 1),
                             max_value=dt.datetime(2200, 1, 1)),
                min_size=2, max_size=8, unique=True))
def test_distinct_timestamps_get_distinct_names_and_come_back(stamps):
    names = [hive.name_of(pd.Timestamp(s)) for s in stamps]
    assert len(set(names)) == len(stamps)
    assert [pd.Timestamp(hive.value_of(n)) for n in names] == [pd.Timestamp(s) for s in stamps]
