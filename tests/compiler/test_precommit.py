"""The real pre-commit tool runs our hooks from .pre-commit-hooks.yaml on a temporary repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, VALID

pytestmark = pytest.mark.timeout(900)


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@e"})


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """A snapshot of this checkout as a git repository, so pre-commit can clone it at a rev."""
    src = tmp_path_factory.mktemp("hookrepo") / "etlc"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", ".etlc", "data", "__pycache__",
                                                             "*.egg-info", ".pytest_cache", ".hypothesis"))
    git(src, "init", "-q")
    git(src, "add", "-A")
    git(src, "commit", "-qm", "snapshot")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True).stdout.strip()
    return src, rev


def pre_commit(project, home):
    exe = Path(sys.executable).with_name("pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([str(exe), "run", "--all-files", "--color", "never"], cwd=project, capture_output=True,
                          text=True, env=env, timeout=900)


def test_hook_passes_valid_and_fails_invalid_spec(hook_repo, tmp_path):
    src, rev = hook_repo
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "orders.yaml").write_text(VALID)
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {src}\n    rev: {rev}\n    hooks:\n      - id: etlc-validate\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    home = tmp_path / "pre-commit-home"
    ok = pre_commit(project, home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "etlc validate" in ok.stdout and "Passed" in ok.stdout

    (project / "specs" / "orders.yaml").write_text(VALID.replace("read: orders", "read: ordrs"))
    git(project, "add", "-A")
    bad = pre_commit(project, home)
    assert bad.returncode == 1
    assert "Failed" in bad.stdout
    assert "specs/orders.yaml:" in bad.stdout and "error[E302]" in bad.stdout


def test_compile_check_hook(hook_repo, tmp_path):
    src, rev = hook_repo
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "orders.yaml").write_text(VALID)
    (project / "pyproject.toml").write_text("[tool.etlc]\noutput = 'dags'\n")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {src}\n    rev: {rev}\n    hooks:\n      - id: etlc-compile-check\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    home = tmp_path / "pre-commit-home"
    missing = pre_commit(project, home)
    assert missing.returncode == 1
    assert "dags/orders_daily.py: missing" in missing.stdout

    from etlc_compiler.cli import main

    assert main(["compile", str(project / "specs")]) == 0
    assert (project / "dags" / "orders_daily.py").is_file()
    git(project, "add", "-A")
    fresh = pre_commit(project, home)
    assert fresh.returncode == 0, fresh.stdout
