"""Airflow task settings at dag-factory's level: every `default_args` key Airflow 3 accepts,
on `defaults:` and on any step (data steps too), rendered as the operator's keyword arguments.

`SETTINGS` maps each setting to how it is rendered: `plain` (a Python literal), `duration`
(a timedelta from `30s`, `5m`, `2h`, `1d`) or `callback` (`package.module:function`, a list of
them, or `{function: ..., args: {...}}`, imported by the DAG file; import-checked by
`callables`). The schema holds each setting's form; the defaults are Airflow's.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator
from typing import Any

from .pyliteral import pyliteral

CALLBACKS = ("on_success_callback", "on_failure_callback", "on_retry_callback",
             "on_execute_callback", "on_skipped_callback")
SETTINGS: dict[str, str] = {
    "owner": "plain", "email": "plain", "email_on_failure": "plain", "email_on_retry": "plain",
    "depends_on_past": "plain", "ignore_first_depends_on_past": "plain",
    "wait_for_past_depends_before_skipping": "plain", "wait_for_downstream": "plain",
    "trigger_rule": "plain", "retry_exponential_backoff": "plain", "max_retry_delay": "duration",
    "priority_weight": "plain", "weight_rule": "plain", "pool_slots": "plain",
    "max_active_tis_per_dag": "plain", "max_active_tis_per_dagrun": "plain",
    "do_xcom_push": "plain", "executor": "plain", "executor_config": "plain",
    "run_as_user": "plain", "task_display_name": "plain",
    **dict.fromkeys(CALLBACKS, "callback"),
}
DAG_SETTINGS = ("max_active_tasks", "max_consecutive_failed_dag_runs", "is_paused_upon_creation",
                "render_template_as_native_obj", "owner_links", "dag_display_name", "fail_fast")
DAG_CALLBACKS = ("on_success_callback", "on_failure_callback")


def plain_keyword(name: str) -> bool:
    """An ASCII identifier that is no keyword: usable as `name=` in a call."""
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


def callback_refs(value: Any) -> Iterator[tuple[tuple, str]]:
    """(path below the setting, `module:function`) of each function a callback value names."""
    if isinstance(value, str):
        yield (), value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for path, ref in callback_refs(item):
                yield (i, *path), ref
    elif isinstance(value, dict) and isinstance(value.get("function"), str):
        yield ("function",), value["function"]


def render(name: str, value: Any, alias: Callable[[str], str], duration: Callable[[str], str]) -> str:
    """Python source of a setting's value; `alias` names the imported function of a reference."""
    kind = SETTINGS.get(name, "plain")
    if kind == "duration":
        return duration(value)
    if kind == "callback":
        return _callback(value, alias)
    return pyliteral(value)


def _callback(value: Any, alias: Callable[[str], str]) -> str:
    if isinstance(value, str):
        return alias(value)
    if isinstance(value, list):
        return "[" + ", ".join(_callback(v, alias) for v in value) + "]"
    args = value.get("args") or {}
    kwargs = ", ".join(f"{k}={pyliteral(v)}" for k, v in args.items() if plain_keyword(k))
    odd = {k: v for k, v in args.items() if not plain_keyword(k)}
    extra = f", **{pyliteral(odd)}" if odd else ""
    return f"functools.partial({alias(value['function'])}{', ' + kwargs if kwargs else ''}{extra})"
