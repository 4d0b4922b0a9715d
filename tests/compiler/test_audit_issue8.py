"""Compile-time gaps found by the end-to-end audit of issue 8 (E317, file_name E205).

E317: a written dataset sharing a folder with the staging folder or with another written
dataset (an overwrite deleted the run's own staging, two datasets replaced each other), or
the path of a dataset of another format. Positions are checked, not wording.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from etlc_compiler import api

SPEC = """\
etlc: 1
pipeline: s
{staging}datasets:
  src:
    format: csv
    path: {src}
  a:
    format: {fmt}
    path: {a}
  b:
    format: csv
    path: {b}
steps:
  r:
    read: src
  wa:
    from: r
    write: a
    mode: overwrite
  wb:
    from: r
    write: b
    mode: overwrite
"""


@pytest.fixture
def proj(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name in ("ETLC_PROJECT_ROOT", "ETLC_WRITABLE_ROOTS", "ETLC_READABLE_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    return root


def e317(proj: Path, *, src="data/in.csv", a="out/a/", b="out/b/", fmt="csv", staging=""):
    path = proj / "specs" / "s.yaml"
    path.write_text(SPEC.format(src=src, a=a, b=b, fmt=fmt, staging=staging))
    return [(d.line, d.col) for d in api.check_file(path).diagnostics if d.code == "E317"]


@pytest.mark.parametrize("a, b, at", [
    ("out/x/", "out/x/", (12, 11)),           # two writes, one folder: at the later one
    ("out/", "out/x/", (12, 11)),             # one holds the other
    ("out/x/", "out/", (12, 11)),
    ("out/x.csv", "out/x.csv", (12, 11)),
    ('"out/{{ ds }}/"', "out/2025-01-01/", (12, 11)),   # a template renders onto the other
])
def test_two_written_datasets_sharing_a_folder(proj, a, b, at):
    assert e317(proj, a=a, b=b) == [at]


@pytest.mark.parametrize("a", [".etlc/staging/", ".etlc/", ".etlc/staging/s/"])
def test_a_written_dataset_on_the_default_staging_folder(proj, a):
    assert e317(proj, a=a) == [(9, 11)]


def test_a_written_dataset_on_the_declared_staging_folder(proj):
    assert e317(proj, a="out/shared/", staging="staging: {path: out/shared/stage/}\n") == [(3, 17)]


def test_a_written_dataset_at_a_read_datasets_path_in_another_format(proj):
    assert e317(proj, src="out/a/", a="out/a/", fmt="parquet") == [(9, 11)]


def test_what_stays_allowed(proj):
    assert e317(proj) == []
    assert e317(proj, src="out/a/", a="out/a/") == []                     # read, then replace
    assert e317(proj, a="out/a/", staging="staging: {path: stage/}\n") == []
    assert e317(proj, a="out/a/", staging="staging: {connection: lake, path: 's3://b/'}\n"
                "connections: {lake: minio}\n") == []


@pytest.mark.parametrize("name", ["../x-{i}.csv", "/tmp/x-{i}.csv", ".x-{i}.csv", "_x-{i}.csv",
                                  "a/b.csv", "a\\\\b.csv", "x.etlc-tmp-{i}.csv"])
def test_file_name_must_be_a_plain_name(proj, name):
    path = proj / "specs" / "f.yaml"
    path.write_text(textwrap.dedent(f"""\
        etlc: 1
        pipeline: f
        datasets:
          dst:
            format: csv
            path: out/dst/
            options: {{file_name: "{name}"}}
        steps:
          r:
            read: dst
        """))
    got = [(d.code, d.line, d.col) for d in api.check_file(path).diagnostics if d.code == "E205"]
    assert got == [("E205", 7, 26)]


def test_plain_file_names_pass(proj):
    path = proj / "specs" / "f.yaml"
    path.write_text('etlc: 1\npipeline: f\ndatasets:\n  dst:\n    format: csv\n    path: out/d/\n'
                    '    options: {file_name: "données-{i}.csv"}\nsteps:\n  r:\n    read: dst\n')
    assert not [d for d in api.check_file(path).diagnostics if d.severity == "error"]


CURL = """\
etlc: 1
pipeline: c
steps:
  a:
    operator: "airflow.providers.standard.operators.bash:BashOperator"
    args:
      bash_command: {command}
"""


@pytest.mark.parametrize("command, cols", [
    ('"curl -u admin:hunter2 https://x"', [27]),
    ("\"curl --user 'admin:hunter2' https://x && curl -uadmin:pw2 https://y\"", [27, 68]),
    ('"curl -u admin https://x"', []),                       # curl asks for the password
    ('"curl -u \\"$USER:$PASS\\" https://x"', []),            # references, not literals
    ('"curl -u admin:{{ ds }} https://x"', []),
    ('"curl -u : --negotiate https://x"', []),
    ('"curl https://x; sort -u a:b; ps -u root:x"', []),    # -u of another command
])
def test_curl_user_password_is_a_literal_secret(proj, command, cols):
    path = proj / "specs" / "c.yaml"
    path.write_text(CURL.format(command=command))
    got = [(d.code, d.line, d.col) for d in api.check_file(path).diagnostics if d.severity == "error"]
    assert got == [("E501", 7, c) for c in cols]


def test_an_operator_arg_named_dag_does_not_break_the_dag_file(proj, tmp_path):
    """`dag: nope` reached the operator call (dag='nope') and the DAG file failed to import;
    the task's DAG (like its task_id) is etlc's, so the arg is left out."""
    import ast
    import os
    import subprocess
    import sys

    (proj / "specs" / "d.yaml").write_text(textwrap.dedent("""\
        etlc: 1
        pipeline: d
        steps:
          a:
            operator: "airflow.providers.standard.operators.bash:BashOperator"
            args: {bash_command: "echo hi", dag: nope, task_id: other}
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow"), "ETLC_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "etlc_compiler.cli", "compile", "specs", "-o", "dags"],
                       cwd=proj, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    source = (proj / "dags" / "d.py").read_text(encoding="utf-8")
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
                and any(k.arg == "bash_command" for k in n.keywords))
    assert [k.arg for k in call.keywords].count("dag") == 0
    probe = ("from airflow.dag_processing.dagbag import DagBag\n"
             "b = DagBag('dags')\n"
             "assert not b.import_errors, b.import_errors\n"
             "print([(t.task_id, t.dag_id) for t in b.dags['d'].tasks])\n")
    r = subprocess.run([sys.executable, "-c", probe], cwd=proj, env=env, capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[('a', 'd')]"
