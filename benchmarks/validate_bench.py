"""Validation speed: specs per second over generated specs, and a cold `etlc validate`.

Usage: python benchmarks/validate_bench.py [--specs 1000] [--cold-runs 7] [--plot out.png]
Prints a table. Targets (issue 2): >= 300 specs/s on one core; cold single-spec < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "specs").glob("*.yaml"))


def generate(n: int, folder: Path) -> list[Path]:
    """n distinct specs: the examples with renamed pipelines and steps, cycled."""
    out = []
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLES]
    for i in range(n):
        base = texts[i % len(texts)]
        pipeline = next(line.split(":", 1)[1].strip() for line in base.splitlines() if line.startswith("pipeline:"))
        text = base.replace(f"pipeline: {pipeline}", f"pipeline: {pipeline}_{i}")
        p = folder / f"spec_{i:04d}.yaml"
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out


def warm_throughput(files: list[Path]) -> tuple[float, float]:
    from etlc_compiler.api import check_file, check_text  # noqa: F401 - imports outside the timing

    check_file(files[0])
    t0 = time.perf_counter()
    errors = 0
    for f in files:
        errors += not check_file(f).ok
    seconds = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{errors} generated specs did not validate")
    return len(files) / seconds, seconds


def cold(spec: Path, runs: int) -> list[float]:
    exe = Path(sys.executable).with_name("etlc")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "etlc_compiler.cli"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd + ["validate", str(spec)], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--specs", type=int, default=1000)
    ap.add_argument("--cold-runs", type=int, default=7)
    ap.add_argument("--plot", help="write a PNG bar chart (needs matplotlib)")
    args = ap.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(args.specs, Path(tmp))
        rate, seconds = warm_throughput(files)
        cold_times = cold(files[0], args.cold_runs)
    median = statistics.median(cold_times)
    rows = [
        ("validate throughput (one core)", f"{rate:,.0f} specs/s", ">= 300 specs/s", "ok" if rate >= 300 else "MISSED"),
        (f"  ({args.specs} specs)", f"{seconds:.2f} s total", "", ""),
        ("cold `etlc validate` of one spec", f"{median * 1000:.0f} ms (median of {len(cold_times)})", "< 500 ms",
         "ok" if median < 0.5 else "MISSED"),
        ("  min / max", f"{min(cold_times) * 1000:.0f} / {max(cold_times) * 1000:.0f} ms", "", ""),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(("measure", "result", "target", ""), widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot", file=sys.stderr)
            return
        fig, ax = plt.subplots(1, 2, figsize=(8, 3))
        ax[0].bar(["etlc", "target"], [rate, 300])
        ax[0].set_title("specs/s (one core)")
        ax[1].bar(["etlc cold", "target"], [median * 1000, 500])
        ax[1].set_title("cold validate, ms")
        fig.tight_layout()
        fig.savefig(args.plot)


if __name__ == "__main__":
    main()
