"""Engine capabilities: the compiler reads what each engine can do from the runtime's registry
(plain data, no engine imported), refuses a step that asks its engine for what it lacks with
E318 at the key that asks, and reads the default engine from one place. The compiler path
imports neither pandas nor DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from etlc_compiler import capabilities, model
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked

from .conftest import ROOT

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: caps
    defaults:
      engine: duckdb
    datasets:
      src:
        format: csv
        path: data/in/src.csv
        columns:
          id: {type: int}
          region: {type: string}
      dim:
        format: parquet
        path: data/in/dim.parquet
        columns:
          region: {type: string}
          name: {type: string}
      out:
        format: parquet
        path: data/out/
    steps:
      raw:
        read: src
      regions:
        read: dim
      joined:
        from: raw
        join: {with: regions, on: [region]}
        sort: [id]
      per_region:
        from: joined
        engine: pandas
        group_by: [region]
        aggregate: {n: "count(*)"}
      save:
        from: per_region
        write: out
        mode: overwrite
    """)


@pytest.fixture
def lacking(monkeypatch):
    """A registry where duckdb cannot read csv nor join (pandas can do everything)."""
    everything = capabilities.vocabulary()
    table = {"pandas": everything, "duckdb": everything - {"read:csv", "join"}}
    monkeypatch.setattr(capabilities, "table", lambda: table)


def _diags(text: str, tmp_path):
    path = tmp_path / "caps.yaml"
    path.write_text(text, encoding="utf-8")
    return check_text(text, str(path))


def test_what_an_engine_lacks_is_a_positioned_error(lacking, tmp_path):
    checked = _diags(SPEC, tmp_path)
    e318 = [d for d in checked.diagnostics if d.code == "E318"]
    lines = SPEC.splitlines()
    read_line = lines.index("    read: src") + 1
    join_line = lines.index("    join: {with: regions, on: [region]}") + 1
    assert [(d.line, d.col, d.end_col) for d in e318] == [(read_line, 11, 14), (join_line, 5, 9)]
    assert "duckdb" in e318[0].message and "csv" in e318[0].message
    assert "pandas" in e318[0].help
    assert all("E318" != d.code for d in checked.diagnostics if d.line > join_line)  # per_region runs on pandas


def test_a_capable_engine_or_an_unknown_one_is_not_judged(lacking, tmp_path):
    assert not [d for d in _diags(SPEC.replace("engine: duckdb", "engine: pandas"), tmp_path).diagnostics]
    assert not [d for d in _diags(SPEC.replace("engine: duckdb", "engine: dask"), tmp_path).diagnostics
                if d.code == "E318"]


def test_partitions_and_key_needs(tmp_path, monkeypatch):
    everything = capabilities.vocabulary()
    monkeypatch.setattr(capabilities, "table", lambda: {"pandas": everything, "duckdb": everything - {"partitions"}})
    text = SPEC.replace("  engine: duckdb\n", "  engine: duckdb\n  partitions: 4\n")
    checked = _diags(text, tmp_path)
    e318 = {(d.line, d.col) for d in checked.diagnostics if d.code == "E318"}
    assert e318 == {(text.splitlines().index("  partitions: 4") + 1, 3)}   # at defaults.partitions
    (diag,) = [d for d in checked.diagnostics if d.code == "E318"]       # once, naming every step
    assert all(f"'{s}'" in diag.message for s in ("raw", "regions", "joined", "save"))
    assert "'per_region'" not in diag.message   # runs on pandas


def test_the_real_registry_is_what_is_read():
    from etlc_runtime import engines

    if isinstance(getattr(engines, "AVAILABLE", None), dict):
        assert capabilities.table() == {n: frozenset(e[1]) for n, e in engines.AVAILABLE.items()}
    assert capabilities.table()["pandas"] >= capabilities.vocabulary() - {"spill"}


def test_fallback_without_the_registry(monkeypatch):
    monkeypatch.setattr(capabilities, "_registry", lambda: None)
    for f in (capabilities.table, capabilities.default_engine):
        f.cache_clear()
    try:
        assert capabilities.table() == capabilities.FALLBACK
        assert capabilities.default_engine() == capabilities.FALLBACK_DEFAULT
    finally:
        for f in (capabilities.table, capabilities.default_engine):
            f.cache_clear()


def test_the_default_engine_is_one_fact(tmp_path, monkeypatch):
    from etlc_runtime import engines

    default = capabilities.default_engine()
    assert default == getattr(engines, "DEFAULT", capabilities.FALLBACK_DEFAULT)
    schema = json.loads((ROOT / "schema" / "pipeline.schema.json").read_text(encoding="utf-8"))
    defaults = {n["default"] for n in _engine_nodes(schema)}
    assert defaults == {default}, "the schema documents another default engine"
    text = SPEC.replace("defaults:\n  engine: duckdb\n", "").replace("    engine: pandas\n", "")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    monkeypatch.setattr(capabilities, "default_engine", lambda: "duckdb")
    checked = _diags(text, tmp_path)
    assert checked.ok, checked.diagnostics
    assert {s.settings["engine"] for s in checked.spec.steps.values()} == {"duckdb"}
    payloads = [t.payload for t in plan_checked(checked, tmp_path).tasks if t.kind == "python"]
    assert {p["engine"] for p in payloads} == {"duckdb"}
    assert model.DEFAULT_SETTINGS["engine"] is None   # no second copy of the fact


def _engine_nodes(node):
    if isinstance(node, dict):
        if node.get("type") == "string" and "pandas" in (node.get("enum") or []) and "default" in node:
            yield node
        for v in node.values():
            yield from _engine_nodes(v)
    elif isinstance(node, list):
        for v in node:
            yield from _engine_nodes(v)


def test_the_compiler_path_imports_no_dataframe_library(tmp_path):
    code = textwrap.dedent(f"""\
        import contextlib, io, sys
        from etlc_compiler.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["validate", "specs/"]) == 0
            assert main(["compile", "specs/", "-o", {str(tmp_path / "dags")!r}]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "duckdb", "numpy", "pyarrow", "dask"))
        print(loaded)
        """)
    env = {"PATH": "/usr/bin:/bin", "ETLC_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert len(list((tmp_path / "dags").glob("*.py"))) == 4
