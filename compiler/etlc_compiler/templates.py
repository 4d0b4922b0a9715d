"""Analyse stage: templated strings (`{{ ds }}`, `{{ params.x }}`) hold known macros only.

Templated places: dataset `path`, `table`, `collection`, the staging path, parameter
defaults and `call` args, rendered by the runtime (Jinja's sandbox over the macros of
`etlc_runtime.templating`); and `operator` args, rendered by Airflow (a sandbox too, whose
context also holds `conn`, `var` and live objects; its date filters are allowed there). Here we only check them, on Jinja's own
parse tree and by an allow-list: each `{{ }}` holds a macro name, `params.<declared>` or a
constant, optionally through allowed filters with constant arguments. Nothing else passes:
no statements, attributes, calls, subscripts, operators or tests (E312; an undeclared param
is E311). Positions point at the offending token inside the string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .model import PipelineSpec

# the runtime's macros (etlc_runtime.templating.macros), which Airflow's context holds too; its
# objects (dag_run, ti, macros, conn, var) are left out: they are reached through attributes
MACROS = ("ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "data_interval_start",
          "data_interval_end", "run_id", "params")
RUNTIME_FILTERS = ("lower", "upper", "replace", "trim")
FILTERS = RUNTIME_FILTERS + ("ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz")  # Airflow's own
_AT = re.compile(r" at (\d+)$")
# the token each kind of refused node is found by, as Jinja's lexer spells it
_OPERATOR = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "FloorDiv": "//", "Mod": "%", "Pow": "**",
             "Neg": "-", "Pos": "+", "Concat": "~", "Getitem": "[", "Call": "(", "List": "[",
             "Dict": "{", "Slice": ":", "Tuple": ","}
_WORD = {"And": "and", "Or": "or", "Not": "not", "CondExpr": "if", "Test": "is"}
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<="}
_WHAT = {"Add": "arithmetic", "Sub": "arithmetic", "Mul": "arithmetic", "Div": "arithmetic",
         "FloorDiv": "arithmetic", "Mod": "arithmetic", "Pow": "arithmetic", "Neg": "arithmetic",
         "Pos": "arithmetic", "Concat": "concatenation ('~')", "Getitem": "a subscript", "Call": "a call",
         "Compare": "a comparison", "And": "logic", "Or": "logic", "Not": "logic", "CondExpr": "a condition",
         "Test": "a test ('is')", "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "Slice": "a slice"}


# Airflow's context objects reachable through attributes in operator args (`var.value.x`,
# `conn.x.host`, `task.task_id`, `ti.xcom_pull(...)`), and its `macros` module's functions
OBJECTS = ("var", "conn", "task", "ti", "task_instance", "macros", "dag", "dag_run")
SECRET_ATTRS = ("password", "extra", "extra_dejson", "get_password", "get_extra", "get_uri")
AIRFLOW_MACROS = ("ds_add", "ds_format", "datetime_diff_for_humans", "datetime", "timedelta", "dateutil",
                  "time", "uuid", "random", "json", "yaml")


@dataclass(frozen=True)
class Context:
    """What a template may use where it is rendered."""

    names: tuple[str, ...]
    filters: tuple[str, ...]
    objects: tuple[str, ...] = ()     # names whose attributes (and methods) may be used
    functions: tuple[str, ...] = ()   # user-defined macros that may be called


AIRFLOW = Context(MACROS + OBJECTS, FILTERS, OBJECTS)
RUNTIME = Context(MACROS, RUNTIME_FILTERS)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    kind: str
    value: str


def templated_strings(spec: PipelineSpec) -> Iterator[tuple[tuple, str]]:
    for name, ds in spec.datasets.items():
        for key in ("path", "table", "collection"):
            value = ds.raw.get(key)
            if isinstance(value, str):
                yield ("datasets", name, key), value
    staging = spec.raw.get("staging")
    if isinstance(staging, dict) and isinstance(staging.get("path"), str):
        yield ("staging", "path"), staging["path"]
    for name, p in spec.params.items():
        if isinstance(p, dict) and isinstance(p.get("default"), str):
            yield ("params", name, "default"), p["default"]
    for name, step in spec.steps.items():
        yield from _strings(step.raw.get("args"), ("steps", name, "args"))


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment()  # Airflow's and the runtime's delimiters: Jinja's defaults


def check_template(text: str, params: list[str], context: Context = AIRFLOW
                   ) -> list[tuple[int, int, str, str | None, str]]:
    """Problems in one templated string: (start, end, message, help, code), offsets into text."""
    if "{" not in text:
        return []
    from jinja2 import TemplateSyntaxError

    norm, where = _normalized(text)
    try:
        tokens = _tokens(norm)
    except TemplateSyntaxError as exc:
        at = _AT.search(exc.message or "")
        start = int(at.group(1)) if at else max(norm.rfind("{{"), norm.rfind("{%"), norm.rfind("{#"), 0)
        end = start + (1 if at or len(norm) < start + 2 else 2)
        return [(where[start], where[end - 1] + 1, f"template syntax error: {exc.message}", None, "E312")]
    problems = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind in ("block_begin", "raw_begin"):
            problems.append(_problem(tok.start, tok.start + 2, "template statements ({% ... %}) are not supported"))
        if tok.kind != "variable_begin":
            i += 1
            continue
        j = next((k for k in range(i, len(tokens)) if tokens[k].kind == "variable_end"), None)
        if j is None:
            problems.append(_problem(tok.start, tok.end, "unclosed '{{' in a templated string", "close it with '}}'"))
            break
        found = _check_block(norm, tokens[i:j + 1], params, context)
        if found:
            problems.append(found)
        i = j + 1
    return [(where[a], where[b - 1] + 1, message, help, code) for a, b, message, help, code in problems]


def _normalized(text: str) -> tuple[str, list[int]]:
    """The text as Jinja's lexer sees it (\\r\\n and \\r become \\n), and where each char was."""
    norm, where, i = [], [], 0
    while i < len(text):
        where.append(i)
        if text[i] == "\r":
            norm.append("\n")
            i += 2 if text.startswith("\r\n", i) else 1
        else:
            norm.append(text[i])
            i += 1
    where.append(len(text))
    return "".join(norm), where


