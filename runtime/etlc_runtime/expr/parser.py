"""Parsing expression text into the AST (lark, LALR, positions propagated)."""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast as A
from .errors import ExprError
from .grammar_cache import cached_lark

_TYPE_NAMES = {"int", "integer", "bigint", "float", "double", "decimal", "numeric", "string",
               "varchar", "text", "bool", "boolean", "date", "timestamp", "timestamptz"}
_TYPE_NAMES.add("json")
_TYPE_ALIASES = {"integer": "int", "bigint": "int", "double": "float", "numeric": "decimal",
                 "varchar": "string", "text": "string", "boolean": "bool"}

_TOKEN_NAMES = {
    "OR": "'or'", "AND": "'and'", "NOT": "'not'", "IS": "'is'", "IN": "'in'",
    "BETWEEN": "'between'", "NULL": "'null'", "TRUE": "'true'", "FALSE": "'false'",
    "CAST": "'cast'", "POSITION": "'position'", "AS": "'as'", "CASE": "'case'", "WHEN": "'when'", "THEN": "'then'",
    "ELSE": "'else'", "END": "'end'", "AT": "'at'", "TIME": "'time'", "ZONE": "'zone'",
    "LIKE": "'like'", "ILIKE": "'ilike'", "OVER": "'over'", "PARTITION": "'partition'",
    "ORDER": "'order'", "BY": "'by'", "ASC": "'asc'", "DESC": "'desc'", "COMP_OP": "a comparison", "CONCAT_OP": "'||'",
    "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/', '//' or '%'", "STAR": "'*'", "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`", "PARAM": "a $parameter", "FLOAT": "a number",
    "DECIMAL": "a number", "INT": "a number", "STRING": "a 'string'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','", "$END": "the end of the expression",
}


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return cached_lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                       lexer_callbacks={"NAME": _name_token})


def _name_token(tok: Token) -> Token:
    _not_keyword(tok)
    return tok


def _describe(tok: str) -> str:
    return _TOKEN_NAMES.get(tok, tok.lower())


def _parse_date(text: str, start: int, end: int) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExprError("E401", f"invalid date literal '{text}'", start, end,
                        "write dates as date 'YYYY-MM-DD'") from None


def _parse_timestamp(text: str, start: int, end: int) -> dt.datetime:
    try:
        v = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExprError("E401", f"invalid timestamp literal '{text}'", start, end,
                        "write timestamps as timestamp 'YYYY-MM-DD HH:MM:SS'") from None
    if v.tzinfo is not None:
        raise ExprError("E401", "timestamps with a time zone are not supported", start, end)
    return v


_INTERVAL_UNITS = {"year": (12, 0, 0), "month": (1, 0, 0), "week": (0, 7, 0),
                   "day": (0, 1, 0), "hour": (0, 0, 3_600_000_000),
                   "minute": (0, 0, 60_000_000), "second": (0, 0, 1_000_000),
                   "millisecond": (0, 0, 1_000), "microsecond": (0, 0, 1)}


def _parse_interval(text: str, start: int, end: int) -> A.Interval:
    """'2 hours', '1 month 3 days', '-1 week': whole numbers with units (plural or not)."""
    parts = re.findall(r"\s*([+-]?\d+)\s*([A-Za-z]+)", text)
    if not parts or re.sub(r"\s*[+-]?\d+\s*[A-Za-z]+", "", text).strip():
        raise ExprError("E401", f"invalid interval literal '{text}'", start, end,
                        "write e.g. interval '2 hours' or interval '1 month 3 days' (units: "
                        + ", ".join(_INTERVAL_UNITS) + ")")
    m = d = us = 0
    for n, unit in parts:
        u = unit.lower().removesuffix("s")
        if u not in _INTERVAL_UNITS:
            raise ExprError("E401", f"unknown interval unit '{unit}'", start, end,
                            "units: " + ", ".join(_INTERVAL_UNITS))
        a, b, c = _INTERVAL_UNITS[u]
        m, d, us = m + int(n) * a, d + int(n) * b, us + int(n) * c
    return A.Interval(m, d, us)


