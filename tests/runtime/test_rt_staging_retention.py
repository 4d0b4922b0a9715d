"""Staging retention and `etlc clean` (issue 8): successful runs leave no staging beyond the
retention, failed runs keep theirs, and only etlc's folders are ever removed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from etlc_runtime import retention, staging

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: staged
    datasets:
      src:
        format: csv
        path: in/items.csv
        columns: {item: {type: string}, qty: {type: int}}
      out:
        format: csv
        path: out/items.csv
    steps:
      raw:
        read: src
      kept:
        from: raw
        task: own
        filter: "qty >= 1"
        checks:
          expect: ["qty < 100"]
      save:
        from: kept
        write: out
        mode: overwrite
    """)
DAY = dt.timedelta(days=1)


def etlc(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    return subprocess.run([sys.executable, "-m", "etlc_compiler.cli", *args], check=False, cwd=cwd,
                          env={**clean_env, **(env or {})}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def proj(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(retention.ENV, raising=False)
    root = tmp_path / "proj"
    (root / "in").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in" / "items.csv").write_text("item,qty\na,1\nb,2\nc,0\n")
    (root / "staged.yaml").write_text(SPEC)
    return root


def runs_of(root: Path) -> list[Path]:
    return sorted(r.path for r in retention.find_runs(root / ".etlc" / "staging"))


def frame(n=3):
    return pd.DataFrame({"id": pd.array(range(n), dtype="Int64")})


def stage(base: Path, pipeline: str, run_id: str, step: str = "s") -> Path:
    folder = staging.step_dir(base, pipeline, run_id, step)
    staging.write_stage(frame(), folder, meta={"pipeline": pipeline, "run_id": run_id,
                                               "step": step})
    return folder.parent


def age(path: Path, by: dt.timedelta) -> None:
    """Make everything under ``path`` look last written ``by`` ago."""
    when = (dt.datetime.now(dt.UTC) - by).timestamp()
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(folder, name), (when, when))
    os.utime(path, (when, when))


# -- settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [("0", 0), (0, 0), ("90s", 90), ("30m", 1800),
                                                ("12h", 43200), ("7d", 604800), ("2w", 1209600)])
def test_durations(text, seconds):
    assert retention.parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7x", "-1d", "d", "1.5h", True, None, "7 days"])
def test_bad_durations_carry_their_code(text):
    with pytest.raises(retention.RetentionError) as info:
        retention.parse_duration(text, "ETLC_STAGING_RETENTION")
    assert info.value.code == "R020" and str(info.value).startswith("R020 ETLC_STAGING_RETENTION")


def test_retention_comes_from_the_environment_then_pyproject(proj, monkeypatch):
    default = retention.configured(proj)
    assert (default.after_success, default.idle) == (dt.timedelta(0), 7 * DAY)
    (proj / "pyproject.toml").write_text("[tool.etlc]\nstaging_retention = '3d'\n")
    assert retention.configured(proj).after_success == 3 * DAY
    monkeypatch.setenv(retention.ENV, "2h")
    got = retention.configured(proj)
    assert got.after_success == dt.timedelta(hours=2)
    assert got.idle == DAY                       # runs whose end etlc did not see: >= 1 day
    monkeypatch.setenv(retention.ENV, "soon")
    with pytest.raises(retention.RetentionError):
        retention.configured(proj)


# -- which folders are etlc's -------------------------------------------------------------

def test_staged_runs_carry_a_marker_and_user_folders_are_not_runs(tmp_path):
    base = tmp_path / "st"
    run_dir = stage(base, "p", "manual__2025-01-02T00:00:00+00:00")
    marker = json.loads((run_dir / retention.RUN_MARKER).read_text())
    assert marker["status"] == "running" and marker["run_id"].startswith("manual__")
    (base / "p" / "mine").mkdir()
    (base / "p" / "mine" / "notes.txt").write_text("keep me")
    (base / "p" / "empty").mkdir()
    (base / "notes.txt").write_text("keep me too")
    assert [r.path for r in retention.find_runs(base)] == [run_dir]


