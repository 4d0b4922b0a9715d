"""`etlc run` checks a spec once: the verdict is cached by everything it was judged from, and
any change to the spec, the project's settings, the environment or etlc itself checks again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from etlc_compiler import check_cache
from etlc_compiler.api import check_file


@pytest.fixture
def project(tmp_path, valid_spec_text, monkeypatch) -> Path:
    root = tmp_path / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    (root / "specs" / "orders.yaml").write_text(valid_spec_text, encoding="utf-8")
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path / "cache"))
    return root


def _check(root: Path):
    return check_cache.check_file(root / "specs" / "orders.yaml", root)


def test_second_check_is_a_hit_with_the_same_result(project, tmp_path):
    _, hit1 = _check(project)
    second, hit2 = _check(project)
    assert (hit1, hit2) == (False, True)
    fresh = check_file(project / "specs" / "orders.yaml")
    assert second.ok and second.spec == fresh.spec
    assert second.diagnostics == fresh.diagnostics
    assert dict(second.step_types) == json.loads(json.dumps(dict(fresh.step_types)))
    assert len(list((tmp_path / "cache" / "checks").glob("*.json"))) == 1
    assert not (project / ".etlc").exists()   # ETLC_CACHE_DIR wins over the project's folder


def test_without_cache_dir_the_project_folder_holds_it(project, monkeypatch):
    monkeypatch.delenv("ETLC_CACHE_DIR")
    _check(project)
    assert list((project / ".etlc" / "cache" / "checks").glob("*.json"))


def test_warnings_come_back_from_the_cache(project):
    spec = project / "specs" / "orders.yaml"
    lines = spec.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "columns:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    spec.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")   # W401: no declared columns
    first, hit1 = _check(project)
    second, hit2 = _check(project)
    assert first.ok and not hit1 and hit2
    assert [d.code for d in second.diagnostics] == ["W401"]
    assert second.diagnostics == first.diagnostics


@pytest.mark.parametrize("change", ["spec", "pyproject", "env", "etlc"])
def test_any_change_checks_again(project, monkeypatch, change):
    _check(project)
    if change == "spec":
        spec = project / "specs" / "orders.yaml"
        spec.write_text(spec.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    elif change == "pyproject":
        (project / "pyproject.toml").write_text("[tool.etlc]\nroots = []\n", encoding="utf-8")
    elif change == "env":
        monkeypatch.setenv("ETLC_PROJECT_ROOT", str(project))
    else:
        monkeypatch.setattr(check_cache, "code_fingerprint", lambda: "another etlc")
    _, hit = _check(project)
    assert not hit
    _, hit = _check(project)
    assert hit


def test_a_failing_spec_is_never_cached(project, tmp_path):
    spec = project / "specs" / "orders.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("from: big", "from: bigg"), encoding="utf-8")
    for _ in range(2):
        checked, hit = _check(project)
        assert not checked.ok and not hit
        assert "E301" in {d.code for d in checked.diagnostics}
    assert not list((tmp_path / "cache").rglob("*.json"))


@pytest.mark.parametrize("garbage", ["not json", "[]", '{"key": 1}'])
def test_a_damaged_entry_is_a_miss(project, tmp_path, garbage):
    _check(project)
    (entry,) = (tmp_path / "cache" / "checks").glob("*.json")
    data = json.loads(entry.read_text())
    entry.write_text(garbage if garbage != '{"key": 1}' else json.dumps({**data, "diagnostics": [{"nope": 1}]}))
    checked, hit = _check(project)
    assert checked.ok and not hit
    assert _check(project)[1]


def test_a_tampered_error_in_the_entry_is_not_trusted(project, tmp_path):
    _check(project)
    (entry,) = (tmp_path / "cache" / "checks").glob("*.json")
    data = json.loads(entry.read_text())
    data["diagnostics"] = [{"path": "x", "line": 1, "col": 1, "code": "E301", "message": "m"}]
    entry.write_text(json.dumps(data))
    checked, hit = _check(project)
    assert not hit and checked.ok


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_validate_and_compile_fill_the_cache_that_run_reads(project, monkeypatch, command):
    from etlc_compiler.cli import main

    monkeypatch.chdir(project)
    assert main([command, "specs/"]) == 0   # a relative spelling of the spec's path
    spec = project / "specs" / "orders.yaml"
    checked, hit = check_cache.check_file(str(spec), project)   # `etlc run` spells it whole
    assert hit and checked.ok
    assert {d.path for d in checked.diagnostics} <= {str(spec)}