def _unquote(s: str) -> str:
    return s[1:-1].replace("''", "'")


_KEYWORDS = {"and", "or", "not", "is", "in", "between", "null", "true", "false", "cast", "as",
             "case", "when", "then", "else", "end", "like", "ilike"}


def _not_keyword(tok: Token) -> None:
    # the contextual lexer reads a keyword where only a name fits as a NAME ("a and and b"):
    # report it where it stands; a column with a keyword's name needs backticks
    if str(tok).lower() in _KEYWORDS:
        raise ExprError("E401", f"unexpected {str(tok)!r}", tok.start_pos, tok.end_pos,
                        f"write `{tok}` in backticks if it is a column name")


@v_args(meta=True)
class _Build(Transformer):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    # literals ------------------------------------------------------------------
    def int_lit(self, meta, c):
        t = c[0]
        v = int(t)
        if v > 2**63 - 1:
            raise ExprError("E401", f"integer literal {t} is out of range", t.start_pos, t.end_pos,
                            "integers are 64-bit; write a decimal or float literal instead")
        return A.Literal("int", v, t.start_pos, t.end_pos, str(t))

    def decimal_lit(self, meta, c):
        t = c[0]
        return A.Literal("decimal", decimal.Decimal(str(t)), t.start_pos, t.end_pos, str(t))

    def float_lit(self, meta, c):
        t = c[0]
        return A.Literal("float", float(t), t.start_pos, t.end_pos, str(t))

    def string_lit(self, meta, c):
        t = c[0]
        return A.Literal("string", _unquote(str(t)), t.start_pos, t.end_pos)

    def true_lit(self, meta, c):
        return A.Literal("bool", True, c[0].start_pos, c[0].end_pos)

    def false_lit(self, meta, c):
        return A.Literal("bool", False, c[0].start_pos, c[0].end_pos)

    def null_lit(self, meta, c):
        return A.Literal("null", None, c[0].start_pos, c[0].end_pos)

    def typed_lit(self, meta, c):
        name, s = c
        _not_keyword(name)
        kind = str(name).lower()
        raw = _unquote(str(s))
        if kind == "date":
            return A.Literal("date", _parse_date(raw, s.start_pos, s.end_pos), meta.start_pos,
                             meta.end_pos)
        if kind == "timestamp":
            return A.Literal("timestamp", _parse_timestamp(raw, s.start_pos, s.end_pos),
                             meta.start_pos, meta.end_pos)
        if kind == "interval":
            return A.Literal("interval", _parse_interval(raw, s.start_pos, s.end_pos),
                             meta.start_pos, meta.end_pos)
        raise ExprError("E401", f"unexpected string after '{name}'", s.start_pos, s.end_pos,
                        "typed literals are date '...', timestamp '...' and interval '...'")

    # names ---------------------------------------------------------------------
    def column(self, meta, c):
        t = c[0]
        _not_keyword(t)
        return A.Column(str(t), t.start_pos, t.end_pos)

    def quoted_column(self, meta, c):
        t = c[0]
        return A.Column(str(t)[1:-1].replace("``", "`"), t.start_pos, t.end_pos)

    def param(self, meta, c):
        t = c[0]
        return A.Param(str(t)[1:], t.start_pos, t.end_pos)

    # operators -----------------------------------------------------------------
    def neg(self, meta, c):
        op, operand = c
        if op == "+":
            return operand
        if isinstance(operand, A.Literal) and operand.kind in ("int", "decimal", "float") \
                and not operand.text.startswith("-"):
            v = -operand.value
            return A.Literal(operand.kind, v, meta.start_pos, meta.end_pos, "-" + operand.text)
        return A.Unary("-", operand, meta.start_pos, meta.end_pos)

    def not_(self, meta, c):
        return A.Unary("not", c[1], meta.start_pos, meta.end_pos)

    def or_(self, meta, c):
        return A.Binary("or", c[0], c[2], meta.start_pos, meta.end_pos)

    def and_(self, meta, c):
        return A.Binary("and", c[0], c[2], meta.start_pos, meta.end_pos)

    def binary(self, meta, c):
        return A.Binary(str(c[1]), c[0], c[2], meta.start_pos, meta.end_pos)

    def compare(self, meta, c):
        op = {"==": "=", "<>": "!="}.get(str(c[1]), str(c[1]))
        return A.Binary(op, c[0], c[2], meta.start_pos, meta.end_pos)

    def is_null(self, meta, c):
        return A.IsNull(c[0], False, meta.start_pos, meta.end_pos)

    def is_not_null(self, meta, c):
        return A.IsNull(c[0], True, meta.start_pos, meta.end_pos)

    def in_list(self, meta, c):
        return A.InList(c[0], tuple(c[2]), False, meta.start_pos, meta.end_pos)

    def not_in_list(self, meta, c):
        return A.InList(c[0], tuple(c[3]), True, meta.start_pos, meta.end_pos)

    def between(self, meta, c):
        return A.Between(c[0], c[2], c[4], False, meta.start_pos, meta.end_pos)

    def not_between(self, meta, c):
        return A.Between(c[0], c[3], c[5], True, meta.start_pos, meta.end_pos)

    def expr_list(self, meta, c):
        return list(c)

    def call(self, meta, c):
        name = c[0]
        _not_keyword(name)
        args = tuple(c[1]) if len(c) > 1 else ()
        return A.Call(str(name).lower(), args, False, meta.start_pos, meta.end_pos, name.end_pos)

    def position(self, meta, c):
        """SQL's ``position(part in s)``: strpos(s, part)."""
        return A.Call("strpos", (c[3], c[1]), False, meta.start_pos, meta.end_pos,
                      c[0].end_pos)

    def json_arrow(self, meta, c):
        """``j -> path`` is json_extract(j, path), ``j ->> path`` json_extract_string."""
        name = "json_extract" if str(c[1]) == "->" else "json_extract_string"
        return A.Call(name, (c[0], c[2]), False, meta.start_pos, meta.end_pos, c[1].end_pos)

    def at_time_zone(self, meta, c):
        """``t at time zone z``: DuckDB's ``timezone(z, t)``."""
        return A.Call("timezone", (c[4], c[0]), False, meta.start_pos, meta.end_pos,
                      c[1].end_pos)

    def star_call(self, meta, c):
        name = c[0]
        return A.Call(str(name).lower(), (), True, meta.start_pos, meta.end_pos, name.end_pos)

    def _like(self, meta, name, s, p, negated):
        call = A.Call(name, (s, p), False, meta.start_pos, meta.end_pos, meta.start_pos)
        return A.Unary("not", call, meta.start_pos, meta.end_pos) if negated else call

    def like(self, meta, c):
        return self._like(meta, "like", c[0], c[2], False)

    def not_like(self, meta, c):
        return self._like(meta, "like", c[0], c[3], True)

    def ilike(self, meta, c):
        return self._like(meta, "ilike", c[0], c[2], False)

    def not_ilike(self, meta, c):
        return self._like(meta, "ilike", c[0], c[3], True)

    def window_call(self, meta, c):
        name = c[0]
        _not_keyword(name)
        args = tuple(c[1]) if isinstance(c[1], list) else ()
        spec = c[-1]
        call = A.Call(str(name).lower(), args, False, meta.start_pos, meta.end_pos,
                      name.end_pos)
        return A.Window(call, spec[0], spec[1], meta.start_pos, meta.end_pos)

    def window_star(self, meta, c):
        name = c[0]
        call = A.Call(str(name).lower(), (), True, meta.start_pos, meta.end_pos, name.end_pos)
        return A.Window(call, c[-1][0], c[-1][1], meta.start_pos, meta.end_pos)

    def window_spec(self, meta, c):
        part = next((x[1] for x in c if x[0] == "partition"), ())
        order = next((x[1] for x in c if x[0] == "order"), ())
        return (tuple(part), tuple(order))

    def partition_clause(self, meta, c):
        return ("partition", c[2])

    def order_clause(self, meta, c):
        return ("order", [x for x in c[2:] if isinstance(x, tuple)])

    def order_item(self, meta, c):
        return (c[0], False)

    def order_asc(self, meta, c):
        return (c[0], False)

    def order_desc(self, meta, c):
        return (c[0], True)

    def case_when(self, meta, c):
        return (c[1], c[3])

    def case_else(self, meta, c):
        return ("else", c[1])

    def _case(self, meta, operand, parts):
        whens = tuple(p for p in parts if isinstance(p, tuple) and p[0] != "else")
        default = next((p[1] for p in parts if isinstance(p, tuple) and p[0] == "else"), None)
        return A.Case(operand, whens, default, meta.start_pos, meta.end_pos)

    def case_searched(self, meta, c):
        return self._case(meta, None, [x for x in c[1:] if isinstance(x, tuple)])

    def case_simple(self, meta, c):
        return self._case(meta, c[1], [x for x in c[2:] if isinstance(x, tuple)])

    def cast(self, meta, c):
        return A.Cast(c[1], c[3], meta.start_pos, meta.end_pos)

    def type_name(self, meta, c):
        name = c[0]
        n = str(name).lower()
        if n not in _TYPE_NAMES:
            raise ExprError("E401", f"unknown type '{name}' in cast", name.start_pos, name.end_pos,
                            "types are int, float, decimal(p, s), string, bool, date, timestamp")
        n = _TYPE_ALIASES.get(n, n)
        nums = [int(t) for t in c[1:]]
        if nums and n != "decimal":
            raise ExprError("E401", f"type '{n}' takes no arguments", meta.start_pos, meta.end_pos)
        if n == "decimal":
            if len(nums) == 2:
                p, s = nums
            elif len(nums) == 1:
                p, s = nums[0], 0
            else:
                p, s = 18, 3
            if not (1 <= p <= 38 and 0 <= s <= p):
                raise ExprError("E401", f"invalid decimal({p}, {s})", meta.start_pos, meta.end_pos,
                                "precision 1..38 and 0 <= scale <= precision")
            return A.TypeSpec("decimal", s, p)
        return A.TypeSpec(n)


