"""How a PostgreSQL load puts its rows in place of the ones they replace (the module doc of
io_postgres says when each applies): a keyed merge from the staging table (``MERGE``,
``INSERT ... ON CONFLICT`` or ``UPDATE`` and ``INSERT``), the rows of a keyless append's own
key cleared first, and one row per key in the data, the last.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from .errors import StepError
from .pg_target import APPEND_KEY, STAGE, ids

log = logging.getLogger("etlc_runtime.io_postgres")


def match(names, left: str = "t", right: str = "s"):
    from psycopg import sql

    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(sql.Identifier(left), sql.Identifier(n),
                                        sql.Identifier(right), sql.Identifier(n))
        for n in names)


def has_unique(cur, oid: int, key: list[str]) -> bool:
    cur.execute("""
        SELECT array_agg(a.attname::text) FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = %s AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid""", (oid,))
    return any(set(cols) == set(key) for (cols,) in cur.fetchall())


def has_column(cur, oid: int, column: str) -> bool:
    cur.execute("SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attname = %s "
                "AND NOT attisdropped", (oid, column))
    return cur.fetchone() is not None


def merge_keyed(cur, ident, oid: int, cols: list[str], key: list[str], name: str) -> None:
    from psycopg import sql

    rest = [c for c in cols if c not in key]
    # the batch's size, for the join's plan (a hash join for a large batch, index lookups
    # for a small one into a large table)
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(STAGE)))
    unique = has_unique(cur, oid, key)
    if unique and cur.connection.info.server_version >= 150000:
        # MERGE joins the batch once (INSERT ... ON CONFLICT tries an insert per row: about
        # 1.5x slower on half updates); etlc's lock keeps its loads apart, and another
        # writer's insert of a key in between stops the load with a unique violation
        update = sql.SQL("UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in rest)) \
            if rest else sql.SQL("DO NOTHING")
        cur.execute(sql.SQL("MERGE INTO {} t USING {} s ON {} WHEN MATCHED THEN {} WHEN NOT "
                            "MATCHED THEN INSERT ({}) VALUES ({})").format(
            ident, sql.Identifier(STAGE), match(key), update, ids(cols),
            sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in cols)))
        return
    if unique:
        action = sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in rest)) \
            if rest else sql.SQL("DO NOTHING")
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            ident, ids(cols), ids(cols), sql.Identifier(STAGE), ids(key), action))
        return
    # no unique index: etlc's lock keeps its own loads apart, but nothing in the table
    # stops other writers, so a key the table already repeats stops the load (R215)
    cur.execute(sql.SQL("SELECT {} FROM {} GROUP BY {} HAVING count(*) > 1 LIMIT 1").format(
        ids(key), ident, ids(key)))
    repeated = cur.fetchone()
    if repeated is not None:
        raise StepError(None, f"[R215] table {name!r} has no primary key or unique index on "
                              f"{key} and already holds the key {dict(zip(key, repeated))} "
                              f"more than once, so an upsert cannot tell which row to update; "
                              f"remove the duplicates and add one: ALTER TABLE {name} ADD "
                              f"PRIMARY KEY ({', '.join(key)})")
    log.warning("etlc: table %s has no primary key or unique index on %s: etlc's loads keep "
                "one row per key, other writers are not stopped from adding more", name, key)
    if rest:
        cur.execute(sql.SQL("UPDATE {} t SET {} FROM {} s WHERE {}").format(
            ident, sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c))
                                      for c in rest),
            sql.Identifier(STAGE), match(key)))
    cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s WHERE NOT EXISTS "
                        "(SELECT 1 FROM {} t WHERE {})").format(
        ident, ids(cols), sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c))
                                              for c in cols),
        sql.Identifier(STAGE), ident, match(key)))


def clear_append(cur, ident, oid: int, append_key: str, name: str) -> None:
    """Delete the rows of this append key (a retry's or an earlier run's of the same date)."""
    from psycopg import sql

    if not has_column(cur, oid, APPEND_KEY):
        # etlc never changes the columns of a table it did not create
        add = sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(
            ident, sql.Identifier(APPEND_KEY)).as_string(cur)
        raise StepError(None, f"[R213] table {name!r} was not created by etlc and has no "
                              f"{APPEND_KEY} column, so a keyless append could not replace "
                              f"its own rows on a retry; declare a key: on the dataset "
                              f"(the append becomes an upsert) or add the column: {add}")
    cur.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
        ident, sql.Identifier(APPEND_KEY)), (append_key,))


def last_per_key(data: pa.Table, key: list[str], name: str) -> pa.Table:
    """One row per key, the last one (as the merge keeps it); a null in a key column stops
    the load (R214): a null never equals a stored key, so its row would be added again on
    every run."""
    import pyarrow.compute as pc

    first = data.column(key[0])
    if len(key) == 1 and not first.null_count and \
            pc.count_distinct(first, mode="all").as_py() == data.num_rows:
        return data   # the usual case, without a Python value per row
    columns = [data.column(k).to_pylist() for k in key]
    last: dict[tuple, int] = {}
    for i, values in enumerate(zip(*columns)):
        if any(v is None for v in values):
            col = key[[v is None for v in values].index(True)]
            raise StepError(None, f"[R214] table {name!r}: key column {col!r} is null in row "
                                  f"{i + 1} ({dict(zip(key, values))}); a row without its key "
                                  f"cannot be upserted (it would be added again on every run)")
        last[values] = i
    if len(last) == data.num_rows:
        return data
    return data.take(pa.array(sorted(last.values()), pa.int64()))
