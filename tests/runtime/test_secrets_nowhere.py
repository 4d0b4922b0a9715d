"""Secrets never leave their connections (issue 12): a pipeline whose connections hold known
secret strings (a PostgreSQL password, S3 keys, MLflow credentials, a Qdrant API key) runs by
`etlc run` with etlc's logs at DEBUG and is compiled to a DAG file; none of the strings is in
the run's output, in any file under the project (DAG file, staging manifests, the MLflow store
and artifacts, Qdrant's files), in the S3 bucket, or in the MLflow run's params, tags and
artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from rt_service_helpers import free_port, moto_endpoint

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql://postgres:{password}@127.0.0.1:5432/test"
SECRETS = {"pg": "pg-Secret-4f1e0c", "s3_key": "AKIDSECRET9Q2W", "s3": "s3-Secret-9b2c7d",
           "ml_user": "ml-user-5e6f", "ml": "ml-Secret-77aa01", "qdrant": "qd-Secret-31d0e9"}

SPEC = """\
etlc: 1
pipeline: secrets_probe
params:
  label: {{type: string, default: probe}}
connections: {{dwh: pg_secret, lake: s3_secret, tracking: mlflow_secret, vec: qdrant_secret}}
tracking: {{connection: tracking, experiment: secrets}}
datasets:
  orders:
    format: postgres
    connection: dwh
    table: {schema}.orders
    columns: {{id: {{type: int}}, title: {{type: string}}, body: {{type: string}}}}
  lake_orders: {{format: parquet, connection: lake, path: "s3://secrets/orders/"}}
  vectors:
    format: qdrant
    {qdrant}
    collection: probe
    key: [id]
    vector: embedding
    payload: [id, title]
    columns: {{id: {{type: int}}, title: {{type: string}}, embedding: {{type: vector, size: 384}}}}
steps:
  raw: {{read: orders, filter: "id > 0"}}
  to_lake: {{from: raw, write: lake_orders, mode: overwrite}}
  embedded:
    from: raw
    call: "docs_embeddings.model:embed_texts"
    args: {{model: hashing, title_column: title, text_column: body}}
    task: own
  publish: {{from: embedded, write: vectors, mode: upsert}}
"""
LOGGING = ("import logging\nlogging.basicConfig(level=logging.WARNING)\n"
           "logging.getLogger('etlc_runtime').setLevel(logging.DEBUG)\n"
           "logging.getLogger('etlc').setLevel(logging.DEBUG)\n")


@pytest.fixture
def schema():
    try:
        psycopg.connect(PG.format(password="x"), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {exc}")
    name = f"etlc_s_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG.format(password="x"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
        conn.execute(f'CREATE TABLE "{name}".orders (id int8, title text, body text)')
        conn.execute(f'INSERT INTO "{name}".orders VALUES (1, \'one\', \'the first body\'), '
                     f'(2, \'two\', \'the second body\'), (0, \'zero\', \'dropped\')')
    yield name
    with psycopg.connect(PG.format(password="x"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def project(tmp: Path, schema: str, endpoint: str, qdrant: str) -> tuple[Path, dict]:
    root = tmp / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'probe'\n")
    (root / "boot" / "sitecustomize.py").write_text(LOGGING)
    (root / "specs" / "probe.yaml").write_text(SPEC.format(schema=schema, qdrant=qdrant))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETLC_", "AIRFLOW_CONN_",
                                                                     "MLFLOW_"))}
    env.update({
        "ETLC_PROJECT_ROOT": str(root),
        "PYTHONPATH": os.pathsep.join([str(root / "boot"), str(ROOT / "examples"),
                                       env.get("PYTHONPATH", "")]),
        "AIRFLOW_CONN_PG_SECRET": PG.format(password=SECRETS["pg"]),
        "AIRFLOW_CONN_S3_SECRET": json.dumps({
            "conn_type": "aws", "login": SECRETS["s3_key"], "password": SECRETS["s3"],
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}),
        "AIRFLOW_CONN_MLFLOW_SECRET": json.dumps({
            "conn_type": "http", "login": SECRETS["ml_user"], "password": SECRETS["ml"],
            "extra": {"tracking_uri": f"sqlite:///{root / '.etlc' / 'mlflow.db'}"}}),
        "AIRFLOW_CONN_QDRANT_SECRET": json.dumps({
            "conn_type": "qdrant", "host": "127.0.0.1", "port": free_port(),
            "password": SECRETS["qdrant"]}),
    })
    (root / ".etlc").mkdir()
    return root, env


def etlc(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etlc_compiler.cli", *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def leaks(blob: bytes) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret.encode() in blob]


def test_no_secret_in_output_files_bucket_or_mlflow(tmp_path, schema):
    import boto3
    from mlflow.tracking import MlflowClient

    with moto_endpoint() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="x",
                          aws_secret_access_key="y", region_name="us-east-1")
        s3.create_bucket(Bucket="secrets")
        root, env = project(tmp_path, schema, endpoint, "")        # Qdrant local mode
        ran = etlc(root, env, "run", "specs/probe.yaml", "--date", "2026-01-05")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        compiled = etlc(root, env, "compile", "specs/probe.yaml")
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        objects = [s3.get_object(Bucket="secrets", Key=o["Key"])["Body"].read()
                   for o in s3.list_objects_v2(Bucket="secrets")["Contents"]]
        # the Qdrant server: its API key must not show in the error of an unreachable one
        (root / "specs" / "probe.yaml").write_text(
            (root / "specs" / "probe.yaml").read_text().replace(
                "format: qdrant\n    \n", "format: qdrant\n    connection: vec\n"))
        failed = etlc(root, env, "run", "specs/probe.yaml", "--date", "2026-01-06")
    said = failed.stdout + failed.stderr
    assert failed.returncode == 1 and "publish" in said and "qdrant" in said.lower(), said

    assert leaks((ran.stdout + ran.stderr + compiled.stdout + compiled.stderr).encode()) == []
    assert leaks((failed.stdout + failed.stderr).encode()) == []
    assert len(objects) >= 2 and any(b"_etlc" in o or b"parts" in o for o in objects)
    assert [leaks(o) for o in objects] == [[] for _ in objects]
    files = [p for p in root.rglob("*") if p.is_file() and "boot" not in p.parts]
    names = {p.name for p in files}
    assert "secrets_probe.py" in names and "mlflow.db" in names         # what was grepped exists
    assert any(p.name.endswith(".json") and "staging" in p.parts for p in files), names
    assert {str(p.relative_to(root)): leaks(p.read_bytes()) for p in files
            if leaks(p.read_bytes())} == {}

    client = MlflowClient(tracking_uri=f"sqlite:///{root / '.etlc' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("secrets").experiment_id
    found = client.search_runs([experiment])
    assert found and any(r.data.params for r in found)
    for run in found:
        text = json.dumps([run.data.params, run.data.tags])
        assert leaks(text.encode()) == []
        for artifact in client.list_artifacts(run.info.run_id, "etlc/plans"):
            body = Path(client.download_artifacts(run.info.run_id, artifact.path,
                                                  str(tmp_path / "dl"))).read_bytes()
            assert leaks(body) == [] and b"pg_secret" in body     # the id, not the secret
