"""Engines: the registry (which engines exist, by name); base.py holds the protocol.

``AVAILABLE`` maps an engine's name to where its class lives and what it can do.  It is plain
data: the compiler reads capabilities from it (``capabilities(name)``) and ``check_engine``
judges a name without importing any engine or dataframe library.  ``get_engine`` imports the
engine's module only when a task asks for it.

An engine whose module is not in this installation (the ``duckdb`` module lands in parallel
with this registry) reports :class:`EngineNotAvailable`, as names of later releases do.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from ..errors import EngineNotAvailable
from .base import ALL_CAPABILITIES, TaskResources

DEFAULT = "duckdb"

AVAILABLE: dict[str, tuple[str, frozenset[str]]] = {
    "pandas": ("etlc_runtime.engines.pandas_engine:PandasEngine",
               ALL_CAPABILITIES - {"spill"}),
    "duckdb": ("etlc_runtime.engines.duckdb_engine:DuckDBEngine", ALL_CAPABILITIES),
    "dask": ("etlc_runtime.engines.dask_engine:DaskEngine", ALL_CAPABILITIES - {"spill"}),
    "dask-cuda": ("etlc_runtime.engines.dask_engine:DaskCudaEngine",
                  ALL_CAPABILITIES - {"spill", "read:postgres", "write:postgres"}),
}
LATER: tuple[str, ...] = ()


def capabilities(name: str) -> frozenset[str]:
    """What the named engine can do (no import); an unknown name can do nothing."""
    entry = AVAILABLE.get(str(name).lower())
    return entry[1] if entry else frozenset()


def _installed(name: str) -> bool:
    """True when the engine's module (and so its code) is part of this installation."""
    module = AVAILABLE[name][0].partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def installed() -> tuple[str, ...]:
    return tuple(n for n in AVAILABLE if _installed(n))


def _later(engine: str, where: str) -> EngineNotAvailable:
    names = installed()
    which = f"the {names[0]} engine" if len(names) == 1 else \
        f"the {', '.join(names[:-1])} and {names[-1]} engines"
    return EngineNotAvailable(
        f"engine '{engine}'{where} arrives in a later release of etlc; this runtime "
        f"provides {which} only. Set `engine: {DEFAULT}` in the step or in `defaults` for now."
    )


def check_engine(name: str | None, step: str | None = None) -> str:
    """Return the engine name to use, or raise :class:`EngineNotAvailable`."""
    engine = (name or DEFAULT).lower()
    where = f" (step '{step}')" if step else ""
    if engine in AVAILABLE:
        if _installed(engine):
            return engine
        raise _later(engine, where)
    if engine in LATER:
        raise _later(engine, where)
    raise EngineNotAvailable(
        f"unknown engine '{engine}'{where}; this runtime provides: {', '.join(installed())}"
    )


def engine_class(name: str) -> type:
    """The engine's class, imported now; EngineNotAvailable when its library is missing."""
    engine = check_engine(name)
    module, _, attr = AVAILABLE[engine][0].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise EngineNotAvailable(
            f"engine '{engine}' cannot load: {exc}; install its library or choose another "
            f"engine (`engine:` in the step or in `defaults`)") from exc


def get_engine(name: str | None, resources: TaskResources | None = None) -> Any:
    """A new instance of the named engine for one task (the caller closes it)."""
    return engine_class(check_engine(name))(resources or TaskResources())
