"""The date and time functions of the expression language: their types, argument checks (a
unit, a format or a zone is a constant, checked here at compile time) and docs (rows of the
function table, ``functions``)."""
from __future__ import annotations

from .fn_base import NOT_CONST, NUM_NULL, STR_NULL, Function, constant_text, need
from .types import DATE, FLOAT, INT, STRING, TIMESTAMP, TIMESTAMPTZ, is_numeric, is_temporal, stamp

__all__ = ["CLOCK", "DATES", "DATE_UNITS", "FORMAT_CODES", "format_error", "zone_rule"]


def _date_part(args, consts):
    return need(is_temporal, "a date or timestamp", 0, args[0]) or INT


def _to_temporal(result):
    def r(args, consts):
        t = args[0]
        if len(args) == 2:
            return (need(lambda x: x.name == "string", "a string", 0, t)
                    or need(lambda x: x.name == "string", "a format string", 1, args[1])
                    or result)
        ok = (lambda x: x.name == "string" or is_temporal(x)
              or (result.name == "timestamp" and is_numeric(x)))
        what = ("a string, date, timestamp or number (epoch seconds)" if result == TIMESTAMP
                else "a string, date or timestamp")
        return need(ok, what, 0, t) or result
    return r


DATE_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second",
              "millisecond")
# strftime/strptime directives that pandas and DuckDB read and write alike
FORMAT_CODES = frozenset("YmdHMSfjaAbByIp%")


def _unit(args, consts, i: int = 0):
    err = need(lambda t: t.name == "string", "a string (the unit)", i, args[i])
    if err:
        return err
    if consts[i] is NOT_CONST or consts[i] is None:
        return (i, "the unit must be a constant string: " + ", ".join(DATE_UNITS))
    if str(consts[i]).lower() not in DATE_UNITS:
        return (i, f"unknown unit '{consts[i]}'; units are " + ", ".join(DATE_UNITS))
    return None


def format_error(fmt: str) -> str | None:
    """Why a strftime/strptime format is refused, or None."""
    k = 0
    while k < len(fmt):
        if fmt[k] == "%":
            if k + 1 >= len(fmt) or fmt[k + 1] not in FORMAT_CODES:
                code = fmt[k:k + 2]
                return (f"format code '{code}' is not supported; use "
                        + " ".join("%" + c for c in sorted(FORMAT_CODES)))
            k += 2
        else:
            k += 1
    return None


def zone_rule(args, consts):
    """timezone(zone, t): a constant IANA zone (E418 otherwise, docs/codes.md); a timestamp
    gives a timestamptz and a timestamptz a timestamp (DuckDB's AT TIME ZONE)."""
    from .zones import UNKNOWN_ZONE, zone_error
    err = need(lambda t: t.name == "string", "a string (the zone)", 0, args[0])
    if err:
        return err
    if consts[0] is NOT_CONST:
        return (0, "the zone must be a constant string, e.g. 'America/Sao_Paulo'")
    why = zone_error(str(consts[0])) if consts[0] is not None else None
    if why:
        return (0, why, UNKNOWN_ZONE)
    t = args[1]
    err = need(lambda x: x.name in ("timestamp", "timestamptz"), "a timestamp or timestamptz",
                1, t)
    if err:
        return err
    return TIMESTAMP if t.name == "timestamptz" else TIMESTAMPTZ if t.name == "timestamp" \
        else t


def _date_trunc(args, consts):
    return (_unit(args, consts) or need(is_temporal, "a date or timestamp", 1, args[1])
            or stamp(args[1]))


def _date_diff(args, consts):
    return (_unit(args, consts) or need(is_temporal, "a date or timestamp", 1, args[1])
            or need(is_temporal, "a date or timestamp", 2, args[2]) or INT)


def _epoch(args, consts):
    return need(lambda t: is_temporal(t) or t.name == "interval",
                 "a date, timestamp or interval", 0, args[0]) or FLOAT


def _date_add(args, consts):
    return (need(is_temporal, "a date or timestamp", 0, args[0])
            or need(lambda t: t.name == "interval", "an interval", 1, args[1])
            or stamp(args[0]))


def _strftime(args, consts):
    return (need(is_temporal, "a date or timestamp", 0, args[0]) or _format(1)(args, consts)
            or STRING)


def _strptime(args, consts):
    return (need(lambda t: t.name == "string", "a string", 0, args[0])
            or _format(1)(args, consts) or TIMESTAMP)


_format = constant_text("format", lambda f: format_error(f))


