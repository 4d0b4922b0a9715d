"""Engines: the registry (which engines exist, by name); base.py holds the protocol.

This release has ``pandas``; the others arrive with the engine work (issue 9 and 11)."""

from __future__ import annotations

from ..errors import EngineNotAvailable

AVAILABLE = ("pandas",)
LATER = ("duckdb", "dask", "dask-cuda")


def check_engine(name: str | None, step: str | None = None) -> str:
    """Return the engine name to use, or raise :class:`EngineNotAvailable`."""
    engine = (name or "pandas").lower()
    if engine in AVAILABLE:
        return engine
    where = f" (step '{step}')" if step else ""
    if engine in LATER:
        raise EngineNotAvailable(
            f"engine '{engine}'{where} arrives in a later release of etlc; this runtime "
            f"provides the pandas engine only. Set `engine: pandas` in the step or in "
            f"`defaults` for now."
        )
    raise EngineNotAvailable(
        f"unknown engine '{engine}'{where}; this runtime provides: {', '.join(AVAILABLE)}"
    )
