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
    """A run-time error while evaluating an expression (a value that cannot be cast, a
    date that does not parse, a type error in data whose columns were not declared).

    ``expression`` is the text of the whole expression, ``value`` an example offending
    value.  The caller adds the step name (``with_step``).
    """

    def __init__(self, message: str, expression: str | None = None, value: object = None,
                 step: str | None = None):
        self.message = message
        self.expression = expression
        self.value = value
        self.step = step
        super().__init__(self._text())

    def _text(self) -> str:
        parts = []
        if self.step:
            parts.append(f"step '{self.step}': ")
        parts.append(self.message)
        if self.expression is not None:
            parts.append(f" in expression `{self.expression}`")
        return "".join(parts)

    def with_step(self, step: str) -> EvalError:
        """The same error, naming the step (for the executor)."""
        return EvalError(self.message, self.expression, self.value, step)
