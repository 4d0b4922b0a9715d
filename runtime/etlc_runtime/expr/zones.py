"""Time zone names in expressions (``t at time zone 'America/Sao_Paulo'``,
``timezone(zone, t)``): checked at compile time against the IANA database that Python's
``zoneinfo`` reads (the system's, else the ``tzdata`` package), the same names DuckDB's ICU
knows.  Pandas-free: the type checker reads it."""
from __future__ import annotations

import difflib
import functools
import zoneinfo

UNKNOWN_ZONE = "E418"  # docs/codes.md


@functools.lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA zone name (with ``UTC``)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def zone_error(name: str) -> str | None:
    """Why ``name`` is not a zone (with the nearest names), or None."""
    if name in zone_names():
        return None
    near = difflib.get_close_matches(name, sorted(zone_names()), n=3, cutoff=0.6)
    return (f"unknown time zone '{name}'" + (f"; did you mean {', '.join(map(repr, near))}?"
                                             if near else "; zones are IANA names such as "
                                             "'America/Sao_Paulo' or 'UTC'"))


@functools.lru_cache(maxsize=64)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)
