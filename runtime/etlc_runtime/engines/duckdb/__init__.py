"""The DuckDB engine's parts: relations as SQL (``sql_build``), conversions to declared types
(``conversions``), reads and writes (``read``, ``write``), checks and metrics (``quality``);
the engine class is ``engines.duckdb_engine.DuckDBEngine``.

A fused chain is SQL text with one CTE per stage, bound (``DESCRIBE``) but never executed
until a write, a stage, a check, a metric or ``to_arrow`` asks for rows; DuckDB then plans
the whole chain as one query (projection and filter pushdown into the scans).  Nothing here
imports pandas, PostgreSQL tables included (pg_read and io_postgres move Arrow tables).
"""
