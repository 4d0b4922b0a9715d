"""Shared bits of the stack tests: the `stack` marker and the repository paths."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "stack: brings up the native service stack (scripts/stack.py); slow, needs Airflow and Dask",
    )
