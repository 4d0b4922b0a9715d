"""The expression parser's tables are built once and loaded from etlc's cache folder after
that: the loaded parser parses exactly as a fresh one, keeps the lexer callback that
refuses keywords as names, and an unusable cache folder only means building in memory."""

from __future__ import annotations

from importlib import resources

import pytest
from etlc_runtime.expr import grammar_cache, parser
from etlc_runtime.expr.errors import ExprError

TEXTS = ["a + 1 > b and not c is null", "sum(x * (1 - d)) / count(*)",
         "cast(s as decimal(10, 2)) in (1.5, 2)", "`odd name` || 'x'"]


def options():
    return {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": False,
                "lexer_callbacks": {"NAME": parser._name_token}}


def grammar() -> str:
    return resources.files("etlc_runtime.expr").joinpath("grammar.lark").read_text("utf-8")


def test_saved_once_then_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path))
    fresh = grammar_cache.cached_lark(grammar(), **options())
    saved = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".lark")
    assert len(saved) == 1 and saved[0].startswith("expr-grammar-"), saved
    before = (tmp_path / saved[0]).stat().st_mtime_ns
    loaded = grammar_cache.cached_lark(grammar(), **options())
    assert (tmp_path / saved[0]).stat().st_mtime_ns == before   # read, not written again
    assert sorted(p.name for p in tmp_path.iterdir()) == saved + ["expr-grammar.lock"]
    for text in TEXTS:
        assert loaded.parse(text) == fresh.parse(text)


def test_a_new_grammar_gets_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path))
    grammar_cache.cached_lark(grammar(), **options())
    grammar_cache.cached_lark(grammar() + "\n// changed\n", **options())
    assert len(list(tmp_path.glob("*.lark"))) == 2


def test_keywords_stay_refused_after_a_cached_load(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path))
    parser._lark.cache_clear()
    try:
        parser.parse("a + 1")          # builds and saves
        parser._lark.cache_clear()
        assert parser.parse("a + 1") is not None   # loads
        with pytest.raises(ExprError):
            parser.parse("a + and")
    finally:
        parser._lark.cache_clear()


def test_unusable_cache_folder_builds_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ETLC_CACHE_DIR", str(blocker / "cache"))
    built = grammar_cache.cached_lark(grammar(), **options())
    assert built.parse(TEXTS[0]) is not None
    assert blocker.read_text() == "not a folder"


def test_one_cache_folder_for_grammar_and_operator_checks(tmp_path, monkeypatch):
    from etlc_compiler import operator_check

    monkeypatch.delenv("ETLC_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert grammar_cache.cache_folder() == tmp_path / "xdg" / "etlc"
    assert operator_check._cache_path().parent == grammar_cache.cache_folder()
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path / "mine"))
    assert operator_check._cache_path().parent == grammar_cache.cache_folder() == tmp_path / "mine"
