"""The text functions of the expression language: their types, argument checks (a pattern is
a constant in RE2 syntax, checked here at compile time) and docs (rows of the function table,
``functions``)."""
from __future__ import annotations

from .fn_base import NOT_CONST, NUM_NULL, STR_NULL, Function, args_ok, constant_text, need, typed
from .types import BOOL, INT, STRING, Type

__all__ = ["TEXT", "regex_error"]


def _string_fn(result):
    def r(args, consts):
        for i, t in enumerate(args):
            err = need(lambda x: x.name == "string", "a string", i, t)
            if err:
                return err
        return result
    return r


def _substr(args, consts):
    err = need(lambda t: t.name == "string", "a string", 0, args[0])
    for i in range(1, len(args)):
        err = err or need(lambda t: t.name == "int", "an int", i, args[i])
    return err or STRING


def regex_error(pattern: str) -> str | None:
    """Why a regular expression is refused (RE2 syntax, as DuckDB), or None.  Python's ``re``
    compiles it (an approximation of RE2); what RE2 lacks (look-around, back-references) is
    refused as RE2 would."""
    import re
    for bad, what in (("(?=", "look-ahead"), ("(?!", "look-ahead"), ("(?<=", "look-behind"),
                      ("(?<!", "look-behind")):
        if bad in pattern:
            return f"{what} '{bad}' is not in RE2 syntax"
    if re.search(r"(?<!\\)\\[1-9]", pattern):
        return "back-references (\\1) are not in RE2 syntax"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None

_regex = constant_text("pattern", lambda p: regex_error(p))


def _regexp(result: Type):
    def r(args, consts):
        return args_ok("ss", args, consts) or _regex(1)(args, consts) or result
    return r


def _rewrite_groups(by: str) -> int:
    """The largest group a regexp_replace replacement names (``\\1``; ``\\\\`` is a backslash)."""
    i, most = 0, 0
    while i < len(by) - 1:
        if by[i] == "\\":
            if by[i + 1].isdigit():
                most = max(most, int(by[i + 1]))
            i += 2
        else:
            i += 1
    return most


def _regexp_replace(args, consts):
    err = args_ok("ss", args, consts) or _regex(1)(args, consts)
    if err:
        return err
    if isinstance(consts[1], str) and isinstance(consts[2], str):
        import re
        try:
            groups = re.compile(consts[1]).groups
        except re.error:
            groups = None
        named = _rewrite_groups(consts[2])
        if groups is not None and named > groups:
            return (2, (f"the replacement names group {named}, and the pattern has "
                        f"{groups} group{'s' if groups != 1 else ''}"))
    if len(args) == 4 and (consts[3] is NOT_CONST or consts[3] not in ("g", "")):
        return (3, "the options must be the constant 'g' (replace every match) or ''")
    return STRING


def _regexp_extract(args, consts):
    err = args_ok("ss", args[:2], consts[:2]) or _regex(1)(args, consts)
    if err:
        return err
    if len(args) == 3:
        err = need(lambda t: t.name == "int", "an int (the group)", 2, args[2])
        if err:
            return err
        if consts[2] is NOT_CONST:
            return (2, "the group must be a constant")
    return STRING


