"""The parallelism sweep (benchmarks/parallelism_sweep.py) cannot rot: its generator, one
configuration of each mode compiled with the real CLI and run under Airflow's `dag.test()`
(the `dask` engine inside a real Airflow task: its reads must not ship Airflow's task
instance in the Dask graph), the sweep's own row check and its reports. The loaded rows are
compared with an answer computed here from the CSV files with `decimal` (no etlc code).
No timing is asserted."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from airflow_support import DAGS_FOLDER, ROOT, load_dagbag, run_etlc
from test_airflow_run import LOGICAL

sys.path.insert(0, str(ROOT / "benchmarks"))
import parallelism_sweep as sweep
import sweep_pipeline as sp

ROWS = 600  # 12 files of 50 rows
CONFIG = (2, 3, 2)


def oracle(project: Path) -> dict[int, tuple]:
    """id -> (day, region, quantity, unit_price text, discount text, revenue) of the kept rows."""
    out = {}
    for path in sorted(sp.input_dir(project, ROWS).glob("*.csv")):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                q, p, d = int(r["quantity"]), Decimal(r["unit_price"]), Decimal(r["discount"])
                if q > 0 and d < Decimal("0.04"):
                    out[int(r["id"])] = (r["day"], r["region"], q, r["unit_price"], r["discount"],
                                         q * p * (1 - d))
    return out


def loaded(folder: Path) -> dict[int, tuple]:
    out = {}
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                assert int(r["id"]) not in out, f"id {r['id']} loaded twice"
                out[int(r["id"])] = (r["day"], r["region"], int(r["quantity"]), r["unit_price"],
                                     r["discount"], Decimal(r["revenue"]))
    return out


@pytest.fixture
def project(tmp_path, monkeypatch):
    proj = tmp_path / "sweep"
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(proj))
    monkeypatch.delenv("ETLC_DASK_SCHEDULER", raising=False)
    monkeypatch.setattr(sweep, "CHOSEN", [CONFIG])
    ids = [sp.pipeline_id(m, ROWS, *CONFIG) for m in sp.MODES]
    yield proj, ids
    for dag_id in ids:
        (DAGS_FOLDER / f"{dag_id}.py").unlink(missing_ok=True)


def test_one_configuration_of_each_mode_under_dag_test(project, airflow_db, tmp_path):
    proj, ids = project
    sweep.prepare(proj, [ROWS], list(sp.MODES), top=3)
    assert len(list(sp.input_dir(proj, ROWS).glob("*.csv"))) == sp.FILES
    assert sorted(p.stem for p in (proj / "dags").glob("sweep_*.py")) == sorted(ids)
    for dag_id in ids:
        shutil.copyfile(proj / "dags" / f"{dag_id}.py", DAGS_FOLDER / f"{dag_id}.py")
    bag = load_dagbag(DAGS_FOLDER)
    assert not bag.import_errors, bag.import_errors
    mapped = bag.dags[sp.pipeline_id("airflow", ROWS, *CONFIG)]
    for stage, count in zip(sp.STAGES, CONFIG):
        assert mapped.get_task(f"{stage}__partitions").expand_input.value == {"partition": list(range(count))}
    assert sorted(t.task_id for t in bag.dags[sp.pipeline_id("dask", ROWS, *CONFIG)].tasks) == sorted(sp.STAGES)

    instances = {}

    def under_dag_test(dag_id: str) -> dict:
        t0 = time.perf_counter()
        dr = load_dagbag(DAGS_FOLDER).dags[dag_id].test(logical_date=LOGICAL)
        states = {(ti.task_id, ti.map_index): str(getattr(ti.state, "value", ti.state))
                  for ti in dr.get_task_instances()}
        assert set(states.values()) == {"success"}, states
        instances[dag_id] = len(states)
        return {"wall_s": time.perf_counter() - t0, "tasks": len(states), "task_s": None}

    results = sweep.sweep(proj, [ROWS], list(sp.MODES), 3, 1, under_dag_test)
    assert instances == {ids[0]: 3, ids[1]: sum(CONFIG) + 3}  # dask: 3 tasks; airflow: mapped + commits
    assert {(r["mode"], r["e"], r["t"], r["l"]) for r in results} == {(m, *CONFIG) for m in sp.MODES}

    want = oracle(proj)
    assert len(want) == sp.expected_rows(proj, ROWS) > 0
    for mode in sp.MODES:
        got = loaded(sp.output_dir(proj, mode, ROWS, *CONFIG))
        assert got.keys() == want.keys(), mode
        for key, row in want.items():
            assert got[key][:5] == row[:5], (mode, key)
            assert float(got[key][5]) == pytest.approx(float(row[5]), rel=1e-12), (mode, key)

    sweep.write_csv(results, tmp_path / "results.csv")
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["mode"], r["e"], r["t"], r["l"]) for r in rows] == [(m, *map(str, CONFIG)) for m in sp.MODES]
    assert all(float(r["load"]) >= 0 for r in rows)  # each run's load average, beside its time
    table = sweep.markdown(results, [ROWS], list(sp.MODES), 3)
    assert "| 2 3 2 |" in table and f"| {sum(CONFIG) + 3} |" in table
    pytest.importorskip("matplotlib")
    pngs = sweep.heatmaps(results, [ROWS], list(sp.MODES), 3, tmp_path)
    assert [p.name for p in pngs] == [f"heatmap-{m}-r{ROWS}.png" for m in sp.MODES]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_specs_validate_for_every_configuration_of_the_full_grid(tmp_path):
    """All 125 --full configurations of both modes are valid specs (no diagnostics at all)."""
    specs = tmp_path / "specs"
    specs.mkdir()
    for mode in sp.MODES:
        for e, t, l in sweep.configurations(5):
            (specs / f"{sp.pipeline_id(mode, 10, e, t, l)}.yaml").write_text(sp.spec_text(mode, 10, e, t, l))
    done = run_etlc("validate", str(specs), "--strict", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == [], done.stdout
