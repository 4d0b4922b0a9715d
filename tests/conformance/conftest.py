"""The conformance suite's engine fixture: every engine of the registry (conformance_helpers
says which), one instance per module (a Dask cluster starts once)."""

from __future__ import annotations

import pytest
from conformance_helpers import ENGINES
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import TaskResources


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"engine-{request.param}")
    eng = get_engine(request.param, TaskResources(spill_dir=root / "spill"))
    yield eng
    eng.close()
