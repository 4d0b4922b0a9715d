"""Errors raised by the etlc runtime.

Every failure inside a step surfaces as a :class:`StepError` that names the step, the spec
file and line the step came from, and the cause, so that the Airflow log and `etlc run`
lead back to the YAML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# what a read does with a value its declared column cannot hold (a dataset's `on_error`)
ON_ERROR = ("fail", "null", "skip")
ROW = "*"  # the read-error tally's entry for whole rows (not one column's value)


def count_read_errors(counts: dict | None, column: str, on_error: str, n: int) -> None:
    """Add ``n`` values of ``column`` that did not convert to ``counts``, the read's tally
    ``{column: {"nulled" | "skipped": n}}`` (``on_error``: null or skip; a row skipped for
    two values counts under both columns; ``*``: whole rows, a CSV row with more or fewer
    fields than the header)."""
    if counts is None or not n or on_error not in ("null", "skip"):
        return
    what = "nulled" if on_error == "null" else "skipped"
    tally = counts.setdefault(column, {})
    tally[what] = tally.get(what, 0) + int(n)


def merge_read_errors(into: dict, more: Mapping | None) -> dict:
    """``into`` with the tally ``more`` (:func:`count_read_errors`'s shape) added."""
    for column, kinds in (more or {}).items():
        tally = into.setdefault(column, {})
        for what, n in kinds.items():
            tally[what] = tally.get(what, 0) + int(n)
    return into


class EtlcRuntimeError(Exception):
    """Base class of the runtime's own errors."""


class NotAvailable(EtlcRuntimeError):
    """A feature named in a spec that this release of the runtime does not provide."""


class EngineNotAvailable(NotAvailable):
    """An engine other than the ones this release provides."""


class StagingError(EtlcRuntimeError):
    """A staged hand-off that is missing, uncommitted or unreadable."""


class UnsafePath(EtlcRuntimeError):
    """R010: a local path (from a spec, a param or a macro) that etlc must not read or write."""

    code = "R010"

    def __init__(self, path: str, reason: str, *, what: str = "dataset", access: str = "write"):
        self.path, self.reason, self.what, self.access = path, reason, what, access
        super().__init__(f"{self.code} unsafe path: will not {access} {what} path {path}: {reason}")


class ParamError(EtlcRuntimeError):
    """R011: a run-time param value that its declaration (type, enum, bounds, pattern) refuses."""

    code = "R011"

    def __init__(self, name: str, value, reason: str):
        self.name, self.value, self.reason = name, value, reason
        super().__init__(f"{self.code} param '{name}': {value!r} {reason}")


class PlanVersionError(EtlcRuntimeError):
    """R030: a task plan whose ``etlc`` version this runtime does not know."""

    code = "R030"

    def __init__(self, found, known: tuple[int, ...]):
        self.found, self.known = found, known
        runs = ", ".join(str(v) for v in known)
        super().__init__(f"{self.code} task plan version {found!r} is not one this runtime "
                         f"knows (it runs plan versions {runs}): compile the spec again with "
                         f"the etlc installed here, or install the etlc that compiled it")


class DataError(EtlcRuntimeError, ValueError):
    """R040: a value read from a dataset that its declared column cannot hold unchanged (not
    a valid int, a decimal that overflows or would be rounded, a float into an int column, a
    declared column absent from a file, a ragged CSV row, a nested value into a scalar).
    Names the dataset, column, file, line (text files) or row, and the value.  The duckdb
    engine raises it inside SQL; :meth:`from_exception` finds it again in DuckDB's message."""

    code = "R040"
    MARK = "[etlc-data-error "
    step: str | None = None   # the step whose `cast:` refused the value, where it is known

    def __init__(self, reason: str, *, dataset: str | None = None, column: str | None = None,
                 file: str | None = None, line: int | None = None, row: int | None = None,
                 value: Any = None):
        self.reason, self.dataset, self.column, self.file = reason, dataset, column, file
        self.line, self.row, self.value = line, row, value
        where = [f"dataset {dataset!r}" if dataset else "", f"column {column!r}" if column
                 else "", f"file {file}" if file else "", f"line {line}" if line else "",
                 f"row {row}" if row is not None else ""]
        text = ", ".join(w for w in where if w)
        shown = f": value {value!r}" if value is not None else ""
        super().__init__(f"{self.code} {text}{shown}: {reason}" if text else
                         f"{self.code}{shown}: {reason}")

    def fields(self) -> dict:
        return {"code": self.code, "reason": self.reason, "dataset": self.dataset,
                "column": self.column, "file": self.file, "line": self.line, "row": self.row,
                "value": self.value}

    @classmethod
    def from_exception(cls, exc: BaseException | None) -> DataError | None:
        """The DataError carried by ``exc`` (itself, its cause chain, or the JSON mark an
        SQL ``error()`` put in a DuckDB message); None when there is none."""
        import json
        seen = 0
        while exc is not None and seen < 10:
            if isinstance(exc, cls):
                return exc
            text = str(exc)
            at = text.find(cls.MARK)
            if at >= 0:
                body = text[at + len(cls.MARK):]
                try:
                    data, _ = json.JSONDecoder().raw_decode(body)
                    return cls(**{k: data.get(k) for k in ("reason", "dataset", "column", "file",
                                                           "line", "row", "value")})
                except (ValueError, TypeError):
                    return None
            ragged = cls._duckdb_csv(text)
            if ragged is not None:
                return ragged
            exc = getattr(exc, "cause", None) or exc.__cause__
            seen += 1
        return None


    @classmethod
    def _duckdb_csv(cls, text: str) -> DataError | None:
        """DuckDB's own CSV error (strict mode: a row with more or fewer fields than the
        header) as R040."""
        import re
        line = re.search(r"CSV Error on Line: (\d+)", text)
        if not line:
            return None
        found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        original = re.search(r"Original Line: (.*)", text)
        file = re.search(r"\n\s*file = (.*)", text)
        reason = (f"a row with {found.group(2)} field(s) where the header has {found.group(1)}"
                  if found else "not a readable CSV row")
        return cls(reason, file=file.group(1).strip() if file else None,
                   line=int(line.group(1)),
                   value=original.group(1) if original else None)


class StepError(EtlcRuntimeError):
    """A step failed.  Carries the step name, spec file and line, and the cause."""

    def __init__(self, step: str | None, message: str, *, spec: str | None = None,
                 line: int | None = None, cause: BaseException | None = None,
                 col: int | None = None):
        self.step = step
        self.spec = spec
        self.line = line
        self.col = col   # with line: where in the spec (an R040's column declaration)
        self.cause = cause
        self.message = message
        super().__init__(self._format())

    @property
    def location(self) -> str:
        if self.spec and self.line and self.col:
            return f"{self.spec}:{self.line}:{self.col}"
        if self.spec and self.line:
            return f"{self.spec}:{self.line}"
        return self.spec or ""

    def _format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        name = f"step '{self.step}'" if self.step else "task"
        return f"{where}{name} failed: {self.message}"

    def with_location(self, step: str | None, spec: str | None, line: int | None) -> StepError:
        """Fill in the location where it is not known yet (used by the executor)."""
        self.step = self.step or step
        self.spec = self.spec or spec
        self.line = self.line or line
        self.args = (self._format(),)
        return self

    def __str__(self) -> str:  # keep str() in step with a later with_location()
        return self._format()

    def __reduce__(self):   # raised on a Dask worker: comes back with its fields
        return (_restored, (type(self), dict(self.__dict__)))

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "spec": self.spec,
            "line": self.line,
            "col": self.col,
            "message": self.message,
            "cause": f"{type(self.cause).__name__}: {self.cause}" if self.cause else None,
        }


