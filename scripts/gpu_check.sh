#!/usr/bin/env bash
# GPU checks of the dask-cuda engine, in one go, on a machine with an NVIDIA GPU:
#   1. what the machine has (nvidia-smi, cudf / dask_cuda versions);
#   2. the GPU tests (tests/runtime/test_dask_engine_gpu.py) and the dask-cuda refusal test;
#   3. the throughput benchmark's q1 job on dask-cuda, dask and duckdb (ROWS, default 2 M).
# Usage: scripts/gpu_check.sh [PYTHON]   (default .venv/bin/python; install the gpu extra
# first: pip install 'etlc[gpu]').  Exit 2 when no GPU or no gpu extra is found.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
ROWS=${ROWS:-2000000}
OUT=${OUT:-/tmp/etlc-gpu-check}
mkdir -p "$OUT"

echo "== machine"
if ! nvidia-smi -L; then
    echo "no NVIDIA GPU visible (nvidia-smi)"; exit 2
fi
if ! "$PY" -c "import cudf, dask_cuda; print('cudf', cudf.__version__, '/ dask_cuda', dask_cuda.__version__)"; then
    echo "the gpu extra is missing: pip install 'etlc[gpu]'"; exit 2
fi
"$PY" -c "from etlc_runtime.engines.dask.cluster import require_gpu; require_gpu(); print('R050 check: GPU engine available')" || exit 2

echo "== tests"
status=0
"$PY" -m pytest -q -p no:randomly -p no:cacheprovider \
    tests/runtime/test_dask_engine_gpu.py \
    "tests/runtime/test_dask_engine.py::test_dask_cuda_without_a_gpu_fails_at_once" || status=1

echo "== benchmark (q1, $ROWS rows)"
"$PY" benchmarks/throughput_bench.py --rows "$ROWS" --repeat 1 --jobs q1 \
    --engines etlc-dask-cuda etlc-dask etlc-duckdb --out "$OUT" || status=1
echo "report under $OUT"
exit $status
