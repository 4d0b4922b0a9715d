"""Checks and metrics waiting for the dask engine's next computation (issue 11).

A step's checks and metrics are not computed where the step runs: they are planned
(engines/dask/quality.py) and wait here until the engine computes something, the write or the
staging hand-off that follows as a rule.  :meth:`Waiting.compute` then computes what it was
asked for together with every waiting check and metric, in one ``dask.compute``: the graphs
share their read and transform keys, so each partition is read and transformed once, and
the checks judge exactly the rows that are written.  The checks are judged (in the order the
steps ran, each step's in the pandas engine's order) before ``compute`` returns, so a write
commits (commit.py, staging.commit_parts) only after they pass: the parts the workers wrote
into the protocol's hidden folder are removed with it when one fails.

What no computation took along (a task ending on a checked step that writes nothing, or
before a step whose effect does not go through this engine: an operator or call step) is
computed by :meth:`Waiting.settle`.  Metric values are kept by step until the executor takes
them (:meth:`Waiting.take_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .quality import Planned


@dataclass(frozen=True)
class Quality:
    """One step's planned checks and metrics (either may be None)."""

    step: str | None
    checks: Planned | None
    metrics: Planned | None

    def parts(self) -> tuple[Planned, ...]:
        return tuple(p for p in (self.checks, self.metrics) if p is not None)


class Waiting:
    """The engine's computations, each carrying the checks and metrics that wait."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.items: list[Quality] = []
        self.metrics: dict[str | None, dict[str, Any]] = {}

    def add(self, item: Quality) -> None:
        self.items.append(item)

    def compute(self, *objs) -> tuple:
        """The values of ``objs``, computed in one computation with the waiting checks and
        metrics; a failed check raises (CheckFailed) before any value is returned."""
        items, self.items = self.items, []
        lazy = [obj for item in items for planned in item.parts() for obj in planned.lazy]
        values = tuple(self.cluster.compute(*objs, *lazy)) if objs or lazy else ()
        self._judge(items, values[len(objs):])
        return values[:len(objs)]

    def _judge(self, items: list[Quality], values: Sequence[Any]) -> None:
        at = 0
        for item in items:
            for planned in item.parts():
                result = planned.finish(values[at:at + len(planned.lazy)])
                at += len(planned.lazy)
                if planned is item.metrics:
                    self.metrics[item.step] = result

    def settle(self) -> None:
        """Compute and judge what waits (nothing when nothing does)."""
        if self.items:
            self.compute()

    def take_metrics(self) -> dict[str | None, dict[str, Any]]:
        """The metric values computed so far, by step; forgotten here once taken."""
        out, self.metrics = self.metrics, {}
        return out