def test_runs_staged_before_markers_are_recognised_by_their_manifests(tmp_path):
    base = tmp_path / "st"
    run_dir = stage(base, "p", "r1")
    (run_dir / retention.RUN_MARKER).unlink()
    assert retention.staging_run(run_dir).status == "unknown"
    (run_dir / "stray.txt").write_text("x")         # then nothing proves it is etlc's
    assert retention.staging_run(run_dir) is None


def test_a_marker_of_another_run_proves_nothing(tmp_path):
    base = tmp_path / "st"
    run_dir = stage(base, "p", "r1")
    os.rename(run_dir, base / "p" / "r2")
    assert retention.staging_run(base / "p" / "r2") is None


# -- sweeps -----------------------------------------------------------------------------

def test_sweep_removes_only_expired_runs(tmp_path):
    base = tmp_path / "st"
    policy = retention.Retention(dt.timedelta(hours=1), 2 * DAY, "test")
    done_old, done_new, idle_old, idle_new, current = (
        stage(base, "p", name) for name in ("done_old", "done_new", "idle_old", "idle_new", "cur"))
    for run_dir in (done_old, done_new):
        retention.mark_run(run_dir, "p", run_dir.name, "success")
    age(done_old, dt.timedelta(hours=2))
    age(idle_new, DAY)
    age(idle_old, 3 * DAY)
    age(current, 3 * DAY)
    (base / "p" / "mine").mkdir()
    removed = retention.sweep(base, "p", policy, keep=["cur"])
    assert sorted(r.path.name for r in removed) == ["done_old", "idle_old"]
    assert sorted(p.name for p in (base / "p").iterdir()) == ["cur", "done_new", "idle_new",
                                                              "mine"]


def test_a_later_task_removes_expired_runs_of_its_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(tmp_path))
    base = tmp_path / "st"
    old, other_pipeline = stage(base, "p", "old"), stage(base, "q", "old")
    age(old, 8 * DAY)
    age(other_pipeline, 8 * DAY)
    stage(base, "p", "new")
    assert [r.path.name for r in retention.find_runs(base, "p")] == ["new"]
    assert retention.find_runs(base, "q")            # another pipeline's: not this task's


# -- etlc run ---------------------------------------------------------------------------

