"""Python objects in operator arguments without code in YAML: the typed constructor form.

    execution_delta: {__type__: datetime.timedelta, hours: 1}
    container_resources: {__type__: kubernetes.client.V1ResourceRequirements,
                          limits: {cpu: "1"}}
    when: {__type__: datetime.datetime, __args__: [2025, 1, 1]}

`__type__` names a class (`package.module.Class` as dag-factory writes it, or
`package.module:Class`); `__args__` are positional arguments, every other key a keyword
argument; values nest. The DAG file imports the class and calls it with literals made by
`pyliteral` (nothing from the spec becomes code). A standard-library class must be one of
`SAFE` (a constructor of plain values; `os.system` is no type); any other class is imported at
compile time like every function a spec names (E332, `callables`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .pyliteral import pyliteral
from .task_settings import plain_keyword

SAFE = frozenset({"datetime:timedelta", "datetime:datetime", "datetime:date", "datetime:time",
                  "datetime:timezone", "decimal:Decimal", "pathlib:PurePosixPath",
                  "dateutil.relativedelta:relativedelta", "pendulum:duration", "pendulum:datetime"})


def ref_of(type_name: Any) -> str | None:
    """`package.module:Class` for a `__type__` value, None when it names no class."""
    if not isinstance(type_name, str) or not type_name:
        return None
    if ":" in type_name:
        return type_name
    module, _, cls = type_name.rpartition(".")
    return f"{module}:{cls}" if module and cls else None


def has_objects(value: Any) -> bool:
    if isinstance(value, dict):
        return "__type__" in value or any(has_objects(v) for v in value.values())
    if isinstance(value, list):
        return any(has_objects(v) for v in value)
    return False


def objects(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str | None]]:
    """(path of each `__type__` value, its `module:Class` or None) inside a value."""
    if isinstance(value, dict):
        if "__type__" in value:
            yield path + ("__type__",), ref_of(value["__type__"])
        for k, v in value.items():
            if k != "__type__":
                yield from objects(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from objects(v, path + (i,))


def render(value: Any, alias: Callable[[str], str]) -> str:
    """Python source of a value holding typed objects; `alias` names an imported class."""
    if isinstance(value, dict) and "__type__" in value:
        args = [render(a, alias) for a in value.get("__args__") or []]
        kwargs = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
        args += [f"{k}={render(v, alias)}" for k, v in kwargs.items() if plain_keyword(k)]
        odd = {k: v for k, v in kwargs.items() if not plain_keyword(k)}
        if odd:
            args.append(f"**{render(odd, alias)}")
        return f"{alias(ref_of(value['__type__']) or '')}({', '.join(args)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{pyliteral(k)}: {render(v, alias)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v, alias) for v in value) + "]"
    return pyliteral(value)
