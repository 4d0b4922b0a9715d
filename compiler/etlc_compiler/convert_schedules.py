"""dag-factory schedules -> etlc's schedule forms, for `etlc convert dag-factory`.

dag-factory 1.1 (on Airflow 3) builds a DAG's `schedule` from YAML: a string (cron, preset,
`none`), a list of asset URIs, or `{__type__: module.Class, __args__: [...], key: value}`
objects (a timetable, `datetime.timedelta`, `airflow.sdk.Asset`, `AssetOrTimeSchedule`)
combined by `__and__` / `__or__`. Each becomes one of etlc's forms (docs/spec-reference.md,
"Schedules"): `{timetable, args, kwargs}`, `{cron, timezone}`, `{every}`, and
`{assets: ..., external: true}` (dag-factory's assets are produced outside the etlc project),
with `cron` for assets or time. What has no etlc form raises `Unconvertible` with its path
below `schedule` and why.
"""

from __future__ import annotations

from typing import Any

from .schedules import SDK_TIMETABLES

ASSETS = ("airflow.sdk.Asset", "airflow.sdk.definitions.asset.Asset", "airflow.datasets.Dataset",
          "airflow.sdk.Dataset")
ASSET_OR_TIME = ("airflow.timetables.assets.AssetOrTimeSchedule", "airflow.sdk.AssetOrTimeSchedule")
CRON_TRIGGER = ("airflow.timetables.trigger.CronTriggerTimetable", "airflow.sdk.CronTriggerTimetable")
_TIMEDELTA_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_PLAIN = (str, int, float, bool, type(None))


class Unconvertible(Exception):
    """A schedule (part) with no etlc form: `where` is its path below `schedule`."""

    def __init__(self, where: tuple, why: str):
        super().__init__(why)
        self.where, self.why = where, why


