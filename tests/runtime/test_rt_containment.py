"""Containment at run time: every local path a spec, a param or a macro produces is judged by
paths.ensure_writable / ensure_readable (R010) before anything is read, written or removed.

The project root is tmp_path/proj; tmp_path/outside holds a file that every refused run must
leave untouched, which each test asserts by listing the folder before and after.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from etlc_runtime import executor, io_read, io_write, paths, templating
from etlc_runtime.errors import StepError, UnsafePath
from etlc_runtime.local import run_pipeline
from rt_helpers import task_plan

FRAME = pd.DataFrame({"region": ["north", "south"], "amount": [1.5, 2.0]})


def listing(folder: Path) -> list[tuple[str, bytes | None]]:
    """Every entry under folder (files with their bytes), for before/after comparisons."""
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes() if p.is_file() else None)
                  for p in folder.rglob("*"))


@pytest.fixture
def outside(project) -> Path:
    folder = project.parent / "outside"
    folder.mkdir()
    (folder / "keep.csv").write_text("region,amount\nwest,9\n")
    (folder / "deep").mkdir()
    (folder / "deep" / "keep.txt").write_text("precious")
    return folder


@pytest.fixture
def home(project, monkeypatch) -> Path:
    folder = project.parent / "home"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(folder))
    return folder


def declare(project: Path, text: str) -> None:
    with open(project / "pyproject.toml", "a") as fh:
        fh.write("\n[tool.etlc]\n" + textwrap.dedent(text))


def write(project: Path, path: str, mode: str = "overwrite", run_id: str = "manual__1",
          params: dict | None = None):
    values = templating.macros(run_id, "2025-01-02", params or {})
    return io_write.write_dataset(FRAME, {"format": "csv", "path": path}, mode, values, project,
                                  "date_2025-01-02")


UNSAFE_WRITES = [
    "./", ".", "{{{{ params.empty }}}}", "../", "..", "../outside/", "../outside", "../outside/deep/",
    "data/../../outside/", "{abs_outside}", "{abs_outside}/deep/", "/", "~", "~/",
    "~/notes/", "file:/", "file:///etc", "file:../outside/", "file://{abs_outside}",
    "../outside/{{{{ ds }}}}/", "{{{{ params.target }}}}/",
]

UNSAFE_PARAMS = {"target": "../../outside", "empty": ""}


@pytest.mark.parametrize("text", UNSAFE_WRITES)
def test_unsafe_writes_are_refused_and_touch_nothing(project, outside, home, text):
    text = text.format(abs_outside=outside)
    before = (listing(outside), listing(project), listing(home))
    with pytest.raises(UnsafePath) as caught:
        write(project, text, params=UNSAFE_PARAMS)
    assert caught.value.code == "R010" and caught.value.access == "write"
    assert "R010" in str(caught.value) and caught.value.reason
    for mode in ("append",):   # every mode is judged before any file work
        with pytest.raises(UnsafePath):
            write(project, text if text.endswith("/") else text + "/", mode=mode,
                  params=UNSAFE_PARAMS)
    assert (listing(outside), listing(project), listing(home)) == before


def test_refusal_reasons(project, outside, home):
    roots = paths.project_roots(project)
    reason = {t: paths.write_problem(paths.local_path(t, project), roots)
              for t in ("./", "../", "/", "~", "../outside/x/")}
    assert reason["./"].startswith("is the project root")
    assert reason["../"].startswith("holds the project root")
    assert reason["/"] == "is the file system root /"
    assert reason["~"] == "is a home folder"
    assert "outside the project root" in reason["../outside/x/"]
    assert paths.write_problem(project / "data" / "out", roots) is None


def test_root_user_home_and_folders_holding_a_home_are_refused(project):
    roots = paths.project_roots(project)
    root_home = Path(os.path.realpath(os.path.expanduser("~root")))
    assert paths.write_problem(root_home, roots) == "is a home folder"
    assert paths.write_problem(root_home.parent, roots) in ("holds a home folder",
                                                            "is the file system root /")


def test_project_root_slash_allows_only_declared_roots(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    with pytest.raises(UnsafePath, match="project root / is / or holds home folders"):
        paths.ensure_writable(tmp_path / "x", "/")
    monkeypatch.setenv(paths.ENV_WRITABLE, str(lake))
    assert paths.ensure_writable(lake / "x", "/") == lake.resolve() / "x"
    with pytest.raises(UnsafePath):
        paths.ensure_writable(tmp_path / "x", "/")


def test_project_root_holding_a_home_folder_counts_for_nothing(project, monkeypatch):
    monkeypatch.setenv("HOME", str(project / "someone"))
    with pytest.raises(UnsafePath, match="holds home folders"):
        write(project, "data/out/")
    with pytest.raises(UnsafePath):
        paths.ensure_readable(project / "data" / "in.csv", project)


def test_safe_write_inside_the_project_succeeds(project, outside):
    out = write(project, "data/out/sales/")
    assert Path(out["path"]) == (project / "data" / "out" / "sales").resolve()
    assert sorted(p.name for p in (project / "data" / "out" / "sales").iterdir())


def test_symlink_inside_the_root_pointing_outside_is_refused(project, outside):
    (project / "link").symlink_to(outside, target_is_directory=True)
    (project / "data").mkdir()
    (project / "data" / "evil.csv").symlink_to(outside / "keep.csv")
    before = listing(outside)
    for text in ("link/", "link/deep/", "link/new/", "data/evil.csv"):
        with pytest.raises(UnsafePath, match="symlink"):
            write(project, text)
    values = templating.macros("r", "2025-01-02")
    for text in ("link/keep.csv", "data/evil.csv", "data/*.csv", "link/"):
        with pytest.raises(UnsafePath) as caught:
            io_read.read_dataset({"format": "csv", "path": text}, values, project)
        assert caught.value.access == "read"
    assert listing(outside) == before


def test_declared_writable_roots(project, outside, monkeypatch, tmp_path):
    lake, env_lake = tmp_path / "lake", tmp_path / "env_lake"
    declare(project, 'writable_roots = ["../lake"]\n')
    monkeypatch.setenv(paths.ENV_WRITABLE, os.pathsep.join([str(env_lake), "relative/ignored"]))
    roots = paths.project_roots(project)
    assert roots.writable == (lake.resolve(), env_lake.resolve())
    write(project, "../lake/sales/")
    write(project, f"{env_lake}/sales.csv")
    assert (lake / "sales").is_dir() and (env_lake / "sales.csv").is_file()
    for text in ("../lake/", str(env_lake), "../outside/"):
        with pytest.raises(UnsafePath):
            write(project, text)
    # a root too wide to declare is ignored, so nothing under it becomes writable
    declare(project, "")
    (project / "pyproject.toml").write_text(
        "[tool.etlc]\nwritable_roots = [\"/\", \"" + str(Path.home()) + "\"]\n")
    monkeypatch.delenv(paths.ENV_WRITABLE)
    assert paths.project_roots(project).writable == ()


def test_declared_readable_roots(project, outside):
    values = templating.macros("r", "2025-01-02")
    source = {"format": "csv", "path": "../outside/*.csv"}
    with pytest.raises(UnsafePath):
        io_read.read_dataset(source, values, project)
    declare(project, 'readable_roots = ["../outside"]\n')
    frame = io_read.read_dataset(source, values, project)
    assert frame["region"].tolist() == ["west"]
    before = listing(outside)
    with pytest.raises(UnsafePath):        # readable is not writable
        write(project, "../outside/new/")
    assert listing(outside) == before


DATASETS = {"src": {"format": "csv", "path": "data/in.csv"},
            "dst": {"format": "csv", "path": "out/{{ params.target }}/"},
            "by_run": {"format": "csv", "path": "out/{{ run_id }}/x/"}}


def _copy_plan(target_ds: str, **kw):
    return task_plan([{"name": "raw", "read": "src"},
                      {"name": "save", "from": "raw", "write": target_ds, "mode": "overwrite"}],
                     DATASETS, params={"target": {"type": "string", "default": "ok"}}, **kw)


@pytest.fixture
def source(project):
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text("region,amount\nnorth,1\n")


def test_param_without_enum_escaping_at_run_time_is_refused(project, outside, source):
    before = listing(outside)
    with pytest.raises(StepError) as caught:
        executor.run_task(_copy_plan("dst"), {"run_id": "manual__1",
                                              "params": {"target": "../../outside"}})
    assert isinstance(caught.value.cause, UnsafePath) and caught.value.step == "save"
    assert "R010" in str(caught.value)
    assert listing(outside) == before
    executor.run_task(_copy_plan("dst"), {"run_id": "manual__1", "params": {"target": "fine"}})
    assert (project / "out" / "fine").is_dir()


def test_macro_rendering_outside_is_refused(project, outside, source):
    before = listing(outside)
    with pytest.raises(StepError) as caught:
        executor.run_task(_copy_plan("by_run"), {"run_id": "../../outside"})
    assert isinstance(caught.value.cause, UnsafePath)
    assert listing(outside) == before


def test_staging_outside_the_project_is_refused(project, outside, source):
    plan = task_plan([{"name": "raw", "read": "src"}], DATASETS, output="raw",
                     staging="../outside/stage")
    before = listing(outside)
    with pytest.raises((StepError, UnsafePath)) as caught:
        executor.run_task(plan, {"run_id": "manual__1"})
    refusal = getattr(caught.value, "cause", None) or caught.value
    assert isinstance(refusal, UnsafePath) and refusal.what == "staging"
    assert listing(outside) == before


SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: dot
    datasets:
      src:
        format: csv
        path: data/in.csv
        columns: {region: {type: string}, amount: {type: float}}
      out:
        format: csv
        path: "./"
    steps:
      raw:
        read: src
      save:
        from: raw
        write: out
        mode: overwrite
    """)


