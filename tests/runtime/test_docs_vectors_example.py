"""The docs_vectors example end to end (issue 12): pages on S3 (moto), the `call` step's
embedder, vectors in Qdrant's local mode, one MLflow run per DAG run; a query finds the
expected page by meaning. The hashing embedder runs in the fast test, the real
all-MiniLM-L6-v2 model (the `embed` extra) in the test marked slow."""

from __future__ import annotations

import math

import pytest
from docs_vectors_support import KEPT, PAGES, make_project, nearest, run_example
from etlc_runtime.qdrant_io import point_id
from rt_service_helpers import moto_endpoint


@pytest.fixture(scope="module")
def endpoint():
    with moto_endpoint() as url:
        yield url


def stored(root):
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(root / "data" / "qdrant"))
    try:
        points = client.scroll("docs", limit=100, with_payload=True, with_vectors=True)[0]
        return {p.id: p for p in points}, [c.name for c in client.get_collections().collections]
    finally:
        client.close()


def parent_runs(root):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / '.etlc' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("docs_vectors")
    return client.search_runs([experiment.experiment_id], "tags.`etlc.kind` = 'dag_run'")


def test_the_example_runs_with_the_hashing_embedder(tmp_path, endpoint):
    from docs_embeddings.model import hashing_vector

    root, env = make_project(tmp_path, endpoint)
    done = run_example(root, env, "hashing")
    assert done.returncode == 0, done.stdout + done.stderr
    points, collections = stored(root)
    assert set(points) == {point_id([d]) for d in KEPT}          # filter: lang, body length
    assert len(collections) == 1                                  # `upsert`: one collection
    pages = {d: (t, lang, body) for d, t, lang, body in PAGES}
    for doc in KEPT:
        title, lang, body = pages[doc]
        point = points[point_id([doc])]
        assert point.payload == {"title": title, "lang": lang,     # trimmed by `derive`
                                 "updated_at": "2026-01-04T10:11:12.123456"}
        want = hashing_vector(f"{title}. {body}")
        assert max(abs(a - b) for a, b in zip(point.vector, want, strict=True)) < 1e-6
    assert nearest(root, "how does Airflow schedule a pipeline with cron", "hashing")[0] == \
        "schedule"

    again = run_example(root, env, "hashing")                     # a reload replaces points
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(stored(root)[0]) == set(points)
    runs = parent_runs(root)
    assert len(runs) == 2                                         # one per DAG run
    assert {r.data.metrics["prepared.pages"] for r in runs} == {6.0}
    assert {r.data.metrics["publish_vectors.rows"] for r in runs} == {6.0}
    assert {r.data.metrics["embedded.docs"] for r in runs} == {6.0}
    assert all(math.isclose(r.data.metrics["embedded.mean_norm"], 1.0, rel_tol=1e-6)
               for r in runs)


@pytest.mark.slow
def test_the_example_with_all_minilm_finds_pages_by_meaning(tmp_path, endpoint):
    root, env = make_project(tmp_path, endpoint)
    done = run_example(root, env, "all-MiniLM-L6-v2")
    assert done.returncode == 0, done.stdout + done.stderr
    points, _ = stored(root)
    assert set(points) == {point_id([d]) for d in KEPT}
    for point in points.values():
        assert len(point.vector) == 384
        assert math.isclose(math.fsum(x * x for x in point.vector), 1.0, rel_tol=1e-4)
    # no word of a query is in its page: the model, not word overlap, finds it
    assert nearest(root, "where do I keep my database login", "all-MiniLM-L6-v2")[0] == \
        "secrets"
    assert nearest(root, "looking after a pet", "all-MiniLM-L6-v2")[0] == "cats"
    assert nearest(root, "setting up the tool on my computer", "all-MiniLM-L6-v2")[0] == \
        "install"
