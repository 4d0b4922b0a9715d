"""Surrounding whitespace around number and bool text is one rule on every engine
(docs/types.md): Unicode whitespace (Arrow's utf8_trim_whitespace, Python's ``str.strip``:
tabs, line ends, no-break and ideographic spaces) is ignored, in reads of declared columns
and in ``cast(s as int | float | decimal)``. Before, DuckDB's ``trim`` took spaces only and
its CAST ASCII whitespace, so ``'\\xa01'`` and (in int reads) ``'\\t1'`` were refused on the
duckdb engine where the pandas engine read 1."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pytest
from etlc_runtime.arrow_convert import text_to
from etlc_runtime.engines.duckdb.conversions import from_text
from etlc_runtime.errors import DataError
from test_strict_date_text import SPACE, _cast_rows

PADS = [" ", "\t", "\n", "\v", "\xa0", "\u3000", "\u2009", "\x1c", " \t\xa0"]
SPECS = {"int": ({"type": "int"}, 12), "float": ({"type": "float"}, 12.0),
         "decimal": ({"type": "decimal", "scale": 2}, decimal.Decimal("12.00")),
         "bool": ({"type": "bool"}, True)}


def test_the_pads_are_the_whitespace_python_and_arrow_strip():
    for pad in PADS:
        assert (pad + "1" + pad).strip() == "1" == (pad + "1").strip(SPACE)


@pytest.mark.parametrize("kind", list(SPECS))
def test_reads_ignore_unicode_whitespace_on_both_engines(kind):
    spec, want = SPECS[kind]
    texts = [f"{pad}{'true' if kind == 'bool' else '12'}{pad}" for pad in PADS]
    pandas = text_to(pa.array(texts), spec, "d").to_pylist()
    con = duckdb.connect()
    sql = from_text("s", spec, "d")
    duck = [con.execute(f"SELECT {sql} FROM (SELECT ? AS s)", [t]).fetchone()[0] for t in texts]
    assert pandas == duck == [want] * len(texts)


@pytest.mark.parametrize("kind", ["int", "float"])
def test_reads_refuse_inner_whitespace_on_both_engines(kind):
    spec, _ = SPECS[kind]
    con = duckdb.connect()
    for text in ["1\xa02", "1 2", "\u200b1"]:   # a zero-width space is no whitespace
        with pytest.raises(DataError):
            text_to(pa.array([text]), spec, "d")
        with pytest.raises(duckdb.Error) as info:
            con.execute(f"SELECT {from_text('s', spec, 'd')} FROM (SELECT ? AS s)", [text])
        assert DataError.from_exception(info.value).code == "R040"


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("kind", ["int", "float", "decimal(2)"])
def test_expression_casts_ignore_unicode_whitespace(tmp_path, engine, kind):
    texts = [f"{pad}12{pad}" for pad in PADS]
    got = _cast_rows(engine, tmp_path / "ok", texts, f"cast(s as {kind})")
    assert [float(v) for v in got] == [12.0] * len(texts)
    bad = _cast_rows(engine, tmp_path / "bad", ["1", "1\xa02"], f"cast(s as {kind})")
    assert bad == ("R041", 1, "1\xa02")
