"""Shared defaults: `defaults.yaml` per folder cascading to the specs below it, merged as
dag-factory merges its defaults files (differential against dag-factory's own merge functions),
errors positioned in the defaults file, part of the check cache's key, shown by `etlc explain`."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from etlc_compiler import check_cache, loader, shared_defaults
from etlc_compiler.api import check_file, spec_files
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: p
    start_date: 2025-01-01
    {extra}
    steps:
      op:
        operator: airflow.providers.standard.operators.empty:EmptyOperator
    """)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path / ".cache"))


def test_nearest_folder_wins_per_key_and_the_spec_wins_over_all(tmp_path):
    root = project(tmp_path, {
        "defaults.yaml": "owner: data-eng\ntags: [etl]\ncatchup: true\ndefaults: {retries: 3, pool: shared}\n",
        "specs/defaults.yml": "tags: [team]\ndefaults: {retries: 1, queue: q}\n",
        "specs/defaults.yaml": "owner: ignored   # defaults.yml is read first, as dag-factory does\n",
        "specs/p.yaml": SPEC.format(extra="catchup: false\ndefaults: {queue: mine}"),
    })
    checked = check_file(root / "specs" / "p.yaml")
    assert checked.ok, checked.diagnostics
    raw = checked.spec.raw
    assert raw["owner"] == "data-eng" and raw["catchup"] is False and raw["tags"] == ["etl", "team"]
    assert raw["defaults"] == {"queue": "mine", "retries": 1, "pool": "shared"}
    assert checked.spec.defaults["retries"] == 1


def test_folders_above_the_project_root_and_beside_the_spec_do_not_count(tmp_path):
    (tmp_path / "defaults.yaml").write_text("owner: outside\n")
    root = project(tmp_path / "proj", {"other/defaults.yaml": "owner: sibling\n",
                                       "specs/p.yaml": SPEC.format(extra="")})
    assert shared_defaults.chain(root / "specs" / "p.yaml") == []
    assert "owner" not in check_file(root / "specs" / "p.yaml").spec.raw


def test_spec_folders_skip_defaults_files(tmp_path):
    root = project(tmp_path, {"specs/defaults.yaml": "owner: a\n", "specs/p.yaml": SPEC.format(extra=""),
                              "specs/sub/q.yaml": SPEC.format(extra=""), "other/r.yaml": SPEC.format(extra="")})
    assert [f.name for f in spec_files([root / "specs"])[0]] == ["p.yaml", "q.yaml"]
    # a defaults file given itself (a pre-commit hook's changed file) stands for the specs below it
    assert [f.name for f in spec_files([root / "specs" / "defaults.yaml"])[0]] == ["p.yaml", "q.yaml"]


def codes(checked) -> list[tuple[str, str, int, int]]:
    return [(Path(d.path).name, d.code, d.line, d.col) for d in checked.diagnostics]


def test_errors_are_positioned_in_the_defaults_file(tmp_path):
    root = project(tmp_path, {"defaults.yaml": "owner: x\nsteps: {}\ndefaults:\n  retries: many\n",
                              "specs/p.yaml": SPEC.format(extra="")})
    assert codes(check_file(root / "specs" / "p.yaml")) == [("defaults.yaml", "E201", 2, 1),
                                                             ("defaults.yaml", "E203", 4, 12)]
    # a value that passes the schema but not a later check: still at its place in defaults.yaml
    (root / "defaults.yaml").write_text("schedule: {cron: '0 6 * * *', timezone: Europe/Pariss}\n"
                                        "on_failure_callback: os:system\n")
    assert codes(check_file(root / "specs" / "p.yaml")) == [("defaults.yaml", "E330", 1, 41),
                                                             ("defaults.yaml", "E332", 2, 22)]


def test_validate_reports_a_shared_error_once(tmp_path):
    root = project(tmp_path, {"specs/defaults.yaml": "retries: 1\n",
                              "specs/a.yaml": SPEC.format(extra=""),
                              "specs/b.yaml": SPEC.format(extra="").replace("pipeline: p", "pipeline: q")})
    result = run_cli("validate", "specs", "--format", "json", cwd=root)
    found = json.loads(result.stdout)
    assert result.returncode == 1
    assert [(Path(d["path"]).name, d["code"], d["line"], d["col"]) for d in found] == [("defaults.yaml", "E201", 1, 1)]


