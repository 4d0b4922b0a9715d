"""A step's transforms as SQL over a DuckDB connection: one CTE per stage, never executed here.

A :class:`Rel` is the SQL of a relation: the CTEs it needs (in dependency order, shared by
name with the relations it came from) and the name of its own CTE, plus the column names
and etlc types DuckDB binds it to: known from what the stage selects (a column passed
through keeps its type, SQL cast to a type has it), else asked by ``DESCRIBE``, which reads
no rows but binds the whole chain again, the reads' file footers included (a source's
DuckDB types decide its exact conversions, so a read is always described).  Why text
with CTEs rather than ``DuckDBPyRelation`` chains: a relation object is tied to the
connection's replacement scans and grows opaque nested subqueries, while the text is one
readable query (``EXPLAIN`` shows it step by step), joins and unions of two chains just
merge their CTE lists, and the same text is what ``COPY (...) TO`` needs.

Every identifier goes through ``quote_ident`` and every value through ``sql_literal``;
conversions to declared types and casts are :mod:`.conversions`; expressions are rendered from the AST by :mod:`etlc_runtime.expr.sql`.  Semantics follow
steps.py (the pandas engine): transforms in the fixed order, null join keys match nothing,
``union`` by name keeps duplicates and the first input's types (another type is R044),
``sort`` puts nulls last.
Row order where no ``sort`` fixes it (groups, ``distinct``, join output, which row of a
``distinct: [cols]`` duplicate set is kept) is DuckDB's, not pandas'.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import _expr
from ...errors import StepError
from ...expr import ast as A
from ...expr.sql import quote_ident as q
from ...expr.sql import render, sql_type
from ...expr.typecheck import columns_used, has_window
from ...expr.types import Type
from ...union_types import check_union_types, target_types, union_columns, untyped_strings
from .conversions import cast_sql

_INTS = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
         "USMALLINT", "UTINYINT", "UHUGEINT"}
ROW_NUMBER = "__etlc_rn"


def etlc_type(duck: str) -> Type:
    """The etlc type of a DuckDB column type."""
    d = duck.upper()
    if d in _INTS:
        return Type("int")
    if d.startswith("DECIMAL"):
        scale = d.rstrip(")").split(",")[-1] if "," in d else "0"
        return Type("decimal", int(scale))
    if d in ("DOUBLE", "FLOAT", "REAL"):
        return Type("float")
    if d == "VARCHAR":
        return Type("string")
    if d == "BOOLEAN":
        return Type("bool")
    if d == "DATE":
        return Type("date")
    if d in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return Type("timestamptz")
    if d.startswith("TIMESTAMP"):
        return Type("timestamp")
    if d.endswith("]"):
        return Type("vector")
    return Type("unknown")


@dataclass(frozen=True)
class Rel:
    """The SQL of a relation (see the module doc)."""

    ctes: tuple[tuple[str, str], ...]
    name: str
    columns: tuple[str, ...]
    types: Mapping[str, Type] = field(hash=False, compare=False)
    raw: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)  # DuckDB's

    def query(self, select: str = "*") -> str:
        head = ",\n".join(f"{q(n)} AS (\n{sql}\n)" for n, sql in self.ctes)
        return f"WITH {head}\nSELECT {select} FROM {q(self.name)}"


def _merge(*rels: Rel) -> tuple[tuple[str, str], ...]:
    seen, out = set(), []
    for rel in rels:
        for name, sql in rel.ctes:
            if name not in seen:
                seen.add(name)
                out.append((name, sql))
    return tuple(out)


def _need(rel: Rel, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in rel.columns]
    if missing:
        raise StepError(None, f"{what}: unknown column(s) {missing}; the input has "
                              f"{list(rel.columns)}")


def bound_type(t: Type | None) -> Type | None:
    """The etlc type DuckDB binds ``typed(sql, t)`` to; None where ``typed`` leaves the SQL
    as it is (its type is then DuckDB's to say)."""
    if t is None or t.name in ("null", "unknown", "vector"):
        return None
    return etlc_type(sql_type(t))


def typed(sql: str, t: Type | None) -> str:
    """``sql`` cast to the SQL type of etlc type ``t`` (DuckDB's own result type can be wider:
    HUGEINT sums, INTEGER literals)."""
    if t is None or t.name in ("null", "unknown", "vector"):
        return sql
    return f"CAST({sql} AS {sql_type(t)})"


class Builder:
    """Makes relations over one connection: each stage is a new CTE whose columns and types
    are known from what it selects, or asked of DuckDB (``DESCRIBE``) where they are not."""

    def __init__(self, con):
        self.con = con
        self._ids = itertools.count()

    def describe(self, query: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {query}").fetchall()]

    def new(self, sql: str, *parents: Rel, prefix: str = "s",
            types: Mapping[str, Type] | None = None) -> Rel:
        """A relation for ``sql`` over ``parents``: bound by DESCRIBE to learn its columns,
        unless the caller knows them (``types``); binding a chain costs more with each
        stage, and the reads' files are opened again by each bind."""
        name = f"__etlc_{prefix}{next(self._ids)}"
        ctes = _merge(*parents) + ((name, sql),)
        if types is not None:
            return Rel(ctes, name, tuple(types), dict(types))
        probe = Rel(ctes, name, (), {})
        cols = self.describe(probe.query())
        return Rel(ctes, name, tuple(c for c, _ in cols), {c: etlc_type(t) for c, t in cols},
                   dict(cols))

    def _known(self, sql: str, parents: Sequence[Rel],
               columns: Sequence[tuple[str, Type | None]]) -> Rel:
        """A stage whose columns are ``columns`` in order, each with the type DuckDB binds
        it to, where every one is known: a column of a parent passed through unchanged, or
        SQL cast to a type (``bound_type``).  Asked of DuckDB where one is not known or a
        name repeats, in any case (DuckDB renames the repeat: ``a``, ``A_1``)."""
        names = {c.casefold() for c, _ in columns}
        if len(names) < len(columns) or any(t is None for _, t in columns):
            return self.new(sql, *parents)
        return self.new(sql, *parents, types=dict(columns))

    def _same(self, sql: str, rel: Rel, cols: Sequence[str] | None = None) -> Rel:
        """A stage whose columns are ``cols`` (default: all) of ``rel``, types unchanged."""
        cols = list(rel.columns if cols is None else cols)
        return self._known(sql, [rel], [(c, rel.types.get(c)) for c in cols])

    def source(self, sql: str) -> Rel:
        """A relation over a FROM-able SQL text (a table function call, a view name)."""
        return self.new(f"SELECT * FROM {sql}", prefix="read")

    # -- transforms, in steps.ORDER ------------------------------------------------------
    def join(self, left: Rel, right: Rel, on, how: str | None) -> Rel:
        how = how or "inner"
        if isinstance(on, Mapping):
            lk, rk = [str(k) for k in on], [str(v) for v in on.values()]
        else:
            lk = rk = [on] if isinstance(on, str) else list(on)
        _need(left, lk, "join (left side)")
        _need(right, rk, "join (right side)")
        cond = " AND ".join(f"l.{q(a)} = r.{q(b)}" for a, b in zip(lk, rk))
        src = f"{q(left.name)} AS l {{}} JOIN {q(right.name)} AS r ON {cond}"
        if how in ("semi", "anti"):
            return self._known(f"SELECT l.* FROM {src.format(how.upper())}", [left, right],
                               [(c, left.types.get(c)) for c in left.columns])
        kinds = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "outer": "FULL"}
        if how not in kinds:
            raise StepError(None, f"unknown join type {how!r}")
        same = lk == rk
        items, out = [], []   # out: (name, type); a COALESCE's type is DuckDB's to say
        for c in left.columns:
            if same and c in lk and how in ("right", "outer"):
                items.append(f"COALESCE(l.{q(c)}, r.{q(c)}) AS {q(c)}")
                out.append((c, None))
            else:
                items.append(f"l.{q(c)}")
                out.append((c, left.types.get(c)))
        for c in right.columns:
            if same and c in rk:
                continue
            alias = c + "__right" if c in left.columns else c
            items.append(f"r.{q(c)} AS {q(alias)}")
            out.append((alias, right.types.get(c)))
        return self._known(f"SELECT {', '.join(items)} FROM {src.format(kinds[how])}",
                           [left, right], out)

    def union(self, base: Rel, others: Sequence[Rel],
              names: Sequence[str] | None = None) -> Rel:
        """UNION ALL by name; a column of another etlc type than the step input's is R044
        (union_types.py), never DuckDB's common supertype; each input is cast to the type
        of the first input that has a real one (representation only: DECIMAL(10,2) and
        DECIMAL(18,2), INTEGER and BIGINT)."""
        cols = union_columns(base, others)
        rels = [base, *others]
        types = untyped_strings([dict(r.types) for r in rels], lambda k, c: bool(
            self.con.execute(rels[k].query(f"count({q(c)})")).fetchone()[0]))
        check_union_types(types[0], list(zip(names or [None] * len(others), types[1:])))
        keep = target_types(types[0], types[1:])
        want = {c: types[keep[c]].get(c) if keep[c] is not None else None for c in cols}

        def item(k: int, c: str) -> str:
            return q(c) if keep[c] == k else f"{typed(q(c), want[c])} AS {q(c)}"

        parts = [f"SELECT {', '.join(item(k, c) for c in cols)} FROM {q(rel.name)}"
                 for k, rel in enumerate(rels)]
        return self.new("\nUNION ALL\n".join(parts), base, *others)

    def expr(self, rel: Rel, text: str, params, context: str = "row",
             group_keys: Sequence[str] = (), order_by: str | None = None,
             outputs: Mapping[str, tuple[str, Type]] | None = None) -> tuple[str, Type]:
        """SQL and type of an expression over ``rel``'s columns (``outputs``: the aggregate
        outputs a ``having`` may name, as (SQL, type))."""
        try:
            return render(_expr.parse(text), params, types=dict(rel.types), column=q,
                          order_by=order_by, context=context, group_keys=group_keys,
                          outputs=outputs)
        except StepError:
            raise
        except Exception as exc:
            raise StepError(None, f"expression `{text}`: {exc}", cause=exc) from exc

    def filter(self, rel: Rel, text: str, params) -> Rel:
        sql, _ = self.expr(rel, text, params, "filter")
        return self._same(f"SELECT * FROM {q(rel.name)} WHERE {sql}", rel)

    def qualify(self, rel: Rel, text: str, params) -> Rel:
        sql, _ = self.expr(rel, text, params, "qualify")
        # DuckDB refuses a QUALIFY without a window function: that one is a WHERE
        clause = "QUALIFY" if has_window(_expr.parse(text)) else "WHERE"
        return self._same(f"SELECT * FROM {q(rel.name)} {clause} {sql}", rel)

    def derive(self, rel: Rel, columns: Mapping[str, str], params) -> Rel:
        layer: dict[str, tuple[str, Type | None]] = {}   # column -> (SQL, bound type)

        def flush(rel: Rel) -> Rel:
            cols = list(rel.columns) + [c for c in layer if c not in rel.columns]
            items = [f"{layer[c][0]} AS {q(c)}" if c in layer else q(c) for c in cols]
            out = self._known(f"SELECT {', '.join(items)} FROM {q(rel.name)}", [rel],
                              [(c, layer[c][1] if c in layer else rel.types.get(c))
                               for c in cols])
            layer.clear()
            return out

        for name, text in columns.items():
            if columns_used(_expr.parse(text)) & set(layer):
                rel = flush(rel)
            node = _expr.parse(text)
            if isinstance(node, A.Column) and node.name in rel.types:
                # a copy keeps its column's exact type (a DECIMAL(38, s) is no DECIMAL(18, s))
                layer[name] = (q(node.name), rel.types[node.name])
                continue
            sql, t = self.expr(rel, text, params)
            layer[name] = (typed(sql, t), bound_type(t))
        return flush(rel) if layer else rel

    def aggregate(self, rel: Rel, group_by: Sequence[str], aggs: Mapping[str, str] | None,
                  having: str | None, params) -> Rel:
        keys = list(group_by or [])
        _need(rel, keys, "group_by")
        key_sql = ", ".join(map(q, keys))
        if not aggs:
            out = self._same(f"SELECT DISTINCT {key_sql} FROM {q(rel.name)}", rel, keys)
            return self.filter(out, having, params) if having else out
        texts = list(aggs.values()) + ([having] if having else [])
        order_by = None
        if any(isinstance(n, A.Call) and n.name in ("first", "last")
               for text in texts for n in A.walk(_expr.parse(text))):
            # first/last follow row order: number the rows as they come
            rel = self._known(f"SELECT *, row_number() OVER () AS {q(ROW_NUMBER)} "
                              f"FROM {q(rel.name)}", [rel],
                              [*((c, rel.types.get(c)) for c in rel.columns),
                               (ROW_NUMBER, etlc_type("BIGINT"))])
            order_by = q(ROW_NUMBER)
        outputs: dict[str, tuple[str, Type]] = {}
        out = [(k, rel.types.get(k)) for k in keys]
        for name, text in aggs.items():
            sql, t = self.expr(rel, text, params, "aggregate", keys, order_by)
            if t.name == "decimal":  # a sum outgrows 18 digits long before its input does
                wide = f"DECIMAL(38, {t.scale or 0})"
                outputs[name] = (f"CAST({sql} AS {wide})", t)
                out.append((name, etlc_type(wide)))
            else:
                outputs[name] = (typed(sql, t), t)
                out.append((name, bound_type(t)))
        items = [q(k) for k in keys] + [f"{sql} AS {q(n)}" for n, (sql, _) in outputs.items()]
        sql = f"SELECT {', '.join(items)} FROM {q(rel.name)}"
        if keys:
            sql += f" GROUP BY {key_sql}"
        if having:
            cond, _ = self.expr(rel, having, params, "having", keys, order_by, outputs)
            sql += f" HAVING {cond}"
        return self._known(sql, [rel], out)

    def select(self, rel: Rel, cols: Sequence[str]) -> Rel:
        _need(rel, cols, "select")
        return self._same(f"SELECT {', '.join(map(q, cols))} FROM {q(rel.name)}", rel, cols)

    def rename(self, rel: Rel, mapping: Mapping[str, str]) -> Rel:
        _need(rel, list(mapping), "rename")
        items = [f"{q(c)} AS {q(mapping[c])}" if c in mapping else q(c) for c in rel.columns]
        return self._known(f"SELECT {', '.join(items)} FROM {q(rel.name)}", [rel],
                           [(mapping.get(c, c), rel.types.get(c)) for c in rel.columns])

    def drop(self, rel: Rel, cols: Sequence[str]) -> Rel:
        _need(rel, cols, "drop")
        return self.select(rel, [c for c in rel.columns if c not in set(cols)])

    def cast(self, rel: Rel, mapping: Mapping[str, Any]) -> Rel:
        _need(rel, list(mapping), "cast")
        items = []
        for c in rel.columns:
            if c in mapping:
                want = Type.from_spec(mapping[c])
                items.append(f"{cast_sql(q(c), rel.types[c], want, c)} AS {q(c)}")
            else:
                items.append(q(c))
        return self.new(f"SELECT {', '.join(items)} FROM {q(rel.name)}", rel)

    def distinct(self, rel: Rel, spec) -> Rel:
        if spec is True:
            return self._same(f"SELECT DISTINCT * FROM {q(rel.name)}", rel)
        if not spec:
            return rel
        _need(rel, spec, "distinct")
        return self._same(f"SELECT DISTINCT ON ({', '.join(map(q, spec))}) * "
                          f"FROM {q(rel.name)}", rel)

    def sort(self, rel: Rel, keys: Sequence[str]) -> Rel:
        items, cols = [], []
        for key in keys:
            key = str(key).strip()
            desc = key.startswith("-")
            col = key[1:].strip() if key[:1] in "+-" and key else key
            cols.append(col)
            items.append(f"{q(col)} {'DESC' if desc else 'ASC'} NULLS LAST")
        _need(rel, cols, "sort")
        return self._same(f"SELECT * FROM {q(rel.name)} ORDER BY {', '.join(items)}", rel)

    def limit(self, rel: Rel, n) -> Rel:
        return self._same(f"SELECT * FROM {q(rel.name)} LIMIT {int(n)}", rel)

    def apply(self, step: Mapping[str, Any], inputs: Mapping[str, Rel], params,
              base: Rel | None = None) -> Rel:
        """The step's transform keys in steps.py's order."""
        if base is None:
            sources = step.get("from") or []
            sources = [sources] if isinstance(sources, str) else list(sources)
            if not sources:
                raise StepError(step.get("name"), "a transform needs `from`")
            base = inputs[sources[0]]
        rel = base
        if step.get("join"):
            specs = step["join"] if isinstance(step["join"], list) else [step["join"]]
            for spec in specs:
                rel = self.join(rel, inputs[spec["with"]], spec["on"], spec.get("how"))
        if step.get("union"):
            names = step["union"] if isinstance(step["union"], list) else [step["union"]]
            rel = self.union(rel, [inputs[n] for n in names], names)
        if step.get("filter"):
            rel = self.filter(rel, step["filter"], params)
        if step.get("derive"):
            rel = self.derive(rel, step["derive"], params)
        if step.get("qualify"):
            rel = self.qualify(rel, step["qualify"], params)
        if step.get("aggregate") or step.get("group_by"):
            rel = self.aggregate(rel, step.get("group_by"), step.get("aggregate"),
                                 step.get("having"), params)
        elif step.get("having"):
            rel = self.filter(rel, step["having"], params)
        for key in ("select", "rename", "drop", "cast", "distinct", "sort"):
            if step.get(key):
                rel = getattr(self, key)(rel, step[key])
        if step.get("limit") is not None:
            rel = self.limit(rel, step["limit"])
        return rel