def _restored(cls: type, state: dict) -> StepError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    err.args = (err._format(),)
    return err


class CallResultError(StepError):
    """R042: the frame a ``call`` step's function returned does not match the step's
    ``returns``: a declared column missing, a column not declared, or a value its declared
    type cannot hold unchanged.  Names the step, the column, the row (0-based, in the
    returned frame) and the value; with ``per_partition: true`` on the dask engines, the
    partition (0-based) whose result it is, the row counted within that result."""

    code = "R042"

    def __init__(self, step: str | None, reason: str, *, column: str | None = None,
                 row: int | None = None, value: Any = None, partition: int | None = None):
        self.reason, self.column, self.row, self.value = reason, column, row, value
        self.partition = partition
        where = ", ".join(w for w in (f"column {column!r}" if column is not None else "",
                                      f"partition {partition}" if partition is not None
                                      else "",
                                      f"row {row}" if row is not None else "") if w)
        shown = f": value {value!r}" if row is not None else ""
        super().__init__(step, f"{self.code} the result of call does not match `returns`"
                               f"{', ' + where if where else ''}{shown}: {reason}")

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(code=self.code, column=self.column, row=self.row, value=repr(self.value),
                   partition=self.partition)
        return out


class PartitionCallError(StepError):
    """R043: a ``call`` step with ``per_partition: true`` on the dask engines that cannot go
    on: a partition's result has other columns (names, order) or other dtypes than the first
    partition's (which gave Dask the columns), or the step has several inputs.  Names the
    step, the partition (0-based) and the column."""

    code = "R043"

    def __init__(self, step: str | None, reason: str, *, partition: int | None = None,
                 column: str | None = None):
        self.reason, self.partition, self.column = reason, partition, column
        where = ", ".join(w for w in (f"partition {partition}" if partition is not None
                                      else "",
                                      f"column {column!r}" if column is not None else "")
                          if w)
        super().__init__(step, f"{self.code} per_partition call{' at ' + where if where else ''}"
                               f": {reason}")

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(code=self.code, partition=self.partition, column=self.column)
        return out


