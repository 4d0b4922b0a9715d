"""The docs_vectors example (specs/docs_vectors_qdrant.yaml) on a temporary project: its pages
on moto's S3 server, its MLflow runs in a SQLite store, its vectors in Qdrant's local mode, run
by `etlc run` in a child process with examples/ (the embedding package) on PYTHONPATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "docs_vectors_qdrant.yaml"
if str(ROOT / "examples") not in sys.path:          # the embedding package, as on the workers
    sys.path.insert(0, str(ROOT / "examples"))
DAY = "2026-01-05"
S3_KEY, S3_SECRET = "AKIDDOCS", "docs-S3-secret-7f3a"

# (doc_id, title, lang, body): kept when lang is en/pt and the trimmed body has 20+ characters
PAGES = [
    ("install", "Installing etlc", "en",
     "Create a virtual environment and install the package with pip, then run make demo."),
    ("postgres", "Loading into PostgreSQL", "en",
     "Rows are copied into database tables with COPY; upserts replace rows that share a key."),
    ("schedule", "Schedules", "en",
     "A cron expression or a preset such as daily decides when Airflow starts a pipeline."),
    ("secrets", "Connections and passwords", "en",
     "Credentials live in Airflow connections and never in the specification file."),
    ("cats", "Caring for a kitten", "en",
     "Feed a young cat small meals several times a day and give it fresh water."),
    ("pt_agenda", "Agendamento", "pt",
     "Uma expressão cron decide quando o Airflow inicia o pipeline todos os dias."),
    ("de_page", "Installation", "de", "Installieren Sie das Paket mit pip in einer Umgebung."),
    ("short", "Tiny", "en", "too short"),
]
KEPT = ["cats", "install", "postgres", "pt_agenda", "schedule", "secrets"]


def make_project(tmp: Path, endpoint: str) -> tuple[Path, dict[str, str]]:
    """A project holding the example spec, its pages uploaded to S3; the child's environment."""
    import boto3

    root = tmp / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'docs'\n")
    shutil.copy(SPEC, root / "specs" / SPEC.name)
    lines = [json.dumps({"doc_id": d, "title": f"  {t} ", "lang": lang, "body": body,
                         "updated_at": "2026-01-04T10:11:12.123456"})
             for d, t, lang, body in PAGES]
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
                      aws_secret_access_key=S3_SECRET, region_name="us-east-1")
    if "raw" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket="raw")
    s3.put_object(Bucket="raw", Key=f"docs/pages/{DAY}/pages.jsonl",
                  Body=("\n".join(lines) + "\n").encode())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETLC_", "AIRFLOW_CONN_"))}
    env.update({
        "ETLC_PROJECT_ROOT": str(root),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), env.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "AIRFLOW_CONN_MINIO_S3": json.dumps({
            "conn_type": "aws", "login": S3_KEY, "password": S3_SECRET,
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}),
        "AIRFLOW_CONN_MLFLOW_TRACKING": json.dumps({
            "conn_type": "http", "extra": {
                "tracking_uri": f"sqlite:///{root / '.etlc' / 'mlflow.db'}"}}),
    })
    (root / ".etlc").mkdir()
    return root, env


def run_example(root: Path, env: dict[str, str], embedder: str,
                timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etlc_compiler.cli", "run", "specs/docs_vectors_qdrant.yaml",
         "--date", DAY, "--param", f"embedder={embedder}"],
        check=False, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)


def nearest(root: Path, query: str, embedder: str, limit: int = 3) -> list[str]:
    """The doc_ids of the points nearest to ``query``'s embedding, nearest first."""
    from docs_embeddings.model import embed
    from etlc_runtime.qdrant_io import point_id
    from qdrant_client import QdrantClient

    vector = embed([query], embedder)[0]
    client = QdrantClient(path=str(root / "data" / "qdrant"))
    try:
        hits = client.query_points("docs", query=vector, limit=limit).points
    finally:
        client.close()
    by_point = {point_id([d]): d for d, *_ in PAGES}
    return [by_point[h.id] for h in hits]
