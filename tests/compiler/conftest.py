"""Helpers shared by the compiler tests: a valid spec to mutate, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

VALID = textwrap.dedent("""\
    etlc: 1
    pipeline: orders_daily
    description: Orders per customer.
    owner: data-eng
    schedule: "@daily"
    start_date: 2025-01-01
    params:
      min_total: {type: number, default: 0}
    datasets:
      orders:
        format: csv
        path: data/in/orders_{{ ds_nodash }}.csv
        columns:
          order_id: {type: int}
          customer: {type: string}
          total: {type: decimal, scale: 2}
          ordered_at: {type: timestamp}
      per_customer:
        format: parquet
        path: data/out/per_customer/
        partition_by: [customer]
    steps:
      raw:
        read: orders
      big:
        from: raw
        filter: "total >= $min_total"
        derive:
          day: "to_date(ordered_at)"
      agg:
        from: big
        group_by: [customer]
        aggregate:
          orders: "count(*)"
          revenue: "sum(total)"
      save:
        from: agg
        write: per_customer
        mode: overwrite_partitions
    """)


@pytest.fixture
def valid_spec_text() -> str:
    return VALID


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    return subprocess.run([sys.executable, "-m", "etlc_compiler.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120, env=env)
