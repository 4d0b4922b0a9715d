"""``etlc run`` of a mapped operator step (``expand`` / ``expand_kwargs``), as Airflow runs it.

Airflow makes one task instance per element: ``expand`` over several arguments is their
cross product (the first argument varies slowest), a dict maps over its ``(key, value)``
pairs, ``expand_kwargs`` takes one dict of keyword arguments per instance, and ``args`` are
the partial arguments every instance shares. An empty list gives no instance (Airflow skips
the task). Locally the instances run one after another, in map-index order, and the step's
return value is the list of theirs, as a downstream ``{from: step}`` sees it in Airflow.

``{from: step}`` reads what an upstream operator step returned earlier in the same
``etlc run``; a step that did not run, or returned something that cannot be mapped over
(``None``, a number, a string), is a StepError that says so, before any instance runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from .errors import StepError

KEYS = ("expand", "expand_kwargs")


def is_mapped(step: Mapping[str, Any]) -> bool:
    return any(k in step for k in KEYS)


def _source(value: Any, returned: Mapping[str, Any], step: str) -> Any:
    """A static value, or what the `{from: step}` upstream returned in this run."""
    if not (isinstance(value, Mapping) and isinstance(value.get("from"), str)):
        return value
    source = value["from"]
    if source not in returned:
        raise StepError(step, f"cannot map over the return value of step '{source}': it did not "
                              f"run before this step in this etlc run")
    return returned[source]


def _elements(value: Any, what: str, step: str) -> list:
    if isinstance(value, Mapping):
        return list(value.items())   # Airflow maps a dict over its (key, value) pairs
    if isinstance(value, (list, tuple)):
        return list(value)
    raise StepError(step, f"{what} is {type(value).__name__} {value!r:.80}, not a list or dict "
                          f"to map over")


def instances(step: Mapping[str, Any], returned: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The keyword arguments of each mapped instance, in map-index order."""
    name = step.get("name") or "operator"
    if "expand_kwargs" in step:
        items = _elements(_source(step["expand_kwargs"], returned, name), "expand_kwargs", name)
        bad = next((i for i, item in enumerate(items) if not isinstance(item, Mapping)), None)
        if bad is not None:
            raise StepError(name, f"expand_kwargs element {bad} is {type(items[bad]).__name__}, "
                                  f"not a mapping of keyword arguments")
        return [dict(item) for item in items]
    expand = step.get("expand") or {}
    lists = [_elements(_source(v, returned, name), f"expand argument '{arg}'", name)
             for arg, v in expand.items()]
    return [dict(zip(expand, combo)) for combo in itertools.product(*lists)]


def run_mapped(step: Mapping[str, Any], returned: Mapping[str, Any],
               run_one: Callable[[Mapping[str, Any]], Any]) -> list:
    """Run ``run_one`` on the step with each instance's arguments added to ``args``."""
    results = []
    for kwargs in instances(step, returned):
        one = {k: v for k, v in step.items() if k not in KEYS and k != "map_index_template"}
        one["args"] = {**dict(step.get("args") or {}), **kwargs}
        results.append(run_one(one))
    return results
