"""Run context and templated strings.

Strings in dataset ``path``/``table`` and in ``params`` defaults may use Airflow's macros
(``{{ ds }}``, ``{{ ds_nodash }}``, ``{{ ts }}``, ``{{ logical_date }}``, ``{{ run_id }}``,
``{{ params.x }}``).  They are rendered here with Jinja2's sandbox over a plain dict of
macros, the same way inside Airflow and under ``etlc run``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from .errors import EtlcRuntimeError, ParamError
from .params import check_params


class TemplateError(EtlcRuntimeError):
    pass


class ParamTypeError(ParamError, TemplateError):
    """R011: a run-time param value that cannot be read as its declared type."""


def _as_datetime(value: Any) -> _dt.datetime:
    if value is None:
        return _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    text = str(value)
    parsed = _dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


def macros(run_id: str, logical_date: Any, params: Mapping[str, Any] | None = None,
           extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The macro dict templates are rendered over."""
    when = _as_datetime(logical_date)
    out = {
        "run_id": run_id,
        "logical_date": when,
        "ds": when.strftime("%Y-%m-%d"),
        "ds_nodash": when.strftime("%Y%m%d"),
        "ts": when.isoformat(),
        "ts_nodash": when.strftime("%Y%m%dT%H%M%S"),
        "data_interval_start": when,
        "data_interval_end": when,
        "params": dict(params or {}),
    }
    if extra:
        for key, value in extra.items():
            if value is not None and key not in ("params",):
                out.setdefault(key, value)
    return out


LIVE = ("dag_run", "ti", "task_instance", "dag")  # Airflow's objects, in the macros of a task


def shippable(macros: Mapping[str, Any]) -> dict[str, Any]:
    """The macros without Airflow's live objects: what may travel in a Dask graph (Dask
    tokenizes a graph's arguments and cannot tokenize a task instance deterministically)."""
    return {k: v for k, v in macros.items() if k not in LIVE}


_ENV = None


def _env():
    global _ENV
    if _ENV is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                             keep_trailing_newline=True)
    return _ENV


def is_templated(text: Any) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def render(text: Any, values: Mapping[str, Any]) -> Any:
    """Render ``text`` when it is a templated string; return other values unchanged."""
    if not is_templated(text):
        return text
    try:
        return _env().from_string(text).render(**values)
    except Exception as exc:  # jinja2 errors: undefined names, syntax
        raise TemplateError(f"cannot render template {text!r}: {exc}") from exc


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def coerce_param(name: str, value: Any, definition: Mapping[str, Any] | None) -> Any:
    """Coerce a run-time value (often a string from the command line) to the param's type."""
    kind = (definition or {}).get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if value is None or not isinstance(value, str):
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        if kind == "boolean":
            low = value.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(value)
        if kind in ("array", "object"):
            import json
            return json.loads(value)
    except ValueError as exc:
        raise ParamTypeError(name, value, f"is not a valid {kind}") from exc
    return value


def resolve_params(definitions: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None,
                   run_id: str, logical_date: Any) -> dict[str, Any]:
    """Param defaults from the plan, overridden by run-time values, typed and rendered.

    Templated defaults are rendered over the macros (and the params resolved so far).  Every
    value is then checked against its declaration (:func:`etlc_runtime.params.check_params`):
    a bad value raises :class:`ParamError` (R011) before any task work.
    """
    definitions = dict(definitions or {})
    overrides = dict(overrides or {})
    out: dict[str, Any] = {}
    for name, definition in definitions.items():
        default = definition.get("default") if isinstance(definition, Mapping) else definition
        out[name] = overrides.get(name, default)
    for name, value in overrides.items():
        out.setdefault(name, value)
    values = macros(run_id, logical_date, out)
    for name, value in list(out.items()):
        definition = definitions.get(name)
        default = definition.get("default") if isinstance(definition, Mapping) else None
        if is_templated(value) and (name not in overrides or value == default):
            value = render(value, values)
        out[name] = coerce_param(name, value, definition if isinstance(definition, Mapping) else None)
        values["params"][name] = out[name]
    check_params(definitions, out)
    return out
