"""The dask-cuda engine on a GPU machine (skipped, with the reason, elsewhere: R050 says what
is missing).  scripts/gpu_check.sh runs this file and the GPU benchmark in one go."""

from __future__ import annotations

import pytest
from etlc_runtime import executor
from etlc_runtime.engines.dask import cluster
from etlc_runtime.errors import EngineNotAvailable
from rt_helpers import task_plan
from test_engine_boundary import CHAIN, DATASETS, EXPECTED, _output, src  # noqa: F401

try:
    cluster.require_gpu()
except EngineNotAvailable as exc:
    pytest.skip(str(exc), allow_module_level=True)


def test_a_chain_on_dask_cuda_gives_the_pandas_output(src):  # noqa: F811
    plan = task_plan(CHAIN, DATASETS, engine="dask-cuda", partitions=2)
    result = executor.run_task(plan, {"run_id": "r1"})
    assert sorted(_output(src)) == [(o, r, "x", t) for o, r, t in EXPECTED]
    assert result["metrics"] == {"by_region": {"regions": 3}}
