"""Window functions on pandas (``f(...) over (partition by ... order by ...)``), as DuckDB
computes them: rows are ordered within each partition (nulls last, ascending or descending,
ties kept in row order), each function is computed on the ordered rows and the results go
back to the rows' own order. With an order, an aggregate is running (from the partition's
first row to the last row ordered equal to the current one, SQL's default frame); without
one it covers the whole partition."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import ast as A
from . import int_sums
from .pandas_columns import is_series
from .pandas_nan import nan_flags
from .pandas_numeric import float_values, floats, snap

__all__ = ["window"]


def _column(ev, e, t) -> pd.Series:
    v = ev.ev(e)
    return v if is_series(v) else ev.series(v, t)


def _order(ev, e: A.Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions in window order, partition id per ordered row, peer-group start flag per
    ordered row)."""
    n = ev.n
    cols, asc = {}, []
    for k, p in enumerate(e.partition):
        s = _column(ev, p, ev.typ(p)).reset_index(drop=True)
        cols[f"p{k}"] = pd.Series(pd.factorize(s, use_na_sentinel=False)[0])
        asc.append(True)
    for k, (o, desc) in enumerate(e.order):
        s = _column(ev, o, ev.typ(o)).reset_index(drop=True)
        cols[f"o{k}"] = s
        asc.append(not desc)
    cols["__pos"] = pd.Series(np.arange(n))
    asc.append(True)
    frame = pd.DataFrame(cols)
    ordered = frame.sort_values(list(cols), ascending=asc, na_position="last", kind="stable")
    pos = ordered["__pos"].to_numpy()
    part_cols = [c for c in cols if c.startswith("p")]
    order_cols = [c for c in cols if c.startswith("o")]
    new_part = np.zeros(n, bool)
    if n:
        new_part[0] = True
    for c in part_cols:
        v = ordered[c].to_numpy()
        new_part[1:] |= v[1:] != v[:-1]
    new_peer = new_part.copy()
    for c in order_cols:
        codes = pd.factorize(ordered[c], use_na_sentinel=False)[0]  # nulls: one code
        new_peer[1:] |= codes[1:] != codes[:-1]
    part_id = np.cumsum(new_part) - 1
    return pos, part_id, new_peer


def _back(values: pd.Series, pos: np.ndarray, index) -> pd.Series:
    """Values in window order put back in row order."""
    out = values.copy()
    out.index = pos
    return out.sort_index().set_axis(index)


def _peer_last(values: np.ndarray, new_peer: np.ndarray) -> np.ndarray:
    """Each row takes the value of the last row of its peer group (the default frame)."""
    if not len(values):
        return values
    peer_id = np.cumsum(new_peer) - 1
    last = np.flatnonzero(np.r_[new_peer[1:], True])
    return values[last[peer_id]]


def window(ev, e: A.Window):
    f, tr = e.func, ev.typ(e)
    n = ev.n
    pos, part, new_peer = _order(ev, e)
    g = pd.Series(part)
    idx = np.arange(n)
    first_in_part = idx - g.groupby(part).cumcount().to_numpy()
    name = f.name
    if name == "row_number":
        res = pd.Series(idx - first_in_part + 1, dtype="Int64")
    elif name in ("rank", "dense_rank"):
        if name == "rank":
            start = np.maximum.accumulate(np.where(new_peer, idx, 0))
            res = pd.Series(start - first_in_part + 1, dtype="Int64")
        else:
            res = pd.Series(pd.Series(new_peer.astype(np.int64)).groupby(part).cumsum()
                            .to_numpy(), dtype="Int64")
    else:
        x = _column(ev, f.args[0], ev.typ(f.args[0])) if f.args else None
        # a mean of ints sums the ints (exact, as DuckDB's HUGEINT sum), not doubles
        xs = ev.series(x, tr if name not in ("count", "mean") else ev.typ(f.args[0])) \
            if x is not None else None
        xs = xs.iloc[pos].reset_index(drop=True) if xs is not None else None
        if name in ("lag", "lead"):
            k = int(ev.ev(f.args[1])) if len(f.args) > 1 else 1
            res = xs.groupby(part).shift(k if name == "lag" else -k)
            if len(f.args) == 3:
                d = ev.ev(f.args[2])
                if d is not None:
                    d = ev.series(d, tr)
                    d = d.iloc[pos].reset_index(drop=True) if is_series(d) else d
                    outside = (idx - k < first_in_part) if name == "lag" else \
                        (idx + k > _part_last(part, idx))
                    res = res.mask(outside, d)
        elif name == "first_value":
            res = pd.Series(xs.to_numpy(dtype=object)[first_in_part])
            res = ev.series(res, tr)
        elif name == "last_value":
            if e.order:
                vals = xs.to_numpy(dtype=object)
                res = ev.series(pd.Series(_peer_last(vals, new_peer)), tr)
            else:
                res = ev.series(pd.Series(xs.to_numpy(dtype=object)[_part_last(part, idx)]), tr)
        else:
            res = _aggregate(ev, name, f.star, xs, part, new_peer, bool(e.order), tr, n,
                             order_pos=pos)
    return _back(ev.series(res.reset_index(drop=True), tr), pos, ev.index)


