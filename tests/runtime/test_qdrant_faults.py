"""SIGKILL in the middle of a Qdrant write, then a rerun (issue 12): the collection equals a
clean run's, point for point; an overwrite killed before its alias swap leaves readers the
whole previous version, and the rerun leaves one collection behind the alias."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from etlc_runtime.qdrant_io import LOCAL_FOLDER, point_id
from rt_qdrant_kill_worker import COUNT, main

qdrant_client = pytest.importorskip("qdrant_client", reason="qdrant-client is in the dev extra")

WORKER = Path(__file__).with_name("rt_qdrant_kill_worker.py")


def write(root: Path, mode: str, version: int, kill_after: int = 0) -> int:
    if not kill_after:
        main(str(root), mode, version, 0)
        return 0
    done = subprocess.run([sys.executable, str(WORKER), str(root), mode, str(version),
                           str(kill_after)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def state(root: Path):
    """(alias -> collection, collection names, {point id: (version, vector)} behind 'docs')."""
    client = qdrant_client.QdrantClient(path=str(root / LOCAL_FOLDER))
    try:
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        names = sorted(c.name for c in client.get_collections().collections)
        got = client.scroll("docs", limit=1000, with_payload=True, with_vectors=True)[0]
        return aliases, names, {p.id: (p.payload["version"], tuple(p.vector)) for p in got}
    finally:
        client.close()


def expected(version: int) -> dict:
    return {point_id([f"d{i:03d}"]): (version, (float(i), float(version))) for i in range(COUNT)}


@pytest.mark.parametrize("mode", ["upsert", "overwrite"])
def test_a_write_killed_mid_upsert_then_rerun_equals_a_clean_run(tmp_path, mode):
    clean = tmp_path / "clean"
    assert write(clean, mode, 1) == 0 and write(clean, mode, 2) == 0
    aliases, names, want = state(clean)
    assert want == expected(2) and names == [aliases["docs"]]

    root = tmp_path / "killed"
    assert write(root, mode, 1) == 0
    assert write(root, mode, 2, kill_after=3) == -signal.SIGKILL       # 30 of 60 points sent
    aliases, names, got = state(root)
    if mode == "upsert":                    # upserted in place: 30 new points, 30 old ones
        assert sorted(v for v, _ in got.values()) == [1] * 30 + [2] * 30
    else:                                   # the alias still shows the whole old version
        assert got == expected(1) and len(names) == 2 and aliases["docs"] in names
    assert write(root, mode, 2) == 0        # the rerun
    aliases, names, got = state(root)
    assert got == want                      # one point per key, the clean run's
    assert names == [aliases["docs"]]       # one collection, behind the alias
