"""`qualify:` in a real run: "newest row per key" as one step, on every engine, with the
rows hand-written DuckDB SQL keeps."""

from __future__ import annotations

import textwrap

import duckdb
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.local import run_pipeline

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: newest
    defaults: {engine: ENGINE, partitions: 3}
    datasets:
      src: {format: csv, path: in.csv, columns: {k: {type: string}, t: {type: int}, v: {type: int}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw:
        read: src
      newest:
        from: raw
        derive: {w: "v * 2"}
        qualify: "row_number() over (partition by k order by t desc) = 1 and w > 0"
        sort: [k]
      save: {from: newest, write: out, mode: overwrite}
    """)
ROWS = "k,t,v\na,1,5\na,3,7\nb,2,-1\nb,1,4\nc,9,1\n,4,2\n,5,3\nc,8,0\n"
ORACLE = ("SELECT k, t, v, v * 2 AS w FROM read_csv('{}', header = true) QUALIFY row_number() "
          "OVER (PARTITION BY k ORDER BY t DESC) = 1 AND v * 2 > 0 ORDER BY k NULLS LAST")


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_newest_row_per_key_is_one_step(tmp_path, engine):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text(ROWS)
    text = SPEC.replace("ENGINE", engine)
    (tmp_path / "s.yaml").write_text(text)
    checked = check_text(text, str(tmp_path / "s.yaml"))
    assert checked.ok, checked.diagnostics
    summary = run_pipeline(plan_checked(checked, tmp_path).pipeline_payload(),
                           project_root=str(tmp_path))
    assert summary["status"] == "success", summary.get("error")
    got = [tuple(r.values()) for r in pq.read_table(tmp_path / "out.parquet").to_pylist()]
    want = duckdb.connect().execute(ORACLE.format(tmp_path / "in.csv")).fetchall()
    assert got == want and len(want) == 3
