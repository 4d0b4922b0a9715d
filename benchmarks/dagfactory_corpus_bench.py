"""DagBag parse time of the dag-factory parity corpus: etlc's generated files vs dag-factory.

The YAMLs of tests/codegen/dagfactory_corpus (each DAG copied --copies times under new DAG ids)
are (a) converted by `etlc convert dag-factory` and compiled by `etlc compile`, one DAG file per
DAG, and (b) loaded by dag-factory, one small loader file per YAML calling
`dagfactory.load_yaml_dags`, as dag-factory's docs show. Each parse runs in a fresh interpreter
that has imported airflow.sdk, the DagBag class and dagfactory (what a DAG processor holds
before it parses a file; dag-factory's own import is not charged to it); the figure is the
CPU time of `DagBag(dag_folder=...)`, the least of --repeat interleaved rounds, cold (no
bytecode of the DAG files) and warm (their .pyc written by an earlier parse).

    python benchmarks/dagfactory_corpus_bench.py --copies 10 --repeat 5 [--json out.json] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import parse_bench  # its probe, environment and measurement

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "codegen" / "dagfactory_corpus"
LOADER = ('"""Loads the dag-factory config {name} into Airflow: its DAGs."""\n\nfrom pathlib import Path\n\nfrom dagfactory import load_yaml_dags\n\n'
          'load_yaml_dags(globals_dict=globals(), config_filepath=str(Path(__file__).parent / "configs" / "{name}"))\n')
PRELOAD = "import airflow.sdk  # noqa: F401  (loaded before any DAG file, as in a DAG processor)\nimport dagfactory  # noqa: F401\n"


def corpus(work: Path, copies: int) -> tuple[Path, int]:
    """The corpus YAMLs, each DAG copied under new ids; returns the folder and the DAG count."""
    out = work / "yamls"
    out.mkdir()
    dags = 0
    for f in sorted(CORPUS.glob("*.yml")):
        if f.name == "defaults.yml":   # the parity test's shared defaults, not a DAG file
            continue
        data = yaml.safe_load(f.read_text())
        for i in range(copies):
            renamed = {(k if k == "default" else f"{k}_{i:03d}"): v for k, v in data.items()}
            dags += sum(k != "default" for k in renamed)
            (out / f"{f.stem}_{i:03d}.yml").write_text(yaml.safe_dump(renamed, sort_keys=False))
    return out, dags


def build(work: Path, copies: int) -> tuple[Path, Path, Path, int]:
    yamls, dags = corpus(work, copies)
    lib = work / "lib"
    lib.mkdir()
    shutil.copy(CORPUS / "dfc_funcs.py", lib / "dfc_funcs.py")
    proj = work / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("[project]\nname = 'corpus-bench'\nversion = '0'\n")
    shutil.copy(CORPUS / "dfc_funcs.py", proj / "dfc_funcs.py")
    os.environ["DFC_ROOT"] = str(proj)  # df_callable_file's python_callable_file: $DFC_ROOT/dfc_funcs.py
    etlc = [sys.executable, "-m", "etlc_compiler.cli"]
    generated = work / "generated"
    for step in (["convert", "dag-factory", *map(str, sorted(yamls.glob("*.yml"))), "-o", "specs"],
                 ["compile", "specs", "-o", str(generated)]):
        r = subprocess.run([*etlc, *step], cwd=proj, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise SystemExit(f"etlc {step[0]} failed:\n{r.stdout}\n{r.stderr}")
    factory = work / "factory"
    (factory / "configs").mkdir(parents=True)
    for f in sorted(yamls.glob("*.yml")):
        shutil.copy(f, factory / "configs" / f.name)
        (factory / f"{f.stem}.py").write_text(LOADER.format(name=f.name))
    return generated, factory, lib, dags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of parsing the generated files")
    args = ap.parse_args(argv)
    parse_bench.PROBE = parse_bench.PROBE.replace("import airflow.sdk  # noqa: F401  (loaded before any DAG file, "
                                                  "as in a DAG processor)\n", PRELOAD)
    with tempfile.TemporaryDirectory(prefix="etlc-corpus-bench-") as tmp:
        work = Path(tmp)
        generated, factory, lib, dags = build(work, args.copies)
        home = work / "home"
        home.mkdir()
        if args.profile:
            code = parse_bench.PROBE.replace(
                "bag = DagBag(dag_folder=sys.argv[1])",
                "import cProfile, pstats\npr = cProfile.Profile(); pr.enable()\nbag = DagBag(dag_folder=sys.argv[1])\n"
                "pr.disable()\npstats.Stats(pr, stream=sys.stderr).sort_stats('cumulative').print_stats(40)")
            r = subprocess.run([sys.executable, "-c", code, str(generated)],
                               env=parse_bench.env_for(home, generated, lib), capture_output=True, text=True, check=False)
            print(r.stderr[-25000:])
        results: dict[str, dict[str, list[float]]] = {}
        for warm in (False, True):
            mode = "warm" if warm else "cold"
            for _ in range(args.repeat):
                for name, folder in (("etlc", generated), ("dag-factory", factory)):
                    out = parse_bench.measure(folder, dags, home, lib, None, warm=warm)
                    results.setdefault(mode, {}).setdefault(name, []).append(out["cpu"])
        summary = {}
        for mode, by in results.items():
            best = {name: min(v) for name, v in by.items()}
            summary[mode] = {**{f"{k}_ms_per_dag": round(v / dags * 1000, 2) for k, v in best.items()},
                             "ratio_etlc_to_dagfactory": round(best["etlc"] / best["dag-factory"], 3)}
            print(f"{mode}: {dags} DAGs; etlc {best['etlc'] / dags * 1000:.1f} ms/DAG, dag-factory "
                  f"{best['dag-factory'] / dags * 1000:.1f} ms/DAG; etlc/dag-factory "
                  f"{summary[mode]['ratio_etlc_to_dagfactory']:.2f}")
        if args.json:
            Path(args.json).write_text(json.dumps({"dags": dags, "repeat": args.repeat, **summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
