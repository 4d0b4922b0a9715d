"""The throughput benchmark's dask engine against hand-written Dask (issue 11: within 1.15x).

For each job and size, ``etlc-dask`` (``etlc run``, ``engine: dask``) over each hand-written
Dask run the benchmark has: ``dask-cluster`` (the same job on the same kind of cluster the
engine starts, a ``LocalCluster`` in the process: issue 11's "hand-written Dask on the same
cluster") and ``dask`` (Dask's threaded scheduler, no ``distributed`` cluster).  Four ratios
each: wall seconds best over best and median over median, and the same for the whole
process's CPU seconds (the fairer figure on a loaded machine).  Used by throughput_bench.py's
report; not a test.
"""
from __future__ import annotations

import statistics

OURS = "etlc-dask"
REFERENCES = ("dask-cluster", "dask")
TARGET = 1.15  # issue 11: the dask engine within 1.15x of hand-written Dask on the same cluster


def _stats(samples: list[dict], job: str, impl: str, rows: int) -> dict | None:
    runs = [s for s in samples if (s["job"], s["impl"], s["rows"]) == (job, impl, rows)]
    if not runs:
        return None
    wall = [s["seconds"] for s in runs]
    cpu = [s["cpu_seconds"] for s in runs]
    return {"runs": len(runs), "wall_best": min(wall), "wall_median": statistics.median(wall),
            "cpu_best": min(cpu), "cpu_median": statistics.median(cpu)}


def ratios(samples: list[dict], jobs: list[str], sizes: list[int]) -> list[dict]:
    """One entry per (job, size, reference) where both etlc-dask and the reference ran."""
    out = []
    for job in jobs:
        for rows in sizes:
            ours = _stats(samples, job, OURS, rows)
            if ours is None:
                continue
            for ref_name in REFERENCES:
                ref = _stats(samples, job, ref_name, rows)
                if ref is None:
                    continue
                entry = {"job": job, "rows": rows, "against": ref_name,
                         "runs": [ours["runs"], ref["runs"]]}
                for key in ("wall_best", "wall_median", "cpu_best", "cpu_median"):
                    entry[key] = ours[key] / ref[key]
                    entry[key + "_s"] = [ours[key], ref[key]]
                out.append(entry)
    return out


def markdown(entries: list[dict], labels: dict[str, str]) -> list[str]:
    """The table of :func:`ratios` (no lines when there is nothing to compare)."""
    if not entries:
        return []
    title = (f"### The dask engine against hand-written Dask (issue 11: <= {TARGET}x on the "
             "same cluster)")
    head = ("| job | rows | against | wall: best | wall: median | CPU: best | CPU: median "
            "| runs (etlc, hand) |")
    lines = ["", title, "", head, "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        cells = [f"{e[k]:.2f}x ({e[k + '_s'][0]:.2f} / {e[k + '_s'][1]:.2f} s)"
                 for k in ("wall_best", "wall_median", "cpu_best", "cpu_median")]
        lines.append(f"| {e['job']} | {e['rows']:,} | {labels.get(e['against'], e['against'])} "
                     f"| " + " | ".join(cells) + f" | {e['runs'][0]}, {e['runs'][1]} |")
    same = [e for e in entries if e["against"] == REFERENCES[0]]
    if same:
        met = [e for e in same if e["cpu_median"] <= TARGET]
        lines += ["", (f"Within {TARGET}x of hand-written Dask on the same LocalCluster by "
                       f"median CPU seconds: {len(met)} of {len(same)} (job, size) pairs.")]
    return lines
