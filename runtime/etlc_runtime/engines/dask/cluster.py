"""Where a dask engine's work runs: a cluster started for the task, or one already running.

The address comes from, in order: ``TaskResources.cluster`` (when the plan carries one),
the ``ETLC_DASK_SCHEDULER`` environment variable, or the Airflow connection ``dask_default``
(``AIRFLOW_CONN_DASK_DEFAULT=tcp://host:8786``, or one in Airflow's store when running inside
Airflow).  Without any, the task starts a ``LocalCluster`` (threads in this process, as many
as ``TaskResources.threads`` or the partitions, at most the CPUs) and closes it with the
engine.  The cluster starts on the first computation, not when the engine is built.

``dask-cuda`` starts a ``LocalCUDACluster`` instead; :func:`require_gpu` refuses at once,
with :class:`GpuNotAvailable` (R050), a machine without a GPU or without the ``gpu`` extra.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from typing import Any

from ...errors import EngineNotAvailable

log = logging.getLogger("etlc.dask")
ENV = "ETLC_DASK_SCHEDULER"
CONN_ID = "dask_default"
INSTALL = "pip install 'etlc[gpu]'"
QUIESCE_SECONDS = 120.0


class GpuNotAvailable(EngineNotAvailable):
    """R050: the dask-cuda engine on a machine without a GPU or without cudf/dask_cuda."""

    code = "R050"

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(
            f"{self.code} engine 'dask-cuda' cannot run here: {missing}. It needs an NVIDIA "
            f"GPU with CUDA 12 drivers and the gpu extra ({INSTALL}); choose `engine: dask` "
            f"(CPU) or `engine: duckdb` for this step otherwise")


def scheduler_address(explicit: str | None = None) -> str | None:
    """The running scheduler to use, or None for a cluster of the task's own."""
    if explicit:
        return str(explicit)
    if os.environ.get(ENV):
        return os.environ[ENV]
    from ...connections import from_airflow, from_env

    conn = from_env(CONN_ID)
    if conn is None and "airflow" in sys.modules:  # inside an Airflow task: its store
        conn = from_airflow(CONN_ID)
    if conn is None or not conn.host:
        return None
    scheme = conn.conn_type if conn.conn_type in ("tcp", "tls", "ucx", "inproc") else "tcp"
    return f"{scheme}://{conn.host}:{conn.port or 8786}"


def require_gpu() -> None:
    """Raise GpuNotAvailable naming what is missing (packages first, then the device)."""
    import importlib.util

    missing = [m for m in ("cudf", "dask_cuda")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise GpuNotAvailable(f"the Python package(s) {', '.join(missing)} are not installed")
    if not _has_gpu():
        raise GpuNotAvailable("no NVIDIA GPU is visible (nvidia-smi lists none, or "
                              "CUDA_VISIBLE_DEVICES hides them)")


def _has_gpu() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    import subprocess

    try:
        out = subprocess.run([smi, "-L"], check=False, capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _executing(dask_worker) -> int:
    """How many tasks ``dask_worker`` is running (a cancelled one counts until its thread
    returns; a seceded one too)."""
    return len(dask_worker.state.all_running_tasks)


class Cluster:
    """A dask ``Client`` on demand; closes only what it started."""

    def __init__(self, *, address: str | None, threads: int, gpu: bool = False):
        self.address, self.threads, self.gpu = address, max(1, int(threads)), gpu
        self._cluster: Any = None
        self._client: Any = None

    @property
    def client(self):
        if self._client is None:
            from distributed import Client

            if self.address:
                self._client = Client(self.address, set_as_default=False)
                log.info("dask: scheduler %s, dashboard %s", self.address,
                         self._client.dashboard_link)
            else:
                self._cluster = self._start_local()
                self._client = Client(self._cluster, set_as_default=False)
                log.info("dask: local cluster %s (%d thread(s)), dashboard %s",
                         self._cluster.scheduler_address, self.threads,
                         self._client.dashboard_link)
        return self._client

    def _start_local(self):
        if self.gpu:
            from dask_cuda import LocalCUDACluster

            return LocalCUDACluster(dashboard_address=":0")
        from distributed import LocalCluster

        # ":0": any free port (8787 may belong to another task's cluster)
        return LocalCluster(processes=False, n_workers=1, threads_per_worker=self.threads,
                            dashboard_address=":0", worker_dashboard_address=":0")

    def compute(self, *objs):
        """Compute dask collections on this cluster; plain results.  When one task fails,
        the others the computation started may still be running on the workers (a cancelled
        task's thread runs on): wait for them before raising, so that no part is written into
        a hidden folder after the commit protocol has removed it."""
        import dask

        try:
            return dask.compute(*objs, scheduler=self.client.get)
        except BaseException:
            self.quiesce()
            raise

    def quiesce(self, timeout: float = QUIESCE_SECONDS) -> bool:
        """Wait until no worker executes a task (at most ``timeout`` seconds); whether they
        all stopped.  A shared scheduler's workers may run others' tasks: hence the bound."""
        if self._client is None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            try:
                busy = sum(self._client.run(_executing).values())
            except Exception:  # a worker gone or the cluster closing: nothing left to wait for
                log.debug("dask: asking the workers what runs failed", exc_info=True)
                return True
            if not busy:
                return True
            if time.monotonic() >= deadline:
                log.warning("dask: %d task(s) still running %.0f s after a failed computation",
                            busy, timeout)
                return False
            time.sleep(0.02)

    def submit(self, obj):
        """Start computing a dask collection on this cluster: its ``Future``, whose result
        stays on the cluster for the graphs that use it."""
        return self.client.compute(obj)

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
