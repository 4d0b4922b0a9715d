"""Analyse stage: parse and type every expression, flowing column types through the steps.

Column types start at the sources' declared columns and flow step by step: `derive` adds
(and a window in it needs a shuffle: W301 under `parallelism: airflow`), `qualify` filters,
`select`/`drop`/`rename`/`cast` reshape, `aggregate` replaces, `join` merges (clashing names
are E409), `union` requires matching columns (E410) of equal types (E413). A `call` step's
output is its declared `returns:` (checked against the frame at run time: R042), else unknown.
A source without declared columns makes everything downstream unknown: expressions there are
parsed, and typed at run time (one W401 per such source).

The pass runs only on a spec the schema accepted, so it reads each key in the schema's shape
(column lists are lists of names, `union` a list of steps, `join` one mapping with `with` and
`on`, a parameter a mapping with its `type`) and does not guard against others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import type_guarantees as guarantees
from .diagnostics import Diagnostic, did_you_mean
from .graph import topo_order
from .loader import LoadedSpec
from .model import PipelineSpec, as_list

PARAM_TYPES = {"number": "float", "integer": "int", "string": "string", "boolean": "bool"}
Columns = dict | None


class _Pass:
    def __init__(self, loaded: LoadedSpec, spec: PipelineSpec):
        from etlc_runtime import expr

        self.expr = expr
        self.loaded = loaded
        self.spec = spec
        self.diags: list[Diagnostic] = []
        self.params = {n: expr.Type(PARAM_TYPES.get(p["type"], "unknown"))
                       for n, p in spec.params.items()}
        self.out: dict[str, Columns] = {}
        self.seen: dict[str, dict[str, list]] = {}   # step -> column -> its types inside it

    def expr_error(self, path: tuple, err: Any) -> None:
        """The diagnostic of an ExprError at its characters in the string at ``path`` (one
        character at least: `span_in_string` widens an empty span); no end when it spans lines."""
        line, col, end_col = self.loaded.span_in_string(path, err.start, err.end)
        self.diags.append(Diagnostic(self.loaded.path, line, col, err.code, err.message, "error",
                                     line if end_col else None, end_col, err.help))

    def check(self, path: tuple, text: Any, columns: Columns, context: str, group_keys=(), outputs=None):
        """Parse and type one expression; returns its Type or None when it does not parse."""
        if not isinstance(text, str):
            return None
        try:
            tree = self.expr.parse(text)
        except self.expr.ExprError as err:
            self.expr_error(path, err)
            return None
        typ, errors = self.expr.check(tree, columns, self.params, context, group_keys=tuple(group_keys),
                                      outputs=outputs)
        for err in errors[:1]:
            self.expr_error(path, err)
        return None if errors else typ

    def unknown(self, col: str, where: str, path: tuple, columns, at: str = "value") -> None:
        """E402 at ``path``: ``col`` is not one of ``columns`` (with the nearest as help)."""
        self.diags.append(self.loaded.diag("E402", f"unknown column '{col}' in {where}", path, at=at,
                                           help=did_you_mean(col, columns)))

    def names(self, path: tuple, value: list, columns: Columns, what: str, strip_minus: bool = False) -> None:
        """E402 at each name of the column list at ``path`` that is not one of ``columns``
        (``strip_minus``: a leading - is sort's descending order, not part of the name)."""
        if columns is None:
            return
        for i, name in enumerate(value):
            col = name[1:] if strip_minus and name.startswith("-") else name
            if col not in columns:
                line, c = self.loaded.position_in_string(path + (i,), len(name) - len(col))
                self.diags.append(Diagnostic(self.loaded.path, line, c, "E402",
                                             f"unknown column '{col}' in {what}", "error", line, c + len(col),
                                             did_you_mean(col, columns)))

    def run(self, order: list[str]) -> list[Diagnostic]:
        warned: set[str] = set()
        for name in order:
            step = self.spec.steps[name]
            base = ("steps", name)
            raw = step.raw
            if step.kind == "read":
                ds = self.spec.datasets.get(step.reads)
                cols = None
                if ds is not None and ds.columns is not None:
                    cols = self.declared(ds.columns)
                elif ds is not None and ds.name not in warned:
                    warned.add(ds.name)
                    self.diags.append(self.loaded.diag(
                        "W401", f"dataset '{ds.name}' declares no columns: expressions downstream of it are "
                        "checked at run time", base + ("read",), severity="warning",
                        help="declare its columns to have them checked now"))
                if "filter" in raw:
                    self.check(base + ("filter",), raw["filter"], cols, "filter")
                if "select" in raw:
                    self.names(base + ("select",), raw["select"], cols, f"select of step '{name}'")
                    if cols is not None:
                        cols = {c: cols[c] for c in raw["select"] if c in cols}
                self.out[name] = cols
            elif step.kind == "transform":
                self.out[name] = self.transform(name, base, raw)
            elif step.kind == "call":   # its output: the declared `returns`, else unknown
                self.out[name] = self.declared(step.returns) if step.returns is not None else None
            elif step.kind == "write":
                src = as_list(raw.get("from"))   # none: E202 of the semantic checks
                self.out[name] = self.out.get(src[0]) if src else None
                ds = self.spec.datasets.get(step.writes)
                if ds is not None:
                    self.diags += guarantees.write_columns(self.loaded, name, ds.name, ds.raw,
                                                           self.out[name])
            else:
                self.out[name] = None
            cols = self.out.get(name)
            self.note(name, cols)  # the output's types: an aggregate's or a derive's may differ
            self.checks(name, base, raw, cols)
        return self.diags

    def declared(self, columns) -> dict:
        """The types of declared columns (a dataset's `columns:`, a call's `returns:`)."""
        return {c.name: self.expr.Type.from_spec(c.spec) for c in columns}

    def note(self, name: str, cols: Columns) -> None:
        for col, t in (cols or {}).items():
            kinds = self.seen.setdefault(name, {}).setdefault(col, [])
            if t not in kinds:
                kinds.append(t)

    def transform(self, name: str, base: tuple, raw: Mapping[str, Any]) -> Columns:
        sources = as_list(raw.get("from"))
        cols = self.out.get(sources[0]) if sources else None
        cols = dict(cols) if cols is not None else None
        self.note(name, cols)
        if "join" in raw:
            cols = self.join(base + ("join",), raw["join"], cols)
        union = raw.get("union")
        if union is not None and cols is not None:
            for i, other in enumerate(union):
                oc = self.out.get(other)
                if oc is not None and set(oc) != set(cols):
                    missing = sorted(set(cols) ^ set(oc))
                    self.diags.append(self.loaded.diag("E410", f"step '{other}' has different columns: "
                                                       + ", ".join(missing), base + ("union", i)))
                self.diags += guarantees.union_types(self.loaded, base + ("union", i), other, cols, oc)
        self.note(name, cols)
        if "filter" in raw:
            self.check(base + ("filter",), raw["filter"], cols, "filter")
        derive = raw.get("derive")
        if isinstance(derive, dict):
            for col, text in derive.items():
                t = self.check(base + ("derive", col), text, cols, "row")
                if cols is not None:
                    cols[col] = t if t is not None else self.expr.Type("unknown")
            self.window_shuffle(name, base, derive)
        self.note(name, cols)
        if "qualify" in raw:  # SQL QUALIFY: after derive, windows allowed
            self.check(base + ("qualify",), raw["qualify"], cols, "qualify")
        if "aggregate" in raw or "group_by" in raw:
            keys = list(as_list(raw.get("group_by")))
            self.names(base + ("group_by",), keys, cols, f"group_by of step '{name}'")
            new: dict | None = {k: cols[k] for k in keys if k in cols} if cols is not None else None
            agg = raw.get("aggregate")
            outputs = {}
            for col, text in (agg.items() if isinstance(agg, dict) else ()):
                t = self.check(base + ("aggregate", col), text, cols, "aggregate", group_keys=keys)
                outputs[col] = t if t is not None else self.expr.Type("unknown")
                if new is not None:
                    new[col] = outputs[col]
            if "having" in raw:  # SQL HAVING: aggregates over the input rows, group keys, aggregate outputs
                self.check(base + ("having",), raw["having"], cols, "having", group_keys=keys, outputs=outputs)
            cols = new
        if "select" in raw:
            self.names(base + ("select",), raw["select"], cols, f"select of step '{name}'")
            if cols is not None:
                cols = {c: cols[c] for c in raw["select"] if c in cols}
        rename = raw.get("rename")
        if isinstance(rename, dict) and cols is not None:
            for old, new_name in rename.items():
                if old not in cols:
                    self.unknown(old, f"rename of step '{name}'", base + ("rename", old), cols, at="key")
                else:
                    cols = {(new_name if k == old else k): v for k, v in cols.items()}
        if "drop" in raw:
            self.names(base + ("drop",), raw["drop"], cols, f"drop of step '{name}'")
            if cols is not None:
                cols = {k: v for k, v in cols.items() if k not in raw["drop"]}
        cast = raw.get("cast")
        if isinstance(cast, dict) and cols is not None:
            for col, typ in cast.items():
                if col not in cols:
                    self.unknown(col, f"cast of step '{name}'", base + ("cast", col), cols, at="key")
                else:
                    want = self.expr.Type.from_spec(typ)
                    if cols[col].name == "json" and want.name not in ("json", "string"):
                        self.diags.append(self.loaded.diag(
                            "E405", f"cast of step '{name}': a json column casts to string only",
                            base + ("cast", col), help=f"extract a typed value in derive: "
                            f"cast({col} -> '$.field' as {want})"))
                    cols[col] = want
        if isinstance(raw.get("distinct"), list):
            self.names(base + ("distinct",), raw["distinct"], cols, f"distinct of step '{name}'")
        if "sort" in raw:
            self.names(base + ("sort",), raw["sort"], cols, f"sort of step '{name}'", strip_minus=True)
        self.diags += guarantees.sort_and_distinct(self.loaded, name, raw)
        return cols

    def window_shuffle(self, name: str, base: tuple, derive: Mapping[str, Any]) -> None:
        """W301 for a window in derive under ``parallelism: airflow``: a window needs every
        row of its partition (steps with keys that shuffle, qualify among them, get theirs from
        the semantic checks)."""
        step = self.spec.steps[name]
        if step.settings.get("parallelism") != "airflow" or step.needs_shuffle:
            return
        from etlc_runtime.expr.typecheck import has_window

        for col, text in derive.items():
            try:
                windowed = isinstance(text, str) and has_window(self.expr.parse(text))
            except self.expr.ExprError:
                continue
            if windowed:
                self.diags.append(self.loaded.diag(
                    "W301", f"step '{name}' needs a shuffle (a window function in derive "
                    f"'{col}'), so it runs as one task on the cluster, not as mapped Airflow tasks",
                    base + ("derive", col), at="key", severity="warning"))
                return

    def join(self, path: tuple, j: Mapping[str, Any], cols: Columns) -> Columns:
        other = self.out.get(j["with"])
        on = j["on"]
        if isinstance(on, dict):
            left_keys, right_keys = list(on), list(on.values())
        else:
            left_keys = right_keys = list(on)
        if cols is not None:
            for k in left_keys:
                if k not in cols:
                    p = path + ("on", k) if isinstance(on, dict) else path + ("on", left_keys.index(k))
                    self.unknown(k, "join", p, cols, at="key" if isinstance(on, dict) else "value")
        if other is not None:
            for k in right_keys:
                if k not in other:
                    self.unknown(k, f"joined step '{j['with']}'", path + ("with",), other)
        self.diags += guarantees.join_keys(self.loaded, path, j, cols, other)
        if cols is None or other is None:
            return None
        if j.get("how") in ("semi", "anti"):   # the default, inner, merges as left, right and outer do
            return cols
        shared = set(left_keys) if not isinstance(on, dict) else set()
        clash = sorted(c for c in other if c in cols and c not in shared)
        if clash:
            self.diags.append(self.loaded.diag("E409", f"join with '{j['with']}' gives clashing columns: "
                                               + ", ".join(clash), path + ("with",),
                                               help="rename or drop them in one of the inputs first"))
        merged = dict(cols)
        for c, t in other.items():
            merged.setdefault(c, t)
        return merged

    def checks(self, name: str, base: tuple, raw: Mapping[str, Any], cols: Columns) -> None:
        checks = raw.get("checks")
        if isinstance(checks, dict):
            for key in ("not_null", "unique"):
                if key in checks:
                    self.names(base + ("checks", key), checks[key], cols, f"checks of step '{name}'")
            for i, text in enumerate(checks.get("expect", ())):
                self.check(base + ("checks", "expect", i), text, cols, "filter")
        metrics = raw.get("metrics")
        if isinstance(metrics, dict):
            for metric, text in metrics.items():
                self.check(base + ("metrics", metric), text, cols, "metric")


    def step_types(self) -> dict[str, dict[str, dict]]:
        """For the plan: step -> {column: {"type", "scale"?, "size"?}} of the columns whose type
        is one and the same wherever the step sees them.

        The runtime hands them to the evaluator, since a dtype alone cannot tell a decimal's
        scale or a date from a timestamp. Unknown types are left out, and so is a column whose
        type changes inside the step (an aggregate output or a derive that reuses an input's
        name, a cast): one type per step could not be right both for the expressions over the
        input and for the checks and metrics over the output, so the engine takes that
        column's type from the data in each phase.
        """
        out: dict[str, dict[str, dict]] = {}
        for step, cols in self.seen.items():
            known = {}
            for col, kinds in cols.items():
                if len(kinds) != 1:
                    continue
                t = kinds[0]
                if t.name in ("unknown", "null"):
                    continue
                known[col] = {"type": t.name} | {k: v for k, v in (("scale", t.scale), ("size", t.size))
                                                 if v is not None}
            if known:
                out[step] = known
        return out


def check(loaded: LoadedSpec, spec: PipelineSpec, graph_ok: bool) -> tuple[list[Diagnostic], dict]:
    """Diagnostics of every expression and column reference, and the step types for the plan."""
    if not graph_ok:
        return [], {}
    typing = _Pass(loaded, spec)
    diags = typing.run(topo_order(spec))
    return diags, typing.step_types()
