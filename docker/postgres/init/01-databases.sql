-- Runs once, when the postgres-data volume is empty (docker-entrypoint-initdb.d).
-- The databases of the stack, owned by the superuser from POSTGRES_USER.
CREATE DATABASE airflow;
CREATE DATABASE mlflow;
CREATE DATABASE warehouse;

-- Schemas the example specs load into (specs/*.yaml, `table:` of postgres datasets).
\connect warehouse
CREATE SCHEMA IF NOT EXISTS b3;
CREATE SCHEMA IF NOT EXISTS shop;
