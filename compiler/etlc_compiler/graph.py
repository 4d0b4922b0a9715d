"""The step graph: a dependency order of a spec's steps (the analyses and the plan use it)."""

from __future__ import annotations

from graphlib import TopologicalSorter

from .model import PipelineSpec


def topo_order(spec: PipelineSpec) -> list[str]:
    """Step names in a dependency order, ties broken by the order in the file."""
    position = {name: i for i, name in enumerate(spec.steps)}
    sorter = TopologicalSorter({n: [u for u in s.upstream if u in spec.steps] for n, s in spec.steps.items()})
    sorter.prepare()
    out: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        for name in ready:
            out.append(name)
            sorter.done(name)
    return out
