"""The native etlc stack: the services of docker/ without Docker.

What it runs, all on loopback, as plain processes of the current Python environment:

- PostgreSQL and Redis: used when reachable (they are never started here; `up` says how
  to start them when they are not). Postgres holds Airflow's metadata database
  (``etlc_airflow``, created when missing) and the warehouse database (``etlc_warehouse``);
  without Postgres, Airflow falls back to SQLite.
- a Dask scheduler and two Dask workers (``dask scheduler`` / ``dask worker``);
- an MLflow tracking server when ``mlflow`` is importable (else reported as skipped), without
  MLflow 3's job runner unless ``--mlflow-jobs``;
- Airflow 3: api-server, scheduler, dag-processor and triggerer, with the LocalExecutor,
  or with ``--celery`` the CeleryExecutor on Redis (broker db ``--redis-db``, results the next
  db) plus a Celery worker (apache-airflow-providers-celery; celery < 5.7 for provider 3.26).

State lives under ``.etlc/stack/`` (``--state-dir`` or ``ETLC_STACK_DIR``): ``stack.json``
(the settings `up` used), ``pids/*.pid``, ``logs/*.log``, ``secrets.json`` (generated keys and
the admin password, mode 0600) and ``airflow/`` (AIRFLOW_HOME). Every process is started in a
session of its own and stopped by its process group, so `down` also ends the children
(LocalExecutor workers, uvicorn workers, Dask nannies).

Only the standard library is needed to run it; psycopg is used when importable to
create databases (else ``psql``).

The package's modules: ``settings`` (Settings, state, secrets), ``processes`` (start, stop,
pid and log files), ``probes`` (what answers: ports, PostgreSQL, Redis, health), ``environment``
(connections and Airflow's configuration; an ``AIRFLOW__...`` variable set in the environment
wins over the stack's tuning defaults), ``up`` and ``status`` (the commands of those names)
and ``cli`` (the argument parser, `down` and `env`).
"""
