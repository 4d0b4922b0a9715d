"""Helpers of the Airflow tests: an Airflow home in a temporary folder (set before anything
imports airflow), the real `etlc` CLI, and the compiler's plan for a spec.

Imported by conftest.py first. The database (sqlite) is created once per session, and only
when a test needs it (dag.test()); DagBag imports need none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _airflow_home() -> Path:
    home = os.environ.get("ETLC_TEST_AIRFLOW_HOME")
    if not home:
        home = tempfile.mkdtemp(prefix="etlc-airflow-")
        os.environ["ETLC_TEST_AIRFLOW_HOME"] = home
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(home) / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    (Path(home) / "dags").mkdir(parents=True, exist_ok=True)
    return Path(home)


AIRFLOW_HOME = _airflow_home()
DAGS_FOLDER = AIRFLOW_HOME / "dags"


def etlc_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("etlc")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "etlc_compiler.cli"]


def run_etlc(*args: str, cwd: Path | str = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*etlc_cmd(), *args], cwd=str(cwd), env={**os.environ, "NO_COLOR": "1", **(env or {})},
                          capture_output=True, text=True, timeout=180, check=False)


def migrate_db() -> None:
    """`airflow db migrate` into the session's sqlite file (a few seconds), once."""
    if (AIRFLOW_HOME / "airflow.db").is_file() and (AIRFLOW_HOME / ".migrated").is_file():
        return
    exe = Path(sys.executable).with_name("airflow")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "airflow"]
    r = subprocess.run([*cmd, "db", "migrate"], env=dict(os.environ), capture_output=True, text=True, timeout=300, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    (AIRFLOW_HOME / ".migrated").write_text("ok")


def plan_for(spec: Path, root: Path):
    """The compiler's Plan for a spec file (what the generated file renders)."""
    from etlc_compiler import compile as compile_mod
    from etlc_compiler.api import check_file

    checked = check_file(spec)
    assert checked.ok, [str(d) for d in checked.diagnostics]
    return compile_mod.plan_checked(checked, root)


def load_dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))
