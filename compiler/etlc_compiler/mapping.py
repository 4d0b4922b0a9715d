"""Dynamic task mapping on operator steps: `expand`, `expand_kwargs`, `map_index_template`.

    expand: {bash_command: ["echo 1", "echo 2"]}     # static lists
    expand: {x: {from: make_list}}                    # an upstream operator step's XCom
    expand_kwargs: [{a: 1}, {a: 2}] | {from: step}    # one dict of arguments per instance

`args` are the partial arguments (`Operator.partial(**args).expand(...)`). A `from:` step
becomes an upstream of the step (its `.output` is an XComArg, so Airflow also knows it).

E333: mapping on a step that is no operator step, `expand` with `expand_kwargs`, an expanded
argument also in `args`, an empty list, or `from:` naming no operator step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .pyliteral import pyliteral
from .task_settings import plain_keyword

KEYS = ("expand", "expand_kwargs", "map_index_template")


def xcom_sources(raw: Mapping[str, Any]) -> Iterator[tuple[tuple, str]]:
    """(path below the step, step name) of each `{from: step}` in a step's mapping."""
    expand = raw.get("expand")
    if isinstance(expand, dict):
        for arg, value in expand.items():
            if isinstance(value, dict) and isinstance(value.get("from"), str):
                yield ("expand", arg, "from"), value["from"]
    kwargs = raw.get("expand_kwargs")
    if isinstance(kwargs, dict) and isinstance(kwargs.get("from"), str):
        yield ("expand_kwargs", "from"), kwargs["from"]


def of_steps(steps: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the DAG file needs: step -> its mapping keys, for the steps that map."""
    return {n: {k: s[k] for k in KEYS if k in s} for n, s in steps.items()
            if isinstance(s, dict) and any(k in s for k in KEYS)}


def check(loaded: LoadedSpec, raw: Mapping[str, Any], kinds: Mapping[str, str]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    steps = raw.get("steps") or {}
    for name, step in of_steps(steps).items():
        base = ("steps", name)
        if kinds.get(name) != "operator":
            key = next(k for k in KEYS if k in step)
            diags.append(loaded.diag("E333", f"'{key}' maps operator steps only; '{name}' is a "
                                     f"{kinds.get(name)} step", base + (key,), at="key",
                                     help="data steps map over partitions with parallelism: airflow"))
            continue
        if "expand" in step and "expand_kwargs" in step:
            diags.append(loaded.diag("E333", "give 'expand' or 'expand_kwargs', not both",
                                     base + ("expand_kwargs",), at="key"))
        if "map_index_template" in step and not ("expand" in step or "expand_kwargs" in step):
            diags.append(loaded.diag("E333", "'map_index_template' needs 'expand' or 'expand_kwargs'",
                                     base + ("map_index_template",), at="key"))
        args = (steps[name] or {}).get("args") or {}
        for arg, value in (step.get("expand") or {}).items():
            if not plain_keyword(arg):
                diags.append(loaded.diag("E333", f"'{arg}' cannot be a keyword argument", base + ("expand", arg),
                                         at="key"))
            if arg in args:
                diags.append(loaded.diag("E333", f"'{arg}' is both expanded and in 'args'",
                                         base + ("expand", arg), at="key"))
            if isinstance(value, list) and not value:
                diags.append(loaded.diag("E333", f"'{arg}' expands over an empty list (no task would run)",
                                         base + ("expand", arg)))
        for sub, source in xcom_sources(step):
            if source not in steps or kinds.get(source) != "operator" or source == name:
                what = "no step" if source not in steps else f"a {kinds.get(source)} step" if source != name else "itself"
                diags.append(loaded.diag("E333", f"'{source}' is {what}: map over an operator step's XCom",
                                         base + sub, help=did_you_mean(source, [s for s in steps if kinds.get(s) == "operator"])))
    return diags


def render(spec: Mapping[str, Any], task_var: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """(the `.expand(...)` / `.expand_kwargs(...)` call, partial-only arguments) of a mapped step."""
    extra = []
    if "map_index_template" in spec:
        extra.append(("map_index_template", pyliteral(spec["map_index_template"])))
    if "expand_kwargs" in spec:
        return f".expand_kwargs({_value(spec['expand_kwargs'], task_var)})", extra
    parts = ", ".join(f"{arg}={_value(v, task_var)}" for arg, v in spec["expand"].items() if plain_keyword(arg))
    return f".expand({parts})", extra


def _value(value: Any, task_var: Mapping[str, str]) -> str:
    if isinstance(value, dict) and isinstance(value.get("from"), str):
        return f"{task_var[value['from']]}.output"
    return pyliteral(value, 8)
