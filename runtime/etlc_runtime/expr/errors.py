"""Errors of the expression language."""
from __future__ import annotations


class ExprError(Exception):
    """A compile-time error in an expression: syntax (E401), unknown name (E402-E404),
    type (E405), arity (E406), aggregate placement (E407, E408).

    ``start``/``end`` are 0-based character offsets into the expression text
    (``end`` exclusive); ``help`` is an optional hint such as "did you mean 'x'?".
    """

    def __init__(self, code: str, message: str, start: int, end: int, help: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.start = start
        self.end = end
        self.help = help

    def __repr__(self) -> str:
        return (f"ExprError({self.code!r}, {self.message!r}, {self.start}, {self.end}"
                f"{', help=' + repr(self.help) if self.help else ''})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ExprError)
                and (self.code, self.message, self.start, self.end, self.help)
                == (other.code, other.message, other.start, other.end, other.help))

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.start, self.end))


class EvalError(ValueError):
    """R041: a run-time error while evaluating an expression (a value that cannot be cast, a
    date that does not parse, a type error in data whose columns were not declared).

    ``expression`` is the text of the whole expression, ``value`` an example offending
    value, ``row`` the 0-based position of its row in the relation the expression ran over.
    ``start``/``end`` are the failing sub-expression's offsets in ``source``, the expression
    as written in the spec; the executor turns them into ``file``/``line``/``column``
    (expr_location.py).  The caller adds the step name (``with_step``).
    """

    code = "R041"

    def __init__(self, message: str, expression: str | None = None, value: object = None,
                 step: str | None = None, *, row: int | None = None,
                 start: int | None = None, end: int | None = None):
        self.message = message
        self.expression = expression
        self.value = value
        self.step = step
        self.row = row
        self.start, self.end = start, end
        self.source: str | None = None
        self.file: str | None = None
        self.line: int | None = None
        self.column: int | None = None
        self.end_column: int | None = None
        super().__init__(self._text())

    def _text(self) -> str:
        parts = []
        if self.file and self.line:
            parts.append(f"{self.file}:{self.line}:{self.column or 1}: ")
        if self.step:
            parts.append(f"step '{self.step}': ")
        parts.append(self.message)
        if self.row is not None:
            parts.append(f" (row {self.row})")
        if self.expression is not None:
            parts.append(f" in expression `{self.expression}`")
        return "".join(parts)

    def __str__(self) -> str:  # in step with fields set after construction
        return self._text()

    def at(self, start: int, end: int) -> None:
        """Record the failing sub-expression's span once: the innermost node that failed."""
        if self.start is None:
            self.start, self.end = start, end

    def fields(self) -> dict:
        return {"code": self.code, "message": self.message, "file": self.file,
                "line": self.line, "column": self.column, "row": self.row,
                "value": self.value, "expression": self.source or self.expression}

    def with_step(self, step: str) -> EvalError:
        """The same error, naming the step (for the executor)."""
        out = EvalError(self.message, self.expression, self.value, step, row=self.row,
                        start=self.start, end=self.end)
        out.source, out.file, out.line = self.source, self.file, self.line
        out.column, out.end_column = self.column, self.end_column
        return out
