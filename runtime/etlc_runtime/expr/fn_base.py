"""What every function rule is made of: the :class:`Function` record of the function table
(``functions``), the sentinel of a non-constant argument, and the argument checks the rules of
``fn_numbers``, ``fn_text``, ``fn_dates`` and ``json_types`` share.  A rule (a resolver)
returns the result type, or ``(index, message)`` naming the argument at fault (a third item,
a code, where the fault is not E405)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .types import UNKNOWN, Type, is_open

__all__ = ["AGG_NULL", "NOT_CONST", "NUM_NULL", "STR_NULL", "Function", "args_ok",
           "constant_text", "need", "typed"]

# A resolver gets the argument types and the constant value of each argument (or a
# sentinel when not constant) and returns the result type, or (index, message) naming the
# argument at fault.
Resolver = Callable[[Sequence[Type], Sequence[object]], "Type | tuple[int, str]"]


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    aggregate: bool
    resolve: Resolver
    signature: str
    result_doc: str
    nulls: str
    doc: str
    star: bool = False  # accepts count(*)
    window: bool = False  # only as f(...) over (...)


NOT_CONST = object()


def need(pred: Callable[[Type], bool], what: str, i: int, t: Type):
    if is_open(t) or pred(t):
        return None
    return (i, f"argument {i + 1} must be {what}, got {t}")


def constant_text(what: str, why_not: Callable[[str], str | None]):
    """A check of argument i: a constant string (a format, a pattern) that why_not accepts."""
    def at(i: int):
        def check(args, consts):
            err = need(lambda t: t.name == "string", f"a string (the {what})", i, args[i])
            if err:
                return err
            if consts[i] is NOT_CONST:
                return (i, f"the {what} must be a constant string")
            why = why_not(str(consts[i])) if consts[i] is not None else None
            return (i, why) if why else None
        return check
    return at


def typed(kinds: str, result: Type):
    """Arguments of the given kinds, one letter each: s string, i int, any other letter: the
    last kind repeats for the remaining arguments."""
    names = {"s": ("string", "a string"), "i": ("int", "an int")}

    def r(args, consts):
        for k, t in enumerate(args):
            name, what = names[kinds[min(k, len(kinds) - 1)]]
            err = need(lambda x, n=name: x.name == n, what, k, t)
            if err:
                return err
        return result
    return r


def args_ok(kinds: str, args, consts):
    """The error of typed's argument check, or None."""
    r = typed(kinds, UNKNOWN)(args, consts)
    return r if isinstance(r, tuple) else None


NUM_NULL = "null when the argument is null"
STR_NULL = "null when any argument is null"
AGG_NULL = "ignores nulls; null when there are no non-null values"