def _part_last(part: np.ndarray, idx: np.ndarray) -> np.ndarray:
    last = np.flatnonzero(np.r_[part[1:] != part[:-1], True]) if len(part) else part
    return last[part] if len(part) else idx


def _aggregate(ev, name, star, xs, part, new_peer, running: bool, tr, n, order_pos=None):
    if star:
        cnt = np.ones(n, np.int64)
        valid = np.ones(n, bool)
    else:
        valid = xs.notna().to_numpy()
        cnt = valid.astype(np.int64)
    if not running:
        ccount = pd.Series(cnt).groupby(part).transform("sum").to_numpy()
    else:
        ccount = _peer_last(pd.Series(cnt).groupby(part).cumsum().to_numpy(), new_peer)
    if name == "count":
        return pd.Series(ccount, dtype="Int64")
    if name in ("sum", "mean"):
        scale = (tr.scale or 0) if name == "sum" and tr.name == "decimal" else None
        if scale is not None:   # a decimal sum adds unscaled ints, exactly (pandas_agg)
            from .pandas_agg import unscaled_ints
            xs = unscaled_ints(xs, scale)
        if tr.name == "int" or scale is not None or (name == "mean" and xs.dtype == "Int64"):
            v = xs.to_numpy(dtype=np.int64, na_value=0) if xs.dtype == "Int64" else None
        else:
            v = None
        odd = None
        if v is None:
            fv, _ = floats(xs)
            # pandas' sums skip NaN and its running sums turn inf into NaN: NaN and +-inf
            # are counted apart and decide the sum as IEEE does
            odd = [valid & np.isnan(fv), valid & (fv == np.inf), valid & (fv == -np.inf)]
            v = np.where(valid & np.isfinite(fv), fv, 0.0)

        def total_of(w: np.ndarray) -> np.ndarray:
            return pd.Series(w).groupby(part).transform("sum").to_numpy() if not running \
                else _peer_last(pd.Series(w).groupby(part).cumsum().to_numpy(), new_peer)
        total = total_of(v)
        if odd is not None and any(o.any() for o in odd):
            nan, pos, neg = (total_of(o.astype(np.int64)) > 0 for o in odd)
            total = np.select([nan | (pos & neg), pos, neg], [np.nan, np.inf, -np.inf], total)
        none = ccount == 0
        if odd is None and not int_sums.small(xs):   # int64 sums wrap: int_sums
            total = _int_total(ev, total, total_of(v.astype(np.float64)), none, name, order_pos)
        if name == "mean":
            with np.errstate(all="ignore"):
                return float_values(total / np.where(none, 1, ccount), none, pd.RangeIndex(n))
        if tr.name == "int":
            return pd.Series(pd.arrays.IntegerArray(total.astype(np.int64), none))
        out = float_values(total.astype(np.float64), none, pd.RangeIndex(n))
        if scale is not None:   # R041 where the sum has 16 or more digits
            return snap(out / 10.0 ** scale, scale)
        return out.round(tr.scale or 0) if tr.name == "decimal" else out
    return _min_max(ev, name, xs, part, new_peer, running, tr)


def _int_total(ev, total: np.ndarray, ftotal: np.ndarray, none: np.ndarray, name: str,
               pos) -> np.ndarray:
    """The int window sums ``total``, R041 at the first row (in row order) whose sum is
    beyond 64 bits (DuckDB: its HUGEINT sum does not convert back); a ``mean``'s sums as
    the true sums (doubles) where they wrapped."""
    w = pd.Series(pd.arrays.IntegerArray(total.astype(np.int64), none))
    bad = int_sums.wrapped(w, ftotal)
    if not bad.any():
        return total
    if name == "mean":
        return int_sums.unwrapped(w, pd.Series(ftotal)).to_numpy(np.float64, na_value=0.0)
    rows = np.flatnonzero(bad)
    i = int(rows[np.argmin(pos[rows])]) if pos is not None else int(rows[0])
    value = int_sums.true_sum(total[i], ftotal[i])
    row = int(pos[i]) if pos is not None else i
    raise ev.fail("value out of range for int: a window sum of ints beyond 64 bits", value,
                  row=ev.index[row] if row < len(ev.index) else row)


def _min_max(ev, name, xs, part, new_peer, running: bool, tr) -> pd.Series:
    """``min``/``max`` over the window, NaN above every number (docs/expressions.md, "NaN"):
    pandas' reductions read NaN as missing, so NaN rows are counted apart: ``max`` is NaN
    once the frame holds one, ``min`` only when the frame holds nothing else."""
    flags = nan_flags(xs) if tr.name == "float" else None
    if flags is not None:
        xs = xs.mask(pd.Series(flags, index=xs.index))
    if not running:
        res = xs.groupby(part).transform(name)
    else:
        how = "cummin" if name == "min" else "cummax"
        acc = getattr(xs.groupby(part), how)().groupby(part).ffill()
        res = ev.series(pd.Series(_peer_last(acc.to_numpy(dtype=object), new_peer)), tr)
    if flags is None:
        return res
    seen = pd.Series(flags.astype(np.int64)).groupby(part)
    seen = (seen.transform("sum").to_numpy() if not running
            else _peer_last(seen.cumsum().to_numpy(), new_peer)) > 0
    values, mask = floats(res)
    put = seen if name == "max" else seen & mask
    return float_values(np.where(put, np.nan, values), mask & ~put, res.index)
