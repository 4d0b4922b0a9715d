"""Benchmark: a dask job with checks and metrics, whole `etlc run` processes (issue 11).

The job is throughput_jobs' q1 over the lineitem table (throughput_data.py; 8 Parquet files
under $ETLC_BENCH_DIR, default /tmp/etlc-bench) with ``engine: dask, partitions: 8`` and, on
the step that filters and derives, checks (not_null, two ``expect``, row_count) and two
metrics.  Until the checks and the write were computed together (engines/dask/waiting.py)
the checks, the metrics and the write each read and transformed the input again.

``--tree NAME=DIR`` runs the job with the ``runtime`` folder of another source tree of etlc
first on ``PYTHONPATH`` (a ``git archive`` of a commit's ``runtime``); without any, this
checkout alone (``this``).  Two trees from the same commit, one with a change's files copied
in, compare the change alone.  Runs are interleaved (every repeat runs every tree,
the order rotating); CPU seconds of the whole process (user + system, children included),
wall seconds and peak memory; best and median of ``--repeat``.

    git archive <commit> runtime | tar -x -C /tmp/etlc-before
    python benchmarks/dask_checks_bench.py --rows 2000000 --repeat 5 \
        --tree before=/tmp/etlc-before --tree after=/tmp/etlc-after
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from throughput_bench import DASK_PARTITIONS, child_env, compile_sources, run_process
from throughput_data import bench_dir
from throughput_jobs import etlc_spec

CHECKS = """    checks:
      not_null: [l_orderkey, l_shipdate]
      expect: ["l_quantity > 0", "charge >= disc_price"]
      row_count: {min: 1}
    metrics:
      lines: "count(*)"
      revenue: "sum(disc_price)"
"""


def spec(rows: int, out: str) -> str:
    """q1 with the filter and derive in a step of their own, which carries the checks."""
    text = etlc_spec("q1", rows, "dask", out).replace(
        "defaults: {engine: dask}", f"defaults: {{engine: dask, partitions: {DASK_PARTITIONS}}}")
    head, _, rest = text.partition("  q1:\n    from: lineitem\n")
    derive, _, group = rest.partition("    group_by:")
    return (f"{head}  priced:\n    from: lineitem\n{derive}{CHECKS}"
            f"  q1:\n    from: priced\n    group_by:{group}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR")
    args = ap.parse_args(argv)
    root = bench_dir()
    subprocess.run([sys.executable, str(HERE / "throughput_data.py"), "--rows",
                    str(args.rows)], check=True)
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": None}
    (root / "specs").mkdir(parents=True, exist_ok=True)
    compile_sources(root)
    etlc = Path(sys.executable).with_name("etlc")
    cmds = {}
    for name, src in trees.items():   # a spec each: each tree's check verdict stays cached
        path = root / "specs" / f"q1checks-dask-{args.rows}-{name}.yaml"
        path.write_text(spec(args.rows, f"out/q1checks/dask-{args.rows}-{name}.parquet"))
        cmds[name] = [str(etlc), "run", str(path.relative_to(root)), "--date", "2025-01-01"]
        if src:   # its bytecode too, before any timed run
            subprocess.run([sys.executable, "-m", "compileall", "-q", f"{src}/runtime"],
                           env=child_env(root), check=False, stdout=subprocess.DEVNULL)
    got: dict[str, list[tuple[float, float, int]]] = {name: [] for name in trees}
    names = list(trees)
    for r in range(args.repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            env = child_env(root)
            if trees[name]:
                env["PYTHONPATH"] = str(Path(trees[name]) / "runtime")
            log = root / f"q1checks-{name}.log"
            wall, cpu, peak, rc = run_process(cmds[name], root, log, 900, env)
            if rc:
                sys.exit(f"{name}: exit {rc}, see {log}")
            got[name].append((wall, cpu, peak))
            print(f"repeat {r + 1} {name}: wall {wall:.2f} s, CPU {cpu:.2f} s, "
                  f"peak {peak / 2**20:.0f} MB", flush=True)
    print(f"\n{args.rows} rows, {args.repeat} runs | CPU s best; median | wall s best; median "
          f"| peak MB best")
    for name, runs in got.items():
        cpu, wall = [c for _, c, _ in runs], [w for w, _, _ in runs]
        print(f"{name} | {min(cpu):.2f}; {statistics.median(cpu):.2f} | {min(wall):.2f}; "
              f"{statistics.median(wall):.2f} | {min(p for *_, p in runs) / 2**20:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