def _tokens(norm: str) -> list[_Token]:
    tokens, pos = [], 0
    for _, kind, value in _env().lexer.tokeniter(norm, None):
        start = norm.find(value, pos)  # whitespace control may have trimmed data tokens
        start = pos if start < 0 else start
        pos = start + len(value)
        if kind != "whitespace":
            tokens.append(_Token(start, pos, kind, value))
    return tokens


def _check_block(norm: str, block: list[_Token], params: list[str], context: Context):
    from jinja2 import TemplateSyntaxError

    try:
        tree = _env().parse(norm[block[0].start:block[-1].end])
    except TemplateSyntaxError as exc:
        return _problem(block[0].start, block[0].end, f"template syntax error: {exc.message}")
    return next(_walk(tree.body[0].nodes[0], block, params, context), None) if tree.body else None


def _walk(node, block: list[_Token], params: list[str], context: Context):
    """Problems of an expression, innermost first (post-order, in source order)."""
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr) and _root(node) in context.objects:
        yield from _object(node, block, params, context)
        return
    if isinstance(node, nodes.Call) and (_root(node.node) in context.objects or (
            isinstance(node.node, nodes.Name) and node.node.name in context.functions)):
        yield from _walk(node.node, block, params, context)  # macros.ds_add(ds, 7), ti.xcom_pull(...)
        for arg in list(node.args) + [k.value for k in node.kwargs]:
            yield from _walk(arg, block, params, context)
        return
    for child in node.iter_child_nodes():
        yield from _walk(child, block, params, context)
    kind = type(node).__name__
    if isinstance(node, (nodes.Const, nodes.Keyword, nodes.Pair, nodes.Operand)):
        return  # constants; the parts of a call, dict or comparison, which that node answers for
    if isinstance(node, nodes.Name):
        if node.name not in context.names:
            a, b = _find(block, "name", node.name)
            yield _problem(a, b, f"unknown macro '{node.name}'",
                           did_you_mean(node.name, context.names) or "known: " + ", ".join(context.names))
    elif isinstance(node, nodes.Getattr):
        a, b = _find(block, "name", node.attr, after=".")
        if not (isinstance(node.node, nodes.Name) and node.node.name == "params"):
            yield _problem(a, b, f"attribute '.{node.attr}' is not allowed: a template reads a macro, "
                           "params.<name> or a constant, nothing inside them",
                           "Airflow renders templates with objects such as conn and var in reach")
        elif node.attr not in params:
            yield _problem(a, b, f"unknown parameter 'params.{node.attr}'", did_you_mean(node.attr, params),
                           code="E311")
    elif isinstance(node, nodes.Filter):
        plain = all(isinstance(x, nodes.Const) for x in node.args) and not (node.kwargs or node.dyn_args
                                                                             or node.dyn_kwargs)
        if node.name not in context.filters or not plain or node.node is None:
            a, b = _find(block, "name", node.name, after="|")
            yield _problem(a, b, f"filter '{node.name}' is not allowed here" if plain
                           else f"filter '{node.name}' takes constant arguments only",
                           "allowed filters: " + ", ".join(context.filters))
    else:
        a, b = _anchor(node, kind, block)
        yield _problem(a, b, f"{_WHAT.get(kind, kind)} is not allowed in a template: it holds a macro, "
                       "params.<name> or a constant, optionally through filters")


