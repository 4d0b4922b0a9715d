"""Parsed expressions are kept between processes (expr/ast_cache.py): a second process gets
the same trees without importing lark; a cache file that others may write, or that is not a
pickle of trees, is ignored; text that does not parse is never stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TEXTS = ["l_extendedprice * (1 - l_discount)", "if(a > 0, round(b / a, 4), null)",
         "sum(x) over (partition by k order by t)", "s like 'a%' and d <= date '1998-09-02'"]

CHILD = """
import json, sys
from etlc_runtime.expr import parse
out = {"trees": [repr(parse(t)) for t in TEXTS]}
out["lark_before_direct"] = "lark" in sys.modules
from etlc_runtime.expr.parser import parse as direct
out["same"] = [parse(t) == direct(t) for t in TEXTS]
print(json.dumps(out))
"""


def _child(cache, texts=TEXTS) -> dict:
    env = dict(os.environ, ETLC_CACHE_DIR=str(cache))
    code = f"TEXTS = {texts!r}\n" + CHILD
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def test_second_process_reads_trees_without_lark(tmp_path):
    first = _child(tmp_path)
    assert first["lark_before_direct"] is True   # nothing cached yet: parsed with lark
    assert list(tmp_path.glob("expr-ast-*.pickle"))
    second = _child(tmp_path)
    assert second["lark_before_direct"] is False
    assert second["trees"] == first["trees"]
    assert all(second["same"])


def test_a_file_others_may_write_is_ignored(tmp_path):
    _child(tmp_path)
    (path,) = tmp_path.glob("expr-ast-*.pickle")
    path.chmod(0o666)
    assert _child(tmp_path)["lark_before_direct"] is True


def test_a_damaged_file_is_ignored(tmp_path):
    _child(tmp_path)
    (path,) = tmp_path.glob("expr-ast-*.pickle")
    path.write_bytes(b"not a pickle")
    out = _child(tmp_path)
    assert out["lark_before_direct"] is True and all(out["same"])


def test_text_that_does_not_parse_raises_and_is_not_stored(tmp_path, monkeypatch):
    from etlc_runtime.expr import ast_cache
    from etlc_runtime.expr.errors import ExprError

    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ast_cache, "_memo", {})
    with pytest.raises(ExprError) as err:
        ast_cache.parse("a +")
    assert err.value.code == "E401"
    assert "a +" not in ast_cache._memo
    ast_cache._save()
    with ast_cache.cache_file().open("rb") as fh:
        import pickle
        assert "a +" not in pickle.load(fh)


EVAL_CHILD = """
import json, sys
import pandas as pd
from etlc_runtime.expr import dask_eval, parse, pandas_eval
tree = parse(TEXTS[0])
v = pandas_eval.evaluate(tree, pd.DataFrame({"l_extendedprice": [10.0], "l_discount": [0.5]}))
print(json.dumps({"lark": "lark" in sys.modules, "v": [float(x) for x in v]}))
"""


def test_evaluating_cached_trees_does_not_import_lark(tmp_path):
    # the evaluators (pandas, and dask's per partition) take trees; lark is for text only
    _child(tmp_path)
    env = dict(os.environ, ETLC_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", f"TEXTS = {TEXTS!r}\n" + EVAL_CHILD],
                          env=env, capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    assert out == {"lark": False, "v": [5.0]}
