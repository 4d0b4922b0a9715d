"""Helpers of the service tests (MLflow, S3, Qdrant): task plans and free loopback ports."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the block; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def service_plan(steps, datasets, task: str, *, engine: str = "duckdb", tracking=None,
                 connections=None, params=None) -> dict:
    """A task plan of ``steps`` (kind, line and list ``from`` filled in)."""
    for i, step in enumerate(steps):
        step.setdefault("line", 10 + i)
        if isinstance(step.get("from"), str):
            step["from"] = [step["from"]]
        step.setdefault("kind", next((k for k in ("read", "write") if k in step),
                                     "transform"))
    return {"etlc": 1, "pipeline": "p", "task": task, "spec": "specs/p.yaml", "engine": engine,
            "partitions": 1, "parallelism": "dask",
            "staging": {"connection": None, "path": ".etlc/staging"}, "params": params or {},
            "tracking": tracking, "connections": connections or {}, "datasets": datasets,
            "inputs": {}, "steps": steps, "output": None}