def test_overwrite_dot_path_does_not_replace_project_root(project, source, monkeypatch):
    """The reported bug: `path: "./"` with `mode: overwrite` replaced the whole project root
    with one CSV file. The compiler refuses it (E315 at the path); forced past the compiler,
    the runtime refuses it (R010) and every project file stays as it was."""
    from etlc_compiler import api
    from etlc_compiler.compile import plan_checked

    spec = project / "specs" / "dot.yaml"
    spec.write_text(SPEC)
    monkeypatch.delenv("ETLC_PROJECT_ROOT")      # the compiler finds the root from the spec
    checked = api.check_file(spec)
    first = checked.diagnostics[0]
    assert (first.code, first.line, first.col) == ("E315", 10, 11)
    assert not checked.ok

    spec.write_text(SPEC.replace('path: "./"', "path: out/"))
    forced = api.check_file(spec)
    assert forced.ok, forced.diagnostics
    payload = plan_checked(forced, project).pipeline_payload()
    for task in payload["tasks"]:
        if "out" in (task.get("datasets") or {}):
            task["datasets"]["out"]["path"] = "./"
    before = listing(project)
    summary = run_pipeline(payload, project_root=str(project))
    assert summary["status"] == "failed"
    assert isinstance(summary["error"].cause, UnsafePath) and "R010" in str(summary["error"])
    assert listing(project) == before
    assert (project / "pyproject.toml").is_file() and (project / "data" / "in.csv").is_file()