def test_a_changed_defaults_file_invalidates_the_cached_verdict(tmp_path):
    root = project(tmp_path, {"defaults.yaml": "defaults: {retries: 2}\n", "specs/p.yaml": SPEC.format(extra="")})
    spec = root / "specs" / "p.yaml"
    first, cached = check_cache.check_file(spec, root)
    assert first.ok and not cached and first.spec.defaults["retries"] == 2
    assert check_cache.check_file(spec, root)[1]             # unchanged: from the cache
    (root / "defaults.yaml").write_text("defaults: {retries: 5}\n")
    again, cached = check_cache.check_file(spec, root)
    assert not cached and again.spec.defaults["retries"] == 5
    (root / "specs" / "defaults.yaml").write_text("defaults: {retries: -1}\n")   # a new, nearer file
    worse, cached = check_cache.check_file(spec, root)
    assert not cached and codes(worse) == [("defaults.yaml", "E206", 1, 21)]


def test_explain_names_each_value_and_its_origin(tmp_path):
    root = project(tmp_path, {"defaults.yaml": "owner: data-eng\ndefaults:\n  retries: 3\n  pool: shared\n",
                              "specs/p.yaml": SPEC.format(extra="defaults: {retries: 1}")})
    result = run_cli("explain", "specs/p.yaml", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["owner"] == {"key": "owner", "value": "data-eng", "source": "defaults",
                             "file": "defaults.yaml", "line": 1, "col": 1}
    assert rows["defaults.pool"] | {} == {"key": "defaults.pool", "value": "shared", "source": "defaults",
                                          "file": "defaults.yaml", "line": 4, "col": 3}
    assert rows["defaults.retries"] == {"key": "defaults.retries", "value": 1, "source": "spec",
                                        "file": "specs/p.yaml", "line": 4, "col": 12}
    assert rows["start_date"]["source"] == "spec" and rows["start_date"]["line"] == 3
    assert rows["catchup"] == {"key": "catchup", "value": False, "source": "default",
                               "file": None, "line": None, "col": None}
    text = run_cli("explain", "specs/p.yaml", cwd=root).stdout
    assert any(line.split()[:3] == ["defaults.pool", "=", '"shared"'] and line.endswith("defaults.yaml:4")
               for line in text.splitlines())
    bad = run_cli("explain", "specs/p.yaml", cwd=project(tmp_path, {"defaults.yaml": "steps: 1\n"}))
    assert bad.returncode == 1 and "defaults.yaml:1:1: error[E201]" in bad.stderr


# dag-factory's own merge (its defaults files, then the DAG's config over them) as the model
names = st.sampled_from(["a", "b"])
setting = st.dictionaries(st.sampled_from(["retries", "pool", "queue"]), st.integers(0, 5) | names, max_size=3)
level = st.fixed_dictionaries({}, optional={
    "owner": names, "tags": st.lists(names, unique=True, max_size=2),
    "schedule": names.map(lambda n: f"@{'daily' if n == 'a' else 'hourly'}")
    | st.fixed_dictionaries({}, optional={"cron": st.just("0 6 * * *"), "timezone": st.just("UTC")}),
    "defaults": setting})


@settings(max_examples=80, deadline=None)
@given(st.lists(level, max_size=3), level)
def test_merge_is_dag_factorys(shared, spec):
    from dagfactory import utils
    from dagfactory.dagfactory import _DagFactory as DagFactory

    def as_df(d):   # dag-factory spells `defaults:` as `default_args`
        return {("default_args" if k == "defaults" else k): copy.deepcopy(v) for k, v in d.items()}

    configs = [as_df(d) for d in shared]
    default = {"default_args": DagFactory._merge_default_args_from_list_configs(configs),
               **DagFactory._merge_dag_args_from_list_configs(configs)}
    want = utils.merge_configs(as_df(spec), default)
    files = [loader.load(yaml.safe_dump(d) if d else "{}", f"d{i}.yaml")[0] for i, d in enumerate(shared)]
    data, origin = shared_defaults._merge_files(files)
    got = shared_defaults._deep_merge(copy.deepcopy(spec), data, origin, (), {})
    if "default_args" in want and not want["default_args"] and "defaults" not in got:
        del want["default_args"]   # dag-factory always has default_args, if empty
    assert as_df(got) == want