def test_a_successful_run_leaves_no_staging(proj):
    r = etlc("run", "staged.yaml", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert (proj / "out" / "items.csv").read_text().splitlines() == ["item,qty", "a,1", "b,2"]
    assert runs_of(proj) == []
    assert not any((proj / ".etlc" / "staging").rglob("*.parquet"))


def test_a_successful_run_keeps_its_staging_for_the_retention(proj):
    (proj / "pyproject.toml").write_text("[project]\nname = 'p'\n\n[tool.etlc]\n"
                                         "staging_retention = '7d'\n")
    r = etlc("run", "staged.yaml", cwd=proj)
    assert r.returncode == 0, r.stderr
    [kept] = retention.find_runs(proj / ".etlc" / "staging")
    assert kept.status == "success"
    assert sorted(p.name for p in kept.path.iterdir()) == [retention.RUN_MARKER, "kept", "raw"]
    r = etlc("run", "staged.yaml", cwd=proj, env={retention.ENV: "0"})   # the env wins
    assert r.returncode == 0, r.stderr
    assert runs_of(proj) == []


def test_a_failed_run_keeps_its_staging_for_inspection(proj):
    (proj / "staged.yaml").write_text(SPEC.replace("qty < 100", "qty < 2"))
    r = etlc("run", "staged.yaml", cwd=proj)
    assert r.returncode == 1
    [kept] = retention.find_runs(proj / ".etlc" / "staging")
    assert kept.status == "failed"
    assert staging.read_stage(kept.path / "raw")["qty"].tolist() == [1, 2, 0]
    r = etlc("run", "staged.yaml", cwd=proj)           # a later failed run keeps it too
    assert r.returncode == 1 and len(runs_of(proj)) == 2


# -- etlc clean -------------------------------------------------------------------------

def leftovers(proj: Path) -> dict[str, Path]:
    """A failed run's staging, a temporary and user files, in the project's staging root."""
    (proj / "staged.yaml").write_text(SPEC.replace("qty < 100", "qty < 2"))
    assert etlc("run", "staged.yaml", cwd=proj).returncode == 1
    base = proj / ".etlc" / "staging"
    [run] = retention.find_runs(base)
    tmp = base / "staged" / ".out.etlc-tmp-0123abcd"
    tmp.mkdir()
    (tmp / "part-00000.parquet").write_bytes(b"x" * 1000)
    (base / "README.txt").write_text("a user's file")
    (base / "staged" / "mine").mkdir()
    (base / "staged" / "mine" / "data.csv").write_text("a,b\n")
    return {"run": run.path, "tmp": tmp, "user_file": base / "README.txt",
            "user_dir": base / "staged" / "mine" / "data.csv"}


def test_clean_removes_only_etlcs_folders(proj):
    paths = leftovers(proj)
    size = retention.size_of(paths["run"]) + 1000
    r = etlc("clean", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert not paths["run"].exists() and not paths["tmp"].exists()
    assert paths["user_file"].read_text() == "a user's file"
    assert paths["user_dir"].read_text() == "a,b\n"
    assert str(paths["run"]) in r.stdout and str(paths["tmp"]) in r.stdout
    assert f"freed {size} bytes" in r.stdout
    again = etlc("clean", str(proj / "staged.yaml"), cwd=proj.parent)
    assert again.returncode == 0 and "removed 0 items, freed 0 bytes" in again.stdout


def test_clean_dry_run_removes_nothing(proj):
    paths = leftovers(proj)
    r = etlc("clean", "--dry-run", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert paths["run"].is_dir() and paths["tmp"].is_dir()
    assert f"would remove staging run {paths['run']}" in r.stdout


def test_clean_older_than_keeps_recent_leftovers(proj):
    paths = leftovers(proj)
    r = etlc("clean", "--older-than", "1d", str(proj), cwd=proj.parent)
    assert r.returncode == 0 and paths["run"].is_dir() and paths["tmp"].is_dir()
    age(paths["run"], 2 * DAY)
    r = etlc("clean", "--older-than", "1d", str(proj), cwd=proj.parent)
    assert r.returncode == 0, r.stderr
    assert not paths["run"].exists() and paths["tmp"].is_dir()


def test_clean_reads_the_specs_staging_path(proj):
    (proj / "staged.yaml").write_text(SPEC.replace("qty < 100", "qty < 2")
                                      + "staging: {path: work/stage}\n")
    assert etlc("run", "staged.yaml", cwd=proj).returncode == 1
    [run] = retention.find_runs(proj / "work" / "stage")
    r = etlc("clean", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert not run.path.exists() and (proj / "work" / "stage").is_dir()


@pytest.mark.parametrize("args", [["--older-than", "soon"], ["no/such/spec.yaml"]])
def test_clean_usage_errors(proj, args):
    r = etlc("clean", *args, cwd=proj)
    assert r.returncode == 2
    assert r.stderr.startswith("etlc clean: ") and "Traceback" not in r.stderr


def test_clean_rolls_a_committed_dataset_write_forward_instead_of_deleting_it(proj):
    """A file dataset in the staging root, killed after its commit point: the journal names
    the new version, so clean finishes that commit (the commit protocol's recovery)."""
    parent = proj / ".etlc" / "staging" / "data"
    (parent / "out").mkdir(parents=True)
    (parent / "out" / "part-0.csv").write_text("old\n")
    new = parent / ".out.etlc-tmp-00aa"
    new.mkdir()
    (new / "part-0.csv").write_text("new\n")
    st = new.stat()
    (parent / ".out.etlc-commit-00aa.json").write_text(json.dumps(
        {"new": new.name, "dev": st.st_dev, "ino": st.st_ino, "token": "00aa"}))
    (parent / ".out.etlc-old-00bb").mkdir()              # an earlier attempt's leftover
    r = etlc("clean", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert (parent / "out" / "part-0.csv").read_text() == "new\n"
    assert sorted(p.name for p in parent.iterdir()) == ["out"]