def _syntax_error(text: str, e: UnexpectedInput) -> ExprError:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        ch = text[pos]
        if ch == "'":
            return ExprError("E401", "unterminated string", pos, len(text),
                             "close the string with ' (write '' for a quote inside it)")
        if ch == "`":
            return ExprError("E401", "unterminated `quoted name`", pos, len(text))
        if ch == '"':
            return ExprError("E401", "unexpected '\"'", pos, pos + 1,
                             "write strings in single quotes ('text') and odd column names in "
                             "backticks (`my col`)")
        if ch == "$":
            return ExprError("E401", "'$' must be followed by a parameter name", pos, pos + 1)
        return ExprError("E401", f"unexpected character {ch!r}", pos, pos + 1)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        n = len(text.rstrip())
        if not text.strip():
            return ExprError("E401", "empty expression", 0, len(text))
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or ()
        exp = sorted({_describe(x) for x in expected})
        return ExprError("E401", "unexpected end of expression", n, n,
                         ("expected " + ", ".join(exp[:6])) if exp else None)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        exp = sorted({_describe(x) for x in (e.accepts or e.expected)})
        hint = ("expected " + ", ".join(exp[:6])) if exp else None
        if tok.type == "STRING" and text[tok.start_pos - 1:tok.start_pos].strip() == "":
            pass
        return ExprError("E401", f"unexpected {str(tok)!r}", tok.start_pos,
                         tok.end_pos if tok.end_pos is not None else tok.start_pos + 1, hint)
    return ExprError("E401", str(e), 0, len(text))  # pragma: no cover


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> A.Expr:
    """Parse expression text into an AST (cached; the AST is immutable).

    Raises ExprError E401 with the offending span on a syntax error."""
    if not isinstance(text, str):
        raise ExprError("E401", f"an expression must be a string, not {type(text).__name__}", 0, 0)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    except ExprError:
        raise
    try:
        result = _Build(text).transform(tree)
    except Exception as e:  # lark wraps transformer errors in VisitError
        inner = getattr(e, "orig_exc", e)
        if isinstance(inner, ExprError):
            raise inner from None
        raise
    if isinstance(result, Token):  # pragma: no cover
        raise ExprError("E401", "invalid expression", 0, len(text))
    return result
