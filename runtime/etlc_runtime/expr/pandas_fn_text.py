"""Text functions of the pandas evaluator: lower upper trim ltrim rtrim length substr replace
starts_with ends_with contains concat concat_ws split_part lpad rpad left right strpos like
ilike regexp_matches regexp_replace regexp_extract md5 sha256 (``impl(ev, args, types,
result_type)`` as in ``pandas_fn_numbers``).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .pandas_columns import STRING_DTYPE, by_distinct, is_series
from .types import STRING

__all__ = ["FUNCS"]


def _f_str(method, *extra):
    def impl(ev, a, t, tr):
        return getattr(a[0].str, method)(*extra)
    return impl


def _f_length(ev, a, t, tr):
    return a[0].str.len().astype("Int64")



def _slice_bounds(offset: int, length: int | None):
    """DuckDB substring(offset, length) as a Python slice (start, stop) or None for ''."""
    if length is None:
        if offset > 0:
            return offset - 1, None
        if offset < 0:
            return offset, None
        return 0, None
    if offset == 0:
        length -= 1
        if length <= 0:
            return None
        return 0, length
    if offset > 0:
        if length >= 0:
            return offset - 1, offset - 1 + length
        return max(0, offset - 1 + length), offset - 1
    # offset < 0: start = n + offset
    if length >= 0:
        stop = offset + length
        return offset, (None if stop >= 0 else stop)
    return offset + length, offset


def _substr_const(s: pd.Series, offset, length=None):
    b = _slice_bounds(int(offset), None if length is None else int(length))
    if b is None:
        return s.where(s.isna(), "")
    start, stop = b
    if start is not None and stop is not None and start < 0 <= stop:
        pass
    return s.str.slice(start, stop)


def _f_substr(ev, a, t, tr):
    s = a[0]
    rest = a[1:]
    if all(not is_series(v) for v in rest):
        return _substr_const(s, *rest)
    return by_distinct(ev, s, rest, _substr_const, STRING_DTYPE)


def _replace_const(s, old, new):
    if old == "":
        return s
    return s.str.replace(old, new, regex=False)


def _f_replace(ev, a, t, tr):
    s, old, new = a
    if not is_series(old) and not is_series(new):
        return _replace_const(s, old, new)
    return by_distinct(ev, s, [old, new], _replace_const, STRING_DTYPE)


def _f_pattern(method):
    def one(s, p):
        if method == "contains":
            return s.str.contains(p, regex=False)
        return getattr(s.str, method)(p)

    def impl(ev, a, t, tr):
        s, p = a
        if not is_series(s):  # constant subject, column pattern
            s = ev.series(s, STRING)
        if not is_series(p):
            return one(s, p).astype("boolean")
        return by_distinct(ev, s, [p], one, "boolean")
    return impl


# -- text ---------------------------------------------------------------------------------

def _obj(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=object, na_value=None)


def _texts(values, index) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype=STRING_DTYPE), index=index)


def _per_value(fn, result_dtype):
    """A function of plain Python values, applied once per distinct combination of the
    arguments (no row loop); the subject may be a column or a constant."""
    def apply(ev, s: pd.Series, rest: list) -> pd.Series:
        codes, uniques = pd.factorize(s)
        vals = []
        for k, u in enumerate(uniques.tolist()):
            try:
                vals.append(fn(u, *rest))
            except ValueError as exc:
                raise ev.fail(str(exc), u, s.index[codes == k][0]) from None
        out = [None if c < 0 else vals[c] for c in codes.tolist()]
        return pd.Series(pd.array(out, dtype=result_dtype), index=s.index)

    def impl(ev, a, t, tr):
        s = a[0] if is_series(a[0]) else ev.series(a[0], t[0])
        rest = [r.item() if isinstance(r, np.generic) else r for r in a[1:]]
        if all(not is_series(r) for r in rest):
            return apply(ev, s, rest)
        return by_distinct(ev, s, rest, lambda sub, *c: apply(ev, sub, list(c)), result_dtype)
    return impl


def _split_part(v: str, sep: str, n: int) -> str:
    parts = list(v) if sep == "" else v.split(sep)
    if n == 0 or abs(n) > len(parts):
        return ""
    return parts[n - 1] if n > 0 else parts[n]


def _pad(left: bool):
    def fn(v: str, n: int, pad: str) -> str:
        if n <= len(v):
            return v[:max(n, 0)]
        if pad == "":
            raise ValueError("an empty pad")
        fill = (pad * (n - len(v)))[:n - len(v)]
        return fill + v if left else v + fill
    return fn


def _left(v: str, n: int) -> str:
    return v[:n] if n >= 0 else v[:max(len(v) + n, 0)]


def _right(v: str, n: int) -> str:
    return (v[len(v) - n:] if n < len(v) else v) if n >= 0 else v[min(-n, len(v)):]


def _strpos(v: str, part: str) -> int:
    return v.find(part) + 1


def _like_regex(pattern: str, fold: bool):
    import re
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0))


def _like(fold: bool):
    import functools

    @functools.lru_cache(maxsize=256)
    def compiled(p):
        return _like_regex(p, fold)

    def fn(v: str, p: str) -> bool:
        return compiled(p).fullmatch(v) is not None
    return fn


def _regex(p: str):
    import re
    return re.compile(p)


def _regexp_matches(v: str, p: str) -> bool:
    return _regex(p).search(v) is not None


def _regexp_replace(v: str, p: str, by: str, options: str = "") -> str:
    return _regex(p).sub(by.replace("\\0", "\\g<0>"), v, count=0 if "g" in options else 1)


def _regexp_extract(v: str, p: str, group: int = 0) -> str:
    m = _regex(p).search(v)
    return (m.group(group) or "") if m and group <= m.re.groups else ""


def _arrow_regex(kind: str, slow):
    """regexp_matches / regexp_replace with constant arguments on Arrow's RE2 (the engine
    DuckDB uses too), whole columns at once; other calls go value by value (``slow``)."""
    def impl(ev, a, t, tr):
        if any(is_series(x) for x in a[1:]) or not is_series(a[0]):
            return slow(ev, a, t, tr)
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = pa.array(a[0].array)
        if kind == "matches":
            r = pc.match_substring_regex(arr, a[1])
            return pd.Series(r.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
                             .array, index=a[0].index)
        by = a[2]
        glob = len(a) > 3 and "g" in a[3]
        r = pc.replace_substring_regex(arr, a[1], by, max_replacements=None if glob else 1)
        return pd.Series(pd.array(r, dtype=STRING_DTYPE), index=a[0].index)
    return impl


def _arrow_extract(slow):
    """regexp_extract with a constant pattern and group on Arrow's RE2, whole columns at once:
    the string is replaced by the group of its first match (``^.*?(?:p).*$``), '' when the
    pattern does not match; other calls go value by value (``slow``)."""
    def impl(ev, a, t, tr):
        group = a[2] if len(a) > 2 else 0
        if any(is_series(x) for x in a[1:]) or not is_series(a[0]) \
                or not isinstance(group, int) or not 0 <= group <= min(9, _regex(a[1]).groups):
            return slow(ev, a, t, tr)  # DuckDB gives '' for a group the pattern lacks
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = pa.array(a[0].array)
        whole, ref = (f"({a[1]})", "\\1") if group == 0 else (f"(?:{a[1]})", f"\\{group}")
        hit = pc.match_substring_regex(arr, a[1])
        got = pc.replace_substring_regex(arr, f"(?s)^.*?{whole}.*$", ref, max_replacements=1)
        out = pc.if_else(hit, got, pa.scalar("", pa.string()))
        return pd.Series(pd.array(out, dtype=STRING_DTYPE), index=a[0].index)
    return impl


def _digest(name: str):
    def fn(v: str) -> str:
        return hashlib.new(name, v.encode("utf-8")).hexdigest()
    return fn


def _trim(left: bool):
    def fn(v: str, chars: str = " ") -> str:
        return v.lstrip(chars) if left else v.rstrip(chars)
    return fn


def _f_concat(ev, a, t, tr):
    parts = [ev.series(v, STRING).fillna("") for v in a if v is not None]
    if not parts:
        return ""
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _f_concat_ws(ev, a, t, tr):
    sep, rest = a[0], [v for v in a[1:] if v is not None]
    if sep is None:
        return None
    sep = ev.series(sep, STRING)
    out = None
    for v in rest:
        v = ev.series(v, STRING)
        if out is None:
            out = v
            continue
        both = out.notna() & v.notna()
        out = out.where(~both, out + sep + v).fillna(v)
    out = ev.series("", STRING) if out is None else out.fillna("")
    return out.mask(sep.isna())

FUNCS = {
    "lower": _f_str("lower"),
    "upper": _f_str("upper"),
    "trim": _f_str("strip", " "),
    "length": _f_length,
    "substr": _f_substr,
    "replace": _f_replace,
    "starts_with": _f_pattern("startswith"),
    "ends_with": _f_pattern("endswith"),
    "contains": _f_pattern("contains"),
    "concat": _f_concat,
    "concat_ws": _f_concat_ws,
    "split_part": _per_value(_split_part, STRING_DTYPE),
    "lpad": _per_value(_pad(True), STRING_DTYPE),
    "rpad": _per_value(_pad(False), STRING_DTYPE),
    "ltrim": _per_value(_trim(True), STRING_DTYPE),
    "rtrim": _per_value(_trim(False), STRING_DTYPE),
    "left": _per_value(_left, STRING_DTYPE),
    "right": _per_value(_right, STRING_DTYPE),
    "strpos": _per_value(_strpos, "Int64"),
    "like": _per_value(_like(False), "boolean"),
    "ilike": _per_value(_like(True), "boolean"),
    "regexp_matches": _arrow_regex("matches", _per_value(_regexp_matches, "boolean")),
    "regexp_replace": _arrow_regex("replace", _per_value(_regexp_replace, STRING_DTYPE)),
    "regexp_extract": _arrow_extract(_per_value(_regexp_extract, STRING_DTYPE)),
    "md5": _per_value(_digest("md5"), STRING_DTYPE),
    "sha256": _per_value(_digest("sha256"), STRING_DTYPE),
}