def duration(value: Any) -> str | None:
    """Whole seconds as etlc's duration (`90s`, `5m`, `2h`, `1d`); None if not whole seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        return None
    value = int(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"


def convert(value: Any) -> Any:
    """etlc's `schedule:` for dag-factory's `schedule` value."""
    if value is None or isinstance(value, str):
        return None if isinstance(value, str) and value.strip().lower() == "none" else value
    if isinstance(value, list) or _is_condition(value):
        return {"assets": _assets(value, (), top=True), "external": True}
    if not isinstance(value, dict) or not isinstance(value.get("__type__"), str):
        raise Unconvertible((), "a schedule that is neither a string, a list of assets, nor a __type__ object")
    kind = value["__type__"]
    if kind == "builtins.list" or kind in ASSETS:
        return {"assets": _assets(value, (), top=True), "external": True}
    if kind == "datetime.timedelta":
        return {"every": _every(value)}
    if kind in ASSET_OR_TIME:
        return _assets_or_time(value)
    if kind == "dateutil.relativedelta.relativedelta":
        raise Unconvertible((), "a relativedelta schedule (etlc has no calendar-relative interval: "
                                "write a cron or a timetable)")
    return _timetable(value, ())


def _is_condition(value: Any) -> bool:
    return isinstance(value, dict) and ("__and__" in value or "__or__" in value)


def _assets(value: Any, where: tuple, top: bool = False) -> Any:
    """An asset condition: a list (all of them; at the `top` etlc's list), `{and: [...]}`,
    `{or: [...]}` or a name (a one-name list at the top)."""
    if isinstance(value, str):
        if not value.strip():
            raise Unconvertible(where, "an empty asset URI")
        return [value.strip()] if top else value.strip()
    if isinstance(value, dict) and value.get("__type__") == "builtins.list":
        value, where = _list_items(value, where), where + ("items",)
    if isinstance(value, list):
        items = [_assets(v, where + (i,)) for i, v in enumerate(value) if v is not None]
        if not items:
            raise Unconvertible(where, "an empty list of assets")
        return items if top else {"and": items}
    if isinstance(value, dict):
        for key, op in (("__and__", "and"), ("__or__", "or")):
            if key in value:
                items = value[key]
                if len(value) > 1 or not isinstance(items, list) or not items:
                    raise Unconvertible(where, f"'{key}' takes a non-empty list and nothing beside it")
                return {op: [_asset_item(v, where + (key, i)) for i, v in enumerate(items)]}
        if value.get("__type__") in ASSETS:
            return _assets(_asset_name(value, where), where, top)
    raise Unconvertible(where, "an asset condition that is neither an asset, a list, __and__ nor __or__")


def _asset_item(value: Any, where: tuple) -> Any:
    """An operand of `__and__`/`__or__`: a plain string there is no asset in dag-factory."""
    if isinstance(value, str):
        raise Unconvertible(where, "a plain string in __and__/__or__ (dag-factory needs "
                                   "{__type__: airflow.sdk.Asset, uri: ...} there)")
    return _assets(value, where)


def _list_items(value: dict[str, Any], where: tuple) -> list:
    if set(value) != {"__type__", "items"} or not isinstance(value["items"], list):
        raise Unconvertible(where, "a builtins.list takes 'items' (a list) only")
    return value["items"]


def _asset_name(value: dict[str, Any], where: tuple) -> str:
    args = value.get("__args__") or []
    names = {k: value[k] for k in ("name", "uri") if k in value}
    other = sorted(set(value) - {"__type__", "__args__", "name", "uri"})
    if other:
        raise Unconvertible(where + (other[0],), f"asset argument '{other[0]}' (etlc names an asset by one string)")
    given = [*args, *names.values()]
    if not given or len(set(map(str, given))) != 1 or not isinstance(given[0], str):
        raise Unconvertible(where, "an asset needs one name or uri (a name and a uri that differ have no etlc form)")
    return given[0]


def _every(value: dict[str, Any]) -> str:
    rest = {k: v for k, v in value.items() if k != "__type__"}
    if "__args__" in rest or set(rest) - set(_TIMEDELTA_UNITS):
        raise Unconvertible((), "a timedelta given other than by weeks, days, hours, minutes, seconds")
    total = sum(v * _TIMEDELTA_UNITS[k] for k, v in rest.items() if isinstance(v, (int, float)))
    every = duration(total) if all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                   for v in rest.values()) and total > 0 else None
    if every is None:
        raise Unconvertible((), "a timedelta that is not a positive whole number of seconds")
    return every


def _assets_or_time(value: dict[str, Any]) -> dict[str, Any]:
    if set(value) != {"__type__", "timetable", "assets"}:
        raise Unconvertible((), "AssetOrTimeSchedule takes 'timetable' and 'assets' (keyword arguments) only")
    time = _timetable(value["timetable"], ("timetable",)) if isinstance(value["timetable"], dict) else None
    if not isinstance(time, dict) or set(time) != {"cron", "timezone"}:
        raise Unconvertible(("timetable",), "assets or time in etlc take a CronTriggerTimetable with cron and timezone")
    return {"assets": _assets(value["assets"], ("assets",), top=True), "external": True, **time}


def _timetable(value: dict[str, Any], where: tuple) -> dict[str, Any]:
    """`{timetable: Class, args, kwargs}`; a CronTriggerTimetable of cron and timezone is `{cron, timezone}`."""
    kind = value.get("__type__")
    if not isinstance(kind, str) or "." not in kind:
        raise Unconvertible(where, "a timetable needs '__type__: package.module.Class'")
    args = value.get("__args__") or []
    kwargs = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
    if not isinstance(args, list):
        raise Unconvertible(where + ("__args__",), "'__args__' must be a list")
    for sub, item in [*((("__args__", i), v) for i, v in enumerate(args)), *(((k,), v) for k, v in kwargs.items())]:
        if not _plain(item):
            raise Unconvertible(where + sub, "a timetable argument that is no plain data (etlc's timetable "
                                             "args and kwargs take strings, numbers, booleans, lists, mappings)")
    if kind in CRON_TRIGGER and not args and set(kwargs) == {"cron", "timezone"}:
        return {"cron": kwargs["cron"], "timezone": kwargs["timezone"]}
    module, _, cls = kind.rpartition(".")
    name = cls if cls in SDK_TIMETABLES and module.split(".")[0] == "airflow" else f"{module}:{cls}"
    out: dict[str, Any] = {"timetable": name}
    if args:
        out["args"] = args
    if kwargs:
        out["kwargs"] = kwargs
    return out


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return "__type__" not in value and all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN)
