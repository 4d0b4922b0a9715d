"""Hive-style partition folder names (``col=value``), escaped and unescaped as Hive does.

Escaping follows Hive's ``FileUtils.escapePathName`` (Spark uses the same table): control
characters ``\\x00``-``\\x1f``, ``"``, ``#``, ``%``, ``'``, ``*``, ``/``, ``:``, ``=``, ``?``,
``\\``, ``\\x7f``, ``{``, ``[``, ``]`` and ``^`` become ``%XX`` (upper-case hex); every other
character, non-ASCII included, stays as it is.  Unescaping turns each ``%XX`` back.

A null value is written as ``__HIVE_DEFAULT_PARTITION__``.  The *string*
``__HIVE_DEFAULT_PARTITION__`` is written with its first ``_`` escaped
(``%5F_HIVE_DEFAULT_PARTITION__``), which Hive/Spark unescape to the same string, so a null and
that string never share a folder.  An empty string is written as ``col=`` (Hive and Spark
fold it into the null partition; etlc keeps the two apart).

Values become text exactly (:func:`value_text`): timestamps keep every fractional digit they
have (``2025-01-02 03:04:05.000001``), so values that differ below the second get different
folders; floats use Python's shortest round-trip form.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import sys
from typing import Any

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_ESCAPED = frozenset([chr(c) for c in range(0x20)]
                     + ['"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '\x7f', '{',
                        '[', ']', '^'])
_HEX = frozenset("0123456789abcdefABCDEF")


def escape(text: str) -> str:
    """Hive's escapePathName: the characters above as ``%XX``."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in text)


def unescape(text: str) -> str:
    """Hive's unescapePathName: every ``%XX`` (two hex digits) back to its character."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%" and i + 2 < len(text) and text[i + 1] in _HEX and text[i + 2] in _HEX:
            out.append(chr(int(text[i + 1:i + 3], 16)))
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def value_text(value: Any) -> str | None:
    """The exact text of a partition value; None for null."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        # a pandas value exists only once pandas is imported: engines without it skip it
        pd = sys.modules.get("pandas")
        if pd is None:
            raise ImportError("pandas")
        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, _dt.datetime) and not isinstance(value, pd.Timestamp):
            value = pd.Timestamp(value)
        if isinstance(value, pd.Timestamp):
            # isoformat keeps microseconds and nanoseconds when they are not zero
            return value.isoformat(sep=" ")
    except ImportError:  # no pandas in this process (the duckdb engine)
        if isinstance(value, _dt.datetime):
            return value.isoformat(sep=" ")
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def name_of(value: Any) -> str:
    """The folder-name form of a value: escaped text, or the default partition for null."""
    text = value_text(value)
    if text is None:
        return HIVE_NULL
    if text == HIVE_NULL:
        return "%5F" + escape(text[1:])
    return escape(text)


def value_of(name: str) -> str | None:
    """The value text a folder-name form stands for (None for the default partition)."""
    return None if name == HIVE_NULL else unescape(name)


def segment(column: str, value: Any) -> str:
    """``col=value`` for one partition column."""
    return f"{escape(column)}={name_of(value)}"


def parse_segment(part: str) -> tuple[str, str | None] | None:
    """``(column, value text or None)`` of a ``col=value`` folder name; None if it is not one."""
    if "=" not in part:
        return None
    key, _, value = part.partition("=")
    return unescape(key), value_of(value)
