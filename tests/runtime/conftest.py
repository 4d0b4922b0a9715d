"""Fixtures of the runtime tests: a project folder on tmp_path and a DuckDB reference."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project root (pyproject.toml) that relative paths resolve against."""
    root = tmp_path / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "specs" / "p.yaml").write_text("etlc: 1\n")
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(root))
    monkeypatch.delenv("ETLC_STATSD_HOST", raising=False)
    return root


@pytest.fixture
def duck():
    import duckdb  # the reference: part of the dev extra, never skipped
    con = duckdb.connect()
    yield con
    con.close()


def needs_expr():
    """The expression evaluator is part of the runtime: its absence is a failure, not a skip."""
    from etlc_runtime import _expr

    _expr.backend()


@pytest.fixture
def expr_backend():
    needs_expr()
