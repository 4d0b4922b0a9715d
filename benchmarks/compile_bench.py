"""Compile throughput: specs per second on one core, over 1,000 generated specs.

The specs are generated here with a fixed seed and vary in shape: 5 to 14 columns, 1 to 5
transform steps (filter, derive, group_by/aggregate, sort, join with a second source), fan-out
to 1 to 3 sinks (Parquet with partitions, CSV), params, an operator step on some. All are valid.

Three measurements:

- in-process: `check_file` + plan + render for every spec (what `etlc compile` does per
  spec), in one process pinned to one CPU; process CPU time, best of --repeat passes (robust
  on a shared machine), and the wall-clock median;
- per stage: the same work split into load, schema, model, analyse, plan, render;
- end to end: `etlc compile specs -o out` in a subprocess pinned to one CPU (interpreter start,
  project checks, writing 1,000 files included).

--profile prints the cProfile hot spots of one in-process pass.

    python benchmarks/compile_bench.py                  # 1,000 specs, 3 passes
    python benchmarks/compile_bench.py --specs 200 --profile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ["int", "float", "string", "date", "decimal"]


def make_spec(i: int, rnd: random.Random) -> str:
    pid = f"spec_{i:04d}"
    ncols = rnd.randint(5, 14)
    cols = {"id": "int", "day": "date", "amount": "decimal", "kind": "string"}
    while len(cols) < ncols:
        cols[f"c{len(cols)}"] = rnd.choice(TYPES)
    col_lines = []
    for name, t in cols.items():
        extra = ", scale: 2" if t == "decimal" else (', format: "%Y-%m-%d"' if t == "date" else "")
        col_lines.append(f"      {name}: {{type: {t}{extra}}}")
    nums = [c for c, t in cols.items() if t in ("int", "float", "decimal")]
    strs = [c for c, t in cols.items() if t == "string"]
    lines = [
        "# yaml-language-server: $schema=../schema/pipeline.schema.json",
        "etlc: 1",
        f"pipeline: {pid}",
        "description: |",
        f"  Generated benchmark spec {i}: {ncols} columns.",
        "  Second line of the description, with `code`.",
        "owner: bench",
        f"tags: [bench, shape{i % 7}]",
        f'schedule: "{rnd.choice(["@daily", "@hourly", "0 6 * * 1-5"])}"',
        "start_date: 2025-01-01",
        "catchup: false",
        "defaults:",
        "  engine: pandas",
        f"  retries: {rnd.randint(0, 3)}",
        "  retry_delay: 5m",
        "params:",
        "  min_amount: {type: number, default: 0, description: Lower bound.}",
        "  label: {type: string, default: 'run {{ ds }}'}",
        "datasets:",
        "  src:",
        "    format: csv",
        "    path: data/in/src_{{ ds_nodash }}.csv",
        "    columns:",
        *col_lines,
        "  dim:",
        "    format: parquet",
        "    path: data/dim/",
        "    columns:",
        "      kind: {type: string}",
        "      weight: {type: float}",
    ]
    sinks = rnd.randint(1, 3)
    for s in range(sinks):
        if s % 2 == 0:
            lines += [f"  out{s}:", "    format: parquet", f"    path: data/out/{pid}/out{s}/",
                      "    partition_by: [kind]"]
        else:
            lines += [f"  out{s}:", "    format: csv", f"    path: data/out/{pid}/out{s}.csv"]
    kinds = ["filter"] + [rnd.choice(["filter", "derive", "join", "group", "sort"]) for _ in range(rnd.randint(0, 4))]
    if kinds.count("join") > 1:                          # one join: a second would clash on 'weight'
        kinds = [k for i, k in enumerate(kinds) if k != "join" or i == kinds.index("join")]
    if "group" in kinds:                                 # after the group, only filters and sorts fit
        g = kinds.index("group")
        kinds = kinds[:g + 1] + [k for k in kinds[g + 1:] if k == "sort"]
    lines += ["steps:", "  raw:", "    read: src"]
    if "join" in kinds:
        lines += ["  dims:", "    read: dim"]
    prev = "raw"
    for t, choice in enumerate(kinds):
        name = f"t{t}"
        lines += [f"  {name}:", f"    from: {prev}"]
        if choice == "filter":
            num = rnd.choice(nums)
            lines.append(f'    filter: "{num} >= $min_amount and kind is not null"')
            lines += ["    derive:", f'      d{t}: "abs({num}) * 2"']
            if strs:
                lines.append(f'      s{t}: "upper(trim({rnd.choice(strs)}))"')
        elif choice == "derive":
            lines += ["    derive:", f'      e{t}: "if(amount > 100, \'big\', \'small\')"',
                      f'      y{t}: "year(day)"']
        elif choice == "join":
            lines += ["    join: {with: dims, on: [kind], how: left}"]
        elif choice == "group":
            lines += ["    group_by: [kind]", "    aggregate:", '      n: "count(*)"',
                      '      total: "sum(amount)"', '      mean_amount: "mean(amount)"']
        elif choice == "sort":
            lines += ["    sort: [kind]"]
        prev = name
    for s in range(sinks):
        lines += [f"  save{s}:", f"    from: {prev}", f"    write: out{s}", "    mode: overwrite"]
    if i % 3 == 0:
        lines += ["  notify:", "    operator: airflow.providers.standard.operators.bash:BashOperator",
                  "    args: {bash_command: 'echo {{ ds }} done'}", f"    after: [save{sinks - 1}]"]
    return "\n".join(lines) + "\n"


def write_specs(folder: Path, n: int, seed: int = 1234) -> list[Path]:
    rnd = random.Random(seed)
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'compile-bench'\nversion = '0'\n")
    paths = []
    for i in range(n):
        p = folder / "specs" / f"spec_{i:04d}.yaml"
        p.write_text(make_spec(i, rnd))
        paths.append(p)
    return paths


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def compile_all(paths: list[Path], root: Path) -> tuple[float, float, int]:
    """One pass: (CPU seconds, wall seconds, specs compiled)."""
    from etlc_compiler.api import check_file
    from etlc_compiler.compile import render_checked

    t, c = time.perf_counter(), time.process_time()
    ok = 0
    for p in paths:
        checked = check_file(p)
        if checked.ok:
            render_checked(checked, root)
            ok += 1
    return time.process_time() - c, time.perf_counter() - t, ok


def stages(paths: list[Path], root: Path) -> dict[str, float]:
    """The per-stage split of the same work (as api.check_text + compile.render_checked)."""
    from etlc_compiler import compile as compile_mod
    from etlc_compiler import generate, loader, model, plan, schema_check, semantic

    acc = dict.fromkeys(("read", "load", "schema", "model", "analyse", "plan", "render"), 0.0)
    version = compile_mod.version()
    for p in paths:
        clock = time.process_time
        t0 = clock()
        raw = p.read_bytes()
        t1 = clock()
        loaded, _ = loader.load(raw, str(p))
        t2 = clock()
        schema_check.validate(loaded)
        t3 = clock()
        spec = model.build(str(p), loaded.data)
        t4 = clock()
        semantic.analyse(loaded, spec)
        t5 = clock()
        rel = compile_mod.relative_spec_path(p, root)
        lines = {name: loaded.key_pos(("steps", name))[0] for name in spec.steps}
        pl = plan.build(spec, rel, loaded.text, lines, version)
        t6 = clock()
        generate.render(pl, version)
        t7 = clock()
        # (compile.render_checked calls version() twice more per spec: not counted here)
        for k, a, b in (("read", t0, t1), ("load", t1, t2), ("schema", t2, t3), ("model", t3, t4),
                        ("analyse", t4, t5), ("plan", t5, t6), ("render", t6, t7)):
            acc[k] += b - a
    return acc


def end_to_end(root: Path, cpu: int | None) -> tuple[float, float]:
    """`etlc compile` in a subprocess: (CPU seconds of the child, wall seconds)."""
    etlc = Path(sys.executable).with_name("etlc")
    cmd = [str(etlc)] if etlc.is_file() else [sys.executable, "-m", "etlc_compiler.cli"]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    out = root / "out"
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([*cmd, "compile", "specs", "-o", str(out)], cwd=root, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"etlc compile failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--specs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin to (default 0; -1: no pinning)")
    ap.add_argument("--profile", action="store_true", help="print cProfile hot spots of one pass")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--keep", metavar="DIR")
    args = ap.parse_args(argv)
    cpu = None if args.cpu < 0 else args.cpu
    pin(cpu)

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="etlc-compile-bench-"))
    try:
        paths = write_specs(root, args.specs)
        from etlc_compiler.api import check_file

        bad = [(p.name, [str(d) for d in c.diagnostics if d.is_error][:2]) for p in paths
               if not (c := check_file(p)).ok]
        if bad:
            raise SystemExit(f"{len(bad)} generated specs do not compile, e.g. {bad[:3]}")
        compile_all(paths[:20], root)            # warm-up: imports, schema, grammar, template
        passes = [compile_all(paths, root) for _ in range(args.repeat)]
        per_stage = stages(paths, root)
        e2e_cpu, e2e_wall = end_to_end(root, cpu)
        n = len(paths)
        cpu_best = min(p[0] for p in passes)
        wall_med = statistics.median(p[1] for p in passes)
        rate = n / cpu_best
        size = sum(p.stat().st_size for p in paths) / n
        print(f"compile throughput, {n} generated specs (mean {size / 1024:.1f} KiB), one core"
              f"{'' if cpu is None else f' (CPU {cpu})'}")
        print(f"  in-process (check + plan + render), CPU time, best of {args.repeat}: {cpu_best:.2f} s = "
              f"{rate:.0f} specs/s ({cpu_best / n * 1000:.2f} ms/spec)")
        print(f"  in-process, wall clock, median of {args.repeat}: {wall_med:.2f} s = {n / wall_med:.0f} specs/s")
        print(f"  end to end `etlc compile specs -o out` (start-up, project checks, writing files): "
              f"CPU {e2e_cpu:.2f} s = {n / e2e_cpu:.0f} specs/s; wall {e2e_wall:.2f} s = {n / e2e_wall:.0f} specs/s")
        total = sum(per_stage.values())
        print("  per stage (one pass, CPU time):")
        for k, v in per_stage.items():
            print(f"    {k:<8} {v * 1000 / n:7.3f} ms/spec  {v / total * 100:5.1f} %")
        print(f"  target >= 200 specs/s on one core: {'met' if rate >= 200 else 'NOT met'} (in-process CPU), "
              f"{'met' if n / e2e_cpu >= 200 else 'NOT met'} (end to end CPU)")
        if args.json:
            Path(args.json).write_text(json.dumps({"specs": n, "passes_cpu_wall_s": passes,
                                                   "specs_per_s_cpu": rate, "end_to_end_cpu_wall_s": [e2e_cpu, e2e_wall],
                                                   "stages_cpu_s": per_stage}, indent=1))
        if args.profile:
            import cProfile
            import pstats

            pr = cProfile.Profile()
            pr.enable()
            compile_all(paths, root)
            pr.disable()
            st = pstats.Stats(pr)
            st.sort_stats("tottime").print_stats(20)
            st.sort_stats("cumulative").print_stats(30)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
