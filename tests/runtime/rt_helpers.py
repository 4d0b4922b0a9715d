"""Helpers of the runtime tests (plans, row comparison)."""

from __future__ import annotations

import copy

import pandas as pd


def task_plan(steps, datasets=None, *, output=None, inputs=None, params=None, task=None,
              pipeline="p", engine="pandas", partitions=1, staging=".etlc/staging"):
    steps = copy.deepcopy(steps)
    for i, step in enumerate(steps):
        step.setdefault("line", 10 + i)
        if "from" in step and isinstance(step["from"], str):
            step["from"] = [step["from"]]
        if "kind" not in step:
            for kind in ("read", "write", "call", "operator"):
                if kind in step:
                    step["kind"] = kind
                    break
            else:
                step["kind"] = "transform"
    return {
        "etlc": 1, "pipeline": pipeline, "task": task or steps[-1]["name"],
        "spec": "specs/p.yaml", "engine": engine, "partitions": partitions,
        "parallelism": "dask", "staging": {"connection": None, "path": staging},
        "params": params or {}, "datasets": datasets or {}, "inputs": inputs or {},
        "steps": steps, "output": output,
    }


def normalise(df: pd.DataFrame, sort_by=None) -> list[tuple]:
    """Rows as tuples of plain Python values (None for nulls, floats rounded), sorted."""
    import datetime as dt
    import decimal

    def plain(v):
        if v is None:
            return None
        try:
            if pd.isna(v):
                return None
        except (TypeError, ValueError):
            pass
        if hasattr(v, "item") and not isinstance(v, (dt.date, dt.datetime)):
            v = v.item()
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        if isinstance(v, dt.datetime) and v.tzinfo is None and v == dt.datetime(v.year, v.month, v.day):
            v = v.date()  # DuckDB hands DATE columns to pandas as midnight timestamps
        if isinstance(v, decimal.Decimal):
            v = float(v)
        if isinstance(v, float):
            v = round(v, 6)
            if v.is_integer():
                v = int(v)
        return v

    rows = [tuple(plain(v) for v in row) for row in df.itertuples(index=False, name=None)]
    return sorted(rows, key=lambda r: tuple((x is None, str(type(x)), x if x is not None else 0)
                                            for x in r)) if sort_by is None else rows


def same_rows(ours: pd.DataFrame, reference: pd.DataFrame, ordered: bool = False):
    assert list(ours.columns) == list(reference.columns), (list(ours.columns),
                                                           list(reference.columns))
    a = normalise(ours, sort_by=True if ordered else None)
    b = normalise(reference, sort_by=True if ordered else None)
    assert a == b, "\n".join(f"{x}\n{y}" for x, y in zip(a, b) if x != y) or (len(a), len(b))
