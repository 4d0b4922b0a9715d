"""Helpers of the engine-boundary tests: a real engine that records what the executor hands
it (the pandas engine underneath), and a call function that records the frame it receives."""

from __future__ import annotations

from typing import ClassVar

from etlc_runtime.engines.pandas_engine import PandasEngine

SEEN: list[tuple] = []


class RecordingEngine(PandasEngine):
    """The pandas engine, recording each call's step and column types, and its close."""

    name: ClassVar[str] = "recording"
    lazy: ClassVar[bool] = False

    def transform(self, step, inputs, ctx, base=None):
        SEEN.append(("transform", ctx.step, {c: dict(t) for c, t in ctx.types.items()}))
        return super().transform(step, inputs, ctx, base)

    def count(self, rel):
        return None if self.lazy else super().count(rel)

    def close(self):
        SEEN.append(("close", self.name))


class LazyEngine(RecordingEngine):
    name: ClassVar[str] = "lazy"
    lazy: ClassVar[bool] = True


def record_frame(df, tag="call"):
    """A call step's function: note the type it received, add a column."""
    import pandas as pd

    SEEN.append(("call", tag, isinstance(df, pd.DataFrame)))
    out = df.copy()
    out["tag"] = tag
    return out