def _root(node) -> str | None:
    """The name an attribute chain starts from (`var` of `var.value.x`), else None."""
    from jinja2 import nodes

    while isinstance(node, nodes.Getattr):
        node = node.node
    return node.name if isinstance(node, nodes.Name) else None


def _object(node, block: list[_Token], params: list[str], context: Context):
    """`var.value.x` / `var.json.x`, `conn.x[.attr]`, `macros.<Airflow macro>`, `task.*`, `ti.*`."""
    from jinja2 import nodes

    chain = []
    while isinstance(node, nodes.Getattr):
        chain.insert(0, node.attr)
        node = node.node
    root = node.name
    private = next((a for a in chain if a.startswith("_")), None)
    if private is not None:
        a, b = _find(block, "name", private, after=".")
        yield _problem(a, b, f"attribute '.{private}' is not allowed: private and dunder attributes stay closed")
    elif root == "conn" and len(chain) > 1 and chain[1] in SECRET_ATTRS:
        a, b = _find(block, "name", "conn")
        yield _problem(a, b, f"'conn.{chain[0]}.{chain[1]}' would put a secret in the rendered template",
                       "pass the connection id and let the operator read the connection")
    elif root == "var" and (chain[0] not in ("value", "json") or len(chain) < 2):
        a, b = _find(block, "name", chain[0], after=".")
        yield _problem(a, b, "a variable is read as var.value.<name> or var.json.<name>")
    elif root == "macros" and chain[0] not in AIRFLOW_MACROS:
        a, b = _find(block, "name", chain[0], after=".")
        yield _problem(a, b, f"unknown Airflow macro 'macros.{chain[0]}'",
                       did_you_mean(chain[0], AIRFLOW_MACROS) or "known: " + ", ".join(AIRFLOW_MACROS))


def _anchor(node, kind: str, block: list[_Token]) -> tuple[int, int]:
    if kind in _OPERATOR:
        return _find(block, "operator", _OPERATOR[kind])
    if kind in _WORD:
        return _find(block, "name", _WORD[kind])
    if kind == "Compare" and node.ops:
        op = node.ops[0].op
        return _find(block, "operator", _COMPARE[op]) if op in _COMPARE else _find(block, "name", "in" if op == "in" else "not")
    return block[0].start, block[-1].end


def _find(block: list[_Token], kind: str, value: str, after: str | None = None) -> tuple[int, int]:
    """The first token of the block with that kind and value (preceded by `after`), else the block."""
    for k, tok in enumerate(block):
        if tok.kind == kind and tok.value == value and (after is None or (k and block[k - 1].value == after)):
            return tok.start, tok.end
    return block[0].start, block[-1].end


def _problem(start: int, end: int, message: str, help: str | None = None, code: str = "E312"):
    return start, end, message, help, code


def context_of(spec: PipelineSpec, path: tuple) -> Context:
    """Operator args are rendered by Airflow (with the spec's own `macros:` and `filters:`);
    every other templated place by the runtime."""
    if path[0] == "steps" and spec.steps[path[1]].kind == "operator":
        macros = tuple(spec.raw.get("macros") or {})
        filters = tuple(spec.raw.get("filters") or {})
        if macros or filters:
            return Context(AIRFLOW.names + macros, AIRFLOW.filters + filters, AIRFLOW.objects, macros)
        return AIRFLOW
    return RUNTIME


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    diags = []
    params = list(spec.params)
    for path, text in templated_strings(spec):
        for start, end, message, help, code in check_template(text, params, context_of(spec, path)):
            line, col, end_col = loaded.span_in_string(path, start, end)
            diags.append(Diagnostic(loaded.path, line, col, code, message, "error",
                                    line if end_col else None, end_col, help))
    return diags
