"""The pandas engine's text reads take a fast path when every value of a column has the plain
shape (bare digits for ``int``, ``YYYY-MM-DD`` for ``date``, what Arrow's float cast reads for
``float``), untrimmed or else trimmed: one regular expression and one cast instead of the
general path's trim and five passes.  Differential: on columns of plain text the
fast path gives what the general path gives (forced by one more value, valid but not plain,
after them): the same values, or the same R040 at the same row with the same value.
"""

from __future__ import annotations

import pyarrow as pa
from etlc_runtime.arrow_convert import PLAIN_DATE, PLAIN_INT, _all_match, text_to
from etlc_runtime.errors import DataError
from hypothesis import example, given
from hypothesis import strategies as st

# not plain, read by the general path only, and valid: its row never fails
GENERAL = {"int": "7.0", "date": "2020-01-02T00:00:00", "float": " 1.5"}


def _read(texts: list[str | None], kind: str):
    try:
        return text_to(pa.array(texts, pa.string()), {"type": kind}, "c").to_pylist()
    except DataError as err:
        return ("R040", err.row, err.value, err.column)


def _both(texts: list[str | None], kind: str) -> tuple:
    fast = _read(texts, kind)
    general = _read([*texts, GENERAL[kind]], kind)
    if isinstance(general, list):
        general = general[:-1]
    return fast, general


digits = st.text("0123456789", min_size=1, max_size=21)
ints = st.one_of(st.none(), digits, digits.map("-".__add__),
                 st.integers(-2**63, 2**63 - 1).map(str),
                 # what Arrow's int cast reads beyond digits (hex) or refuses
                 st.sampled_from(["0x10", "0XfF", "0x", "-0x1", "+3", " 7", "1.0", "1e3"]))


@given(st.lists(ints, max_size=8))
@example(["9223372036854775807", "-9223372036854775808"])
@example(["1", "9223372036854775808", "x"])
@example(["007", "-0", None])
@example(["12", "0x10"])   # hex: Arrow's cast reads it as 16, the rules refuse it
def test_int_fast_path_is_the_general_path(texts):
    fast, general = _both(texts, "int")
    assert fast == general


def _pad(n: int, width: int) -> str:
    return str(n).zfill(width)


plain_dates = st.one_of(
    st.none(), st.dates().map(str),
    st.builds(lambda y, m, d: f"{_pad(y, 4)}-{_pad(m, 2)}-{_pad(d, 2)}",
              st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)))


@given(st.lists(plain_dates, max_size=8))
@example(["2020-02-30", "0000-01-01"])   # year 0000 is refused first, as the general path
@example(["2020-02-29", "2021-02-29"])
@example(["0001-01-01", "9999-12-31", None])
def test_date_fast_path_is_the_general_path(texts):
    fast, general = _both(texts, "date")
    assert fast == general


def test_the_fast_paths_take_only_their_shape():
    assert _all_match(pa.array(["12", "-3", None]), PLAIN_INT)
    for text in ("+3", "0x10", "1.0", " 1", "١٢"):
        assert not _all_match(pa.array(["12", text]), PLAIN_INT)
    assert _all_match(pa.array(["2020-01-02", None]), PLAIN_DATE)
    for text in ("2020-1-02", "2020-01-02 ", "2020-01-02T00:00", "+2020-01-02"):
        assert not _all_match(pa.array(["2020-01-02", text]), PLAIN_DATE)


floats = st.one_of(st.none(), st.floats().map(repr), st.floats().map(str),
                   st.sampled_from(["nan", "-nan", "inf", "-Infinity", "1e309", "1_0", "0x10",
                                    "1.5 ", "\t2", "1e", ".5", "5.", "+.5e-3", "", "x"]))


@given(st.lists(floats, max_size=8))
@example(["1.5", " 2.5", "x"])
@example(["1e309", "-1e309", "4.9e-324"])
def test_float_fast_path_is_the_general_path(texts):
    fast, general = _both(texts, "float")
    assert fast == general or _nan_equal(fast, general)


def _nan_equal(a, b) -> bool:
    return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
            and all(x == y or (x != x and y != y) for x, y in zip(a, b)))


@given(st.lists(st.one_of(ints, plain_dates), max_size=6),
       st.sampled_from([" ", "\t", "\xa0", "\u3000"]))
def test_padded_plain_text_reads_as_unpadded(texts, pad):
    for kind in ("int", "date"):
        padded = [t if t is None else pad + t + pad for t in texts]
        bare, trimmed = _read(texts, kind), _read(padded, kind)
        if isinstance(bare, tuple):
            assert isinstance(trimmed, tuple) and trimmed[1] == bare[1]   # the same row
        else:
            assert trimmed == bare
