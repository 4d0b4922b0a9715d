"""Schedules: cron fields checked for range (E206 at the bad field), the object forms of
`schedule:` checked (E330) and rendered as Python source for the DAG file.

Forms (see docs/spec-reference.md, "Schedules"):

- a cron string or a preset (`"0 6 * * 1-5"`, `"@daily"`);
- `{cron: "0 6 * * *", timezone: Europe/Paris}`: a cron in a time zone (CronTriggerTimetable);
- `{every: 1h}`: a fixed interval (a timedelta);
- `{timetable: CronTriggerTimetable | module:Class, args: [...], kwargs: {...}}`;
- `{assets: [a, {or: [b, {and: [c, d]}]}], external: true, cron: ..., timezone: ...}`: assets
  (a list is all of them; `and`/`or` nest), or assets-or-time with `cron`.

Rendering returns source text built only from `pyliteral` and checked identifiers, plus the
imports it needs: nothing from the spec becomes code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .pyliteral import pyliteral
from .task_settings import plain_keyword

# name, low, high, names (index = value) for each cron field; a sixth field is seconds
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
    ("second", 0, 59, {}),
)
_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+|[^0-9A-Za-z]")
SDK_TIMETABLES = ("CronTriggerTimetable", "MultipleCronTriggerTimetable", "DeltaTriggerTimetable",
                  "EventsTimetable", "CronDataIntervalTimetable", "DeltaDataIntervalTimetable",
                  "CronPartitionTimetable")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
KINDS = ("cron", "every", "timetable", "assets")
COMPANIONS = {"timezone": ("cron",), "external": ("assets",), "args": ("timetable",),
              "kwargs": ("timetable",)}


def cron_errors(text: str) -> list[tuple[int, int, str]]:
    """(start, end, message) for each out-of-range value of a cron string (0-based offsets).

    The form (field count, characters) is the schema's (E205); here each number and name is
    checked against its field's range, with croniter's extensions: `?`, `L`, `nW`, `n#k`.
    """
    fields = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    out: list[tuple[int, int, str]] = []
    if not 5 <= len(fields) <= 6:
        return out
    for (start, field), (name, low, high, names) in zip(fields, FIELDS, strict=False):
        out += _field_errors(field, start, name, low, high, names)
    return out


def _field_errors(field: str, start: int, name: str, low: int, high: int,
                  names: dict[str, int]) -> list[tuple[int, int, str]]:
    out = []
    offset = start
    for element in field.split(","):
        base, _, step = element.partition("/")
        if step:
            s_at = offset + len(base) + 1
            if not step.isdigit() or int(step) == 0:
                out.append((s_at, s_at + len(step), f"step '{step}' of the {name} field must be a whole number above 0"))
        for m in _TOKEN.finditer(base):
            tok, at = m.group(), offset + m.start()
            if tok.isdigit() and _after(base, m.start(), "#"):
                if not 1 <= int(tok) <= 5:
                    out.append((at, at + len(tok), f"'#{tok}' in the {name} field: the week must be 1 to 5"))
            elif tok.isdigit():
                if not low <= int(tok) <= high:
                    out.append((at, at + len(tok), f"{int(tok)} is out of range for the {name} field ({low}-{high})"))
            elif tok.isalpha():
                if tok.upper() in names or tok.upper() in ("L", "W", "LW", "H"):
                    continue
                allowed = ", ".join(names) if names else "numbers"
                out.append((at, at + len(tok), f"'{tok}' is not a value of the {name} field ({allowed})"))
        offset += len(element) + 1
    return out


def _after(text: str, index: int, char: str) -> bool:
    return index > 0 and text[index - 1] == char


def check(loaded: LoadedSpec, raw: dict[str, Any]) -> list[Diagnostic]:
    """E206 for cron values out of range, E330 for object forms that make no schedule."""
    value = raw.get("schedule")
    diags: list[Diagnostic] = []
    if isinstance(value, str) and not value.startswith("@"):
        diags += _cron_diags(loaded, ("schedule",), value)
    if not isinstance(value, dict):
        return diags
    kinds = [k for k in KINDS if k in value]
    base = ("schedule",)
    if not kinds:  # the schema's E202
        return diags
    if len(kinds) > 1 and set(kinds) != {"assets", "cron"}:
        return [loaded.diag("E330", f"'{kinds[1]}' does not combine with '{kinds[0]}' in one schedule",
                            base + (kinds[1],), at="key",
                            help="only assets and cron combine (assets or time)")]
    for key, needs in COMPANIONS.items():
        if key in value and not any(k in value for k in needs):
            diags.append(loaded.diag("E330", f"'{key}' belongs to a schedule with {' or '.join(needs)}",
                                     base + (key,), at="key"))
    if isinstance(value.get("cron"), str):
        diags += _cron_diags(loaded, base + ("cron",), value["cron"])
    tz = value.get("timezone")
    if isinstance(tz, str) and tz not in time_zones():
        diags.append(loaded.diag("E330", f"unknown time zone '{tz}'", base + ("timezone",),
                                 help=did_you_mean(tz, time_zones()) or "an IANA name such as Europe/Paris"))
    tt = value.get("timetable")
    if isinstance(tt, str) and tt not in SDK_TIMETABLES and not _DOTTED.fullmatch(tt):
        diags.append(loaded.diag("E330", f"timetable '{tt}' is neither an airflow.sdk timetable nor module:Class",
                                 base + ("timetable",),
                                 help=did_you_mean(tt, SDK_TIMETABLES) or "e.g. CronTriggerTimetable"))
    elif isinstance(tt, str) and ":" in tt and tt.split(":")[0].split(".")[0] in _stdlib():
        diags.append(loaded.diag("E330", f"timetable '{tt}' is in the standard library, which has no timetable",
                                 base + ("timetable",)))
    return diags


def _cron_diags(loaded: LoadedSpec, path: tuple, text: str) -> list[Diagnostic]:
    diags = []
    for start, end, message in cron_errors(text):
        line, col, end_col = loaded.span_in_string(path, start, end)
        diags.append(Diagnostic(loaded.path, line, col, "E206", message, "error", line if end_col else None,
                                end_col, "minute 0-59, hour 0-23, day of month 1-31, month 1-12, "
                                "day of week 0-7 (0 and 7: Sunday), second 0-59"))
    return diags


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


@lru_cache(maxsize=1)
def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)


def asset_leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(path below `assets`, name) of every asset in a condition (a list, `and`, `or`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from asset_leaves(item, path + (i,))
    elif isinstance(value, dict):
        for key in ("and", "or"):
            if key in value:
                yield from asset_leaves(value[key], path + (key,))


def _condition(value: Any, top: bool = False, as_list: bool = True) -> str:
    """Source of an asset condition: a list of names stays a list at the top (`as_list`)."""
    if isinstance(value, str):
        return f"Asset({pyliteral(value)})"
    if isinstance(value, list):
        if top and as_list and all(isinstance(v, str) for v in value):
            return "[" + ", ".join(_condition(v) for v in value) + "]"
        return _join(value, " & ", top)
    key = "and" if "and" in value else "or"
    return _join(value[key], " & " if key == "and" else " | ", top)


def _join(items: list, op: str, top: bool) -> str:
    text = op.join(_condition(v) for v in items)
    return text if top or len(items) == 1 else f"({text})"


def render(value: Any, duration) -> tuple[str, set[str], dict[str, str]]:
    """(source of the `schedule=` value, names to import from airflow.sdk, {alias: module:Class}
    for timetables from other modules). `duration` renders a duration string as a timedelta."""
    if not isinstance(value, dict):
        return pyliteral(value), set(), {}
    sdk: set[str] = set()
    if "assets" in value:
        sdk.add("Asset")
        if "cron" not in value:
            return _condition(value["assets"], top=True), sdk, {}
        sdk |= {"AssetOrTimeSchedule", "CronTriggerTimetable"}
        cond = _condition(value["assets"], top=True, as_list=False)
        return (f"AssetOrTimeSchedule(timetable={_cron(value, sdk)}, assets={cond})", sdk, {})
    if "cron" in value:
        if "timezone" not in value:
            return pyliteral(value["cron"]), set(), {}
        sdk.add("CronTriggerTimetable")
        return _cron(value, sdk), sdk, {}
    if "every" in value:
        return duration(value["every"]), set(), {}
    name = value["timetable"]
    extra: dict[str, str] = {}
    if ":" in name:
        alias = "_tt_" + name.rsplit(":", 1)[1]
        extra[alias] = name
    else:
        alias = name
        sdk.add(name)
    parts = [pyliteral(a) for a in value.get("args") or []]
    kwargs = value.get("kwargs") or {}
    parts += [f"{k}={pyliteral(v)}" for k, v in kwargs.items() if plain_keyword(k)]
    odd = {k: v for k, v in kwargs.items() if not plain_keyword(k)}
    if odd:
        parts.append(f"**{pyliteral(odd)}")
    return f"{alias}({', '.join(p for p in parts if p)})", sdk, extra


def _cron(value: dict[str, Any], sdk: set[str]) -> str:
    sdk.add("CronTriggerTimetable")
    return f"CronTriggerTimetable({pyliteral(value['cron'])}, timezone={pyliteral(value.get('timezone', 'UTC'))})"
