"""Arrow decimal columns as float64 arrays, each value the nearest double, vectorised.

The pandas evaluator holds decimals as floats rounded to their scale (docs/types.md, decimal ->
float: "the nearest double"). Converting a ``decimal128[pyarrow]`` column value by value
through ``float(Decimal)`` cost most of a Q1 run; this gives the same doubles from the raw
128-bit words: an unscaled value ``u`` with ``|u| <= 2**53`` and a scale ``s <= 22`` is
``float(u) / 10.0**s``, one correctly rounded IEEE division of two exact doubles, which is
``float(Decimal)``'s nearest double.  Any other value (wider, or a larger scale) goes through
``float(Decimal)`` itself, one by one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_EXACT = 2 ** 53       # every integer up to this magnitude is a double
_MAX_SCALE = 22        # 10**22 is the largest power of ten a double holds exactly


def _unscaled(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the unscaled values as int64, whether each one fits int64) of a decimal128 chunk."""
    words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
    words = words[2 * chunk.offset: 2 * (chunk.offset + len(chunk))].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    return low, high == (low >> 63)   # the high word only extends the low word's sign


def _chunk_floats(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    mask = chunk.is_null().to_numpy(zero_copy_only=False)
    scale = chunk.type.scale
    if not pa.types.is_decimal128(chunk.type) or not 0 <= scale <= _MAX_SCALE or not len(chunk):
        values = np.array([np.nan if v is None else float(v) for v in chunk.to_pylist()], dtype=np.float64)
        return values, mask
    unscaled, fits = _unscaled(chunk)
    exact = fits & (unscaled >= -_EXACT) & (unscaled <= _EXACT) & ~mask
    values = np.where(exact, unscaled, 0).astype(np.float64) / 10.0 ** scale
    slow = np.flatnonzero(~exact & ~mask)
    if len(slow):
        values[slow] = [float(v) for v in chunk.take(pa.array(slow)).to_pylist()]
    values[mask] = np.nan
    return values, mask


def decimal_floats(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(the nearest double of each decimal, NaN at nulls; the null mask)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [_chunk_floats(c) for c in chunks]
    if not parts:
        return np.empty(0, np.float64), np.empty(0, bool)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
