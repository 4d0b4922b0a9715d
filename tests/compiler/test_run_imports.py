"""What `etlc run` imports (issues 9 and 11: the fixed overhead). A duckdb pipeline: never
pandas; and once the spec's check verdict is cached, none of the validation's libraries
(the JSON Schema validator, the expression grammar's parser), no Airflow, no explain/convert
modules, no DAG file writer. A dask pipeline: the same skips once cached, and no other
engine's library. Each run is a fresh process, so ``sys.modules`` is that run's own imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb

from . import test_run_cli
from .test_run_cli import SPEC, read_out

project = test_run_cli.project   # the fixture: a project folder with the input CSV

DUCKDB_SPEC = SPEC.replace("params:", "defaults: {engine: duckdb}\nparams:", 1)
DASK_SPEC = SPEC.replace("params:", "defaults: {engine: dask}\nparams:", 1)

NEVER = ("pandas", "airflow", "dask", "polars")
CACHED_SKIPS = ("jsonschema_rs", "lark", "etlc_compiler.typing_pass", "etlc_compiler.explain",
                "etlc_compiler.convert", "etlc_compiler.generate")

SCRIPT = """\
import contextlib, io, json, sys
from etlc_compiler.cli import main
with contextlib.redirect_stderr(io.StringIO()) as err:
    rc = main(["run", sys.argv[1]])
print(json.dumps({"rc": rc, "err": err.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run(project) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(project / "tiny.yaml")],
                         capture_output=True, text=True, cwd=project, env=env, timeout=120,
                         check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["rc"] == 0, found["err"]
    return found


def _loaded(found: dict, names) -> list[str]:
    return [m for m in found["modules"] if m in names or m.split(".")[0] in names]


def test_duckdb_run_imports_no_pandas_and_skips_validation_when_cached(project):
    (project / "tiny.yaml").write_text(DUCKDB_SPEC)
    first = _run(project)   # checks the spec and caches the verdict
    assert _loaded(first, NEVER) == []
    assert "jsonschema_rs" in first["modules"]   # the check did run: the next one is a hit
    second = _run(project)
    assert _loaded(second, NEVER) == []
    assert _loaded(second, CACHED_SKIPS) == []
    assert "duckdb" in second["modules"]
    assert read_out(project) == _want(project)


def _want(project) -> list[tuple]:
    return duckdb.sql(f"select item, sum(qty * price), count(*) from "
                      f"read_csv_auto('{project}/in/items.csv') where qty >= 2 "
                      f"group by item order by item").fetchall()


def test_dask_run_skips_validation_when_cached(project):
    (project / "tiny.yaml").write_text(DASK_SPEC)
    first = _run(project)
    assert "jsonschema_rs" in first["modules"]   # the check did run: the next one is a hit
    second = _run(project)
    assert _loaded(second, ("airflow", "polars", "duckdb") + CACHED_SKIPS) == []
    assert "dask.dataframe" in second["modules"]
    assert read_out(project) == _want(project)