class UnionTypeError(StepError):
    """R044: a ``union`` whose inputs hold a column in different etlc types at run time (the
    compiler's E413 rule, for columns it could not type: sources without declared columns).
    Names the step, the union input, the column and both types; nothing is cast."""

    code = "R044"

    def __init__(self, step: str | None, *, input: str | None, column: str,
                 base_type: str, other_type: str):
        self.input, self.column = input, column
        self.base_type, self.other_type = base_type, other_type
        which = f"union input {input!r}" if input else "a union input"
        super().__init__(step, f"{self.code} {which} holds column {column!r} as {other_type} "
                               f"where the step's input holds {base_type}: union does not "
                               f"convert types; cast in a step before the union")

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(code=self.code, input=self.input, column=self.column,
                   base_type=self.base_type, other_type=self.other_type)
        return out


class CheckFailed(StepError):
    """A data-quality check of a step was violated."""

    def __init__(self, step: str | None, check: str, failing: int, examples: list[dict],
                 detail: str = "", **kw):
        self.check = check
        self.failing = failing
        self.examples = examples
        text = f"check {check} failed: {failing} row(s) violate it"
        if detail:
            text = f"check {check} failed: {detail}"
        if examples:
            shown = "; ".join(repr(e) for e in examples[:5])
            text += f"; examples: {shown}"
        super().__init__(step, text, **kw)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(check=self.check, failing=self.failing, examples=self.examples)
        return out


def need_check_columns(step: str | None, check: str, cols, columns) -> None:
    """StepError when check ``check`` (``not_null``, ``unique``) names a column that is not
    among ``columns``, the same on every engine."""
    missing = [c for c in cols if c not in columns]
    if missing:
        raise StepError(step, f"check {check} names unknown column(s) {missing}")


def row_count_violation(step: str | None, n: int, bounds: Mapping[str, Any],
                        examples: Callable[[], list[dict]]) -> CheckFailed | None:
    """The ``row_count`` check's verdict, the same on every engine: ``min`` and ``max`` are
    inclusive; ``examples`` is asked for rows only when there are too many."""
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and n < int(low):
        return CheckFailed(step, "row_count", n, [],
                           detail=f"{n} row(s), fewer than the minimum {low}")
    if high is not None and n > int(high):
        return CheckFailed(step, "row_count", n, examples(),
                           detail=f"{n} row(s), more than the maximum {high}")
    return None