# date and time parts: (name, what it gives); each takes a date or timestamp, gives an int
_PARTS = [
    ("year", "the year"),
    ("month", "the month, 1-12"),
    ("day", "the day of the month, 1-31"),
    ("hour", "the hour, 0-23 (0 for a date)"),
    ("minute", "the minute, 0-59"),
    ("second", "the second, 0-59 (no fraction)"),
    ("millisecond", "seconds and milliseconds in milliseconds, 0-59999 (DuckDB's)"),
    ("dayofweek", "the day of the week, 0 (Sunday) to 6 (Saturday)"),
    ("dayofyear", "the day of the year, 1-366"),
    ("week", "the ISO week number, 1-53"),
    ("quarter", "the quarter, 1-4"),
]


def _part_fn(name: str, doc: str) -> Function:
    return Function(name, 1, 1, False, _date_part, f"{name}(d: date | timestamp)", "int",
                    NUM_NULL, doc)


DATES = [
    *[_part_fn(n, d) for n, d in _PARTS],
    Function("date_trunc", 2, 2, False, _date_trunc, "date_trunc(unit: string, t: date | "
             "timestamp)", "timestamp", STR_NULL,
             "t cut down to the start of its unit (year quarter month week day hour minute "
             "second millisecond; a week starts on Monday); the unit is a constant"),
    Function("date_diff", 3, 3, False, _date_diff, "date_diff(unit: string, a: date | timestamp,"
             " b: date | timestamp)", "int", STR_NULL,
             "the number of unit boundaries from a to b (negative when b is earlier): "
             "date_diff('month', date '2020-01-31', date '2020-02-01') is 1; weeks are whole "
             "7-day spans of the day count"),
    Function("epoch", 1, 1, False, _epoch, "epoch(t: date | timestamp | interval)", "float",
             NUM_NULL, "seconds since 1970-01-01 00:00:00 (with the fraction); of an "
                        "interval, its length in seconds (a month counts 30 days, as DuckDB)"),
    Function("date_add", 2, 2, False, _date_add, "date_add(t: date | timestamp, i: interval)",
             "timestamp", STR_NULL, "t + i: months first (the day clamped to the month's "
                                     "end: 2020-01-31 + 1 month is 2020-02-29), then days, then "
                                     "the time"),
    Function("strftime", 2, 2, False, _strftime, "strftime(t: date | timestamp, format: string)",
             "string", STR_NULL, "t as text in a constant format of the codes %Y %m %d %H %M "
             "%S %f %j %a %A %b %B %y %I %p %%"),
    Function("strptime", 2, 2, False, _strptime, "strptime(s: string, format: string)",
             "timestamp", STR_NULL, "parses s with a constant format (the codes of "
             "strftime); a string that does not parse is a run-time error"),
    Function("to_date", 1, 2, False, _to_temporal(DATE),
             "to_date(s: string, format: string = ISO) | to_date(t: date | timestamp)", "date",
             STR_NULL, "parses 'YYYY-MM-DD' (or the strptime format, e.g. '%Y%m%d'); a "
                        "timestamp loses its time; a string that does not parse is a run-time "
                        "error"),
    Function("to_timestamp", 1, 2, False, _to_temporal(TIMESTAMP),
             "to_timestamp(s: string, format: string = ISO) | to_timestamp(d: date) | "
             "to_timestamp(x: number)", "timestamp", STR_NULL,
             "parses 'YYYY-MM-DD HH:MM:SS[.ffffff]' (or the strptime format); a number is "
             "seconds since 1970-01-01 (UTC, no time zone kept); a string that does not "
             "parse is a run-time error"),
]

CLOCK = [
    Function("now", 0, 0, False, lambda a, c: TIMESTAMP, "now()", "timestamp", "never null",
             "the run's logical date and time (UTC), not the wall clock: a rerun of the same "
             "date gives the same answer"),
    Function("today", 0, 0, False, lambda a, c: DATE, "today()", "date", "never null",
             "the date of the run's logical date (UTC)"),
    Function("timezone", 2, 2, False, zone_rule, "timezone(zone: string, t: timestamp | "
             "timestamptz) | t at time zone zone", "timestamptz for a timestamp, timestamp for "
             "a timestamptz", STR_NULL, "a timestamptz as the local time of the zone (an IANA "
             "name such as 'America/Sao_Paulo', a constant); a timestamp read as a local time of "
             "the zone, the instant it names (a time in a DST gap takes the offset before the "
             "change, a repeated time the later instant, as DuckDB)"),
]
