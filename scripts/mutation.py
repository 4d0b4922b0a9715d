"""`make mutation`: mutmut 3 on the modules that carry etlc's guarantees, each against its own
tests, in a scratch copy of the project (mutmut wants a src/ layout and writes a mutants/
folder; the repository itself is never written). Prints the score per module and the
surviving mutants; docs/testing.md lists the survivors with the reason they live.

    python scripts/mutation.py [MODULE ...] [--budget SECONDS] [--workdir DIR] [--jobs N]
                               [--timeout-constant SECONDS] [--resume]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# module: (file, the tests that guard it)
MODULES = {
    "checks": ("runtime/etlc_runtime/checks.py",
               ["tests/runtime/test_rt_checks_calls.py", "tests/runtime/test_rt_checks_exact.py",
                "tests/compiler/test_golden_defaults.py"]),
    "commit": ("runtime/etlc_runtime/commit.py",
               ["tests/runtime/test_rt_commit.py", "tests/runtime/test_rt_commit_findings.py",
                "tests/runtime/test_rt_commit_hive.py", "tests/runtime/test_rt_commit_exact.py"]),
    "loader": ("compiler/etlc_compiler/loader.py",
               ["tests/compiler/test_loader.py", "tests/compiler/test_loader_exact.py",
                "tests/test_invalid_corpus.py"]),
    "positions": ("compiler/etlc_compiler/string_positions.py",
                  ["tests/compiler/test_loader.py", "tests/test_invalid_corpus.py",
                   "tests/compiler/test_string_positions_exact.py"]),
    "staging": ("runtime/etlc_runtime/staging.py",
                ["tests/runtime/test_rt_staging.py", "tests/runtime/test_rt_staging_retention.py",
                 "tests/runtime/test_rt_staging_exact.py"]),
    "casts": ("runtime/etlc_runtime/expr/casts.py",
              ["tests/expr/test_casts.py", "tests/expr/test_casts_exact.py"]),
    "io_write": ("runtime/etlc_runtime/io_write.py",
                 ["tests/runtime/test_rt_io.py", "tests/runtime/test_write_fidelity.py",
                  "tests/runtime/test_rt_io_exact.py", "tests/runtime/test_rt_io_write_exact.py",
                  "tests/runtime/test_rt_postgres_io_write.py"]),
    "text_write": ("runtime/etlc_runtime/text_write.py",
                   ["tests/runtime/test_text_write_exact.py"]),
    "evaluator": ("runtime/etlc_runtime/expr/pandas_evaluator.py",
                  ["tests/expr/test_differential.py", "tests/expr/test_api.py",
                   "tests/expr/test_errors.py", "tests/expr/test_evaluator_constants.py",
                   "tests/expr/test_evaluator_survivors.py",
                   "tests/expr/test_evaluator_exact.py"]),
    "typing_pass": ("compiler/etlc_compiler/typing_pass.py",
                    ["tests/test_invalid_corpus.py", "tests/compiler/test_type_guarantees.py",
                     "tests/compiler/test_having_outputs.py", "tests/compiler/test_json_types.py",
                     "tests/compiler/test_typing_pass_exact.py", "tests/compiler/test_typing_pass_flow.py",
                     "tests/compiler/test_call_returns.py"]),
}
DEFAULT = ["checks", "commit"]
PACKAGES = {"runtime/etlc_runtime": "src/etlc_runtime", "compiler/etlc_compiler": "src/etlc_compiler"}
ALSO_COPY = ["schema", "docs", "specs", "examples"]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(work: Path, module: str, timeout_constant: float = 1.0) -> None:
    """A copy of the project in the layout mutmut expects, configured for one module."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for src, dst in PACKAGES.items():
        shutil.copytree(ROOT / src, work / dst, ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    for name in ALSO_COPY:
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, work / name, ignore=ignore)
    path, tests = MODULES[module]
    mutated = PACKAGES["/".join(path.split("/")[:2])] + "/" + path.split("/", 2)[2]
    (work / "pyproject.toml").write_text(f"""\
[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-q -p no:cacheprovider"
markers = ["stack: the native service stack", "postgres: the PostgreSQL server"]

[tool.mutmut]
source_paths = ["src"]
only_mutate = [{json.dumps(mutated)}]
pytest_add_cli_args_test_selection = {_toml_list(tests)}
also_copy = {_toml_list(ALSO_COPY)}
timeout_constant = {timeout_constant}
""")


def run(work: Path, jobs: int, budget: float) -> bool:
    """mutmut run, stopped after budget seconds (what ran by then is kept). True if it finished."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    proc = subprocess.Popen([str(BIN / "mutmut"), "run", "--max-children", str(jobs)], cwd=work,
                            env=env, start_new_session=True)
    try:
        return proc.wait(timeout=budget) == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 15)
        proc.wait()
        return False


def report(work: Path) -> dict:
    """Counts by status (killed, survived, timeout, not checked, ...) and the mutants not
    killed, from mutmut's saved results (saved as it goes, so a stopped run reports too)."""
    out = subprocess.run([str(BIN / "mutmut"), "results", "--all", "true"], cwd=work,
                         capture_output=True, text=True, check=False).stdout
    counts: dict[str, int] = {}
    not_killed = []
    for line in out.splitlines():
        name, sep, status = line.strip().partition(": ")
        if not sep:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status != "killed":
            not_killed.append(f"{name}: {status}")
    return {"counts": counts, "not_killed": [m for m in not_killed if "not checked" not in m]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", default=DEFAULT, help=f"of {', '.join(MODULES)}")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("MUTATION_SECONDS", "1200")),
                    help="seconds per module (default 1200)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "etlc-mutation")
    ap.add_argument("--timeout-constant", type=float, default=None,
                    help="seconds added to a mutant's estimated test time before mutmut multiplies it "
                         "into its limits (wall: x15). Default 1, mutmut's; under nice 19 on a loaded "
                         "machine a 10 ms test can wait 20 s for a core and count as a timeout: try 8")
    ap.add_argument("--resume", action="store_true",
                    help="continue the earlier run in --workdir (its copy, its results)")
    args = ap.parse_args(argv)
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        ap.error(f"unknown modules {sorted(unknown)}; choose from {', '.join(MODULES)}")
    summary = {}
    for module in args.modules:
        work = args.workdir / module
        if not (args.resume and work.is_dir()):
            prepare(work, module, 1.0 if args.timeout_constant is None else args.timeout_constant)
        elif args.timeout_constant is not None:
            toml = work / "pyproject.toml"  # a changed limit makes mutmut check its timeouts again
            text = re.sub(r"(?m)^timeout_constant = .*\n", "", toml.read_text())
            toml.write_text(text + f"timeout_constant = {args.timeout_constant}\n")
        started = time.monotonic()
        finished = run(work, args.jobs, args.budget)
        stats = report(work)
        counts = stats["counts"]
        killed, unchecked = counts.get("killed", 0), counts.get("not checked", 0)
        checked = sum(counts.values()) - unchecked
        score = killed / checked if checked else 0.0
        summary[module] = {**stats, "score": round(score, 3), "finished": finished,
                           "seconds": round(time.monotonic() - started)}
        print(f"\n{module}: {killed} of {checked} checked mutants killed ({score:.0%}); "
              f"{counts}{'' if finished else ' (stopped at the time budget: --resume goes on)'}")
        for line in stats["not_killed"]:
            print(f"    {line}")
    (args.workdir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nsummary: {args.workdir / 'summary.json'}; inspect one with "
          f"`cd {args.workdir}/MODULE && {BIN / 'mutmut'} show NAME`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