TEXT = [
    # strings
    Function("lower", 1, 1, False, _string_fn(STRING), "lower(s: string)", "string", NUM_NULL,
             "lower case (Unicode)"),
    Function("upper", 1, 1, False, _string_fn(STRING), "upper(s: string)", "string", NUM_NULL,
             "upper case (Unicode)"),
    Function("trim", 1, 1, False, _string_fn(STRING), "trim(s: string)", "string", NUM_NULL,
             "removes leading and trailing spaces (' ' only, as in SQL)"),
    Function("length", 1, 1, False, _string_fn(INT), "length(s: string)", "int", NUM_NULL,
             "number of characters (Unicode code points)"),
    Function("substr", 2, 3, False, _substr, "substr(s: string, start: int, length: int = all)",
             "string", STR_NULL,
             "characters from 1-based start; a negative start counts from the end (-1 is the "
             "last character); a negative length takes characters before start (DuckDB's "
             "substring)"),
    Function("replace", 3, 3, False, _string_fn(STRING),
             "replace(s: string, from: string, to: string)", "string", STR_NULL,
             "replaces every occurrence of from (plain text, not a pattern); an empty from "
             "changes nothing"),
    Function("starts_with", 2, 2, False, _string_fn(BOOL), "starts_with(s: string, prefix: string)",
             "bool", STR_NULL, "whether s begins with prefix"),
    Function("ends_with", 2, 2, False, _string_fn(BOOL), "ends_with(s: string, suffix: string)",
             "bool", STR_NULL, "whether s ends with suffix"),
    Function("contains", 2, 2, False, _string_fn(BOOL), "contains(s: string, part: string)",
             "bool", STR_NULL, "whether part occurs in s (plain text)"),
    Function("concat", 1, None, False, typed("s", STRING), "concat(s1: string, s2: string, ...)",
             "string", "skips nulls (all null: '')", "the arguments joined (|| is null when "
                                                    "either side is)"),
    Function("concat_ws", 2, None, False, typed("s", STRING),
             "concat_ws(sep: string, s1: string, ...)", "string",
             "null when sep is null; skips null arguments", "the arguments joined by sep"),
    Function("split_part", 3, 3, False, typed("ssi", STRING),
             "split_part(s: string, sep: string, n: int)", "string", STR_NULL,
             "the n-th part of s split at sep (1-based; negative counts from the end; '' "
             "beyond the parts; an empty sep splits into characters)"),
    Function("lpad", 3, 3, False, typed("sis", STRING), "lpad(s: string, n: int, pad: string)",
             "string", STR_NULL, "s padded on the left with pad to n characters, or cut to "
                                  "n; an empty pad that is needed is a run-time error"),
    Function("rpad", 3, 3, False, typed("sis", STRING), "rpad(s: string, n: int, pad: string)",
             "string", STR_NULL, "s padded on the right with pad to n characters, or cut to n"),
    Function("ltrim", 1, 2, False, typed("s", STRING), "ltrim(s: string, chars: string = ' ')",
             "string", STR_NULL, "removes the leading characters found in chars"),
    Function("rtrim", 1, 2, False, typed("s", STRING), "rtrim(s: string, chars: string = ' ')",
             "string", STR_NULL, "removes the trailing characters found in chars"),
    Function("left", 2, 2, False, typed("si", STRING), "left(s: string, n: int)", "string",
             STR_NULL, "the first n characters (n < 0: all but the last -n)"),
    Function("right", 2, 2, False, typed("si", STRING), "right(s: string, n: int)", "string",
             STR_NULL, "the last n characters (n < 0: all but the first -n)"),
    Function("strpos", 2, 2, False, typed("ss", INT), "strpos(s: string, part: string)", "int",
             STR_NULL, "1-based position of the first part in s, 0 when absent (SQL's "
                        "position(part in s))"),
    Function("like", 2, 2, False, typed("ss", BOOL), "s like pattern | s not like pattern",
             "bool", STR_NULL, "whether all of s matches pattern: % any characters, _ one "
                                "character, no escape character"),
    Function("ilike", 2, 2, False, typed("ss", BOOL), "s ilike pattern | s not ilike pattern",
             "bool", STR_NULL, "like, ignoring letter case"),
    Function("regexp_matches", 2, 2, False, _regexp(BOOL),
             "regexp_matches(s: string, pattern: string)", "bool", STR_NULL,
             "whether the pattern (RE2 syntax, a constant checked at compile time) matches "
             "somewhere in s"),
    Function("regexp_replace", 3, 4, False, _regexp_replace,
             "regexp_replace(s: string, pattern: string, by: string, options: string = '')",
             "string", STR_NULL, "replaces the first match (every match with options 'g'); "
                                  "\\1 in by is the first group"),
    Function("regexp_extract", 2, 3, False, _regexp_extract,
             "regexp_extract(s: string, pattern: string, group: int = 0)", "string", STR_NULL,
             "the first match (or its group), '' when none"),
    Function("md5", 1, 1, False, typed("s", STRING), "md5(s: string)", "string", NUM_NULL,
             "the MD5 digest of s's UTF-8 bytes, 32 hex digits"),
    Function("sha256", 1, 1, False, typed("s", STRING), "sha256(s: string)", "string",
             NUM_NULL, "the SHA-256 digest of s's UTF-8 bytes, 64 hex digits"),
]
