"""`etlc compile` through the real command line: in step with specs/, deterministic bytes,
orphan removal, --check, the output folder, and one broken spec among good ones."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from codegen_support import (
    GENERATED,
    HEADER,
    ROOT,
    copy_specs,
    make_project,
    read_generated,
    run_etlc,
    simple_spec,
)


def test_generated_dags_in_step_with_specs():
    """The committed generated_dags/ is exactly what `etlc compile specs/` writes today."""
    r = run_etlc("compile", "--check", "specs/")
    assert r.returncode == 0, f"generated_dags/ is out of step with specs/ (run `etlc compile`):\n{r.stderr}"
    specs = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    assert len(list(GENERATED.glob("*.py"))) >= len(specs)


def test_same_spec_same_bytes(tmp_path):
    """Two compiles, to two folders, from two working directories, with different hash seeds,
    time zones and locales, give byte-identical files."""
    proj = copy_specs(tmp_path / "proj")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    r1 = run_etlc("compile", "specs", "-o", str(a), cwd=proj, env={"PYTHONHASHSEED": "0", "TZ": "UTC"})
    r2 = run_etlc("compile", "specs", "-o", str(b), cwd=proj,
                  env={"PYTHONHASHSEED": "12345", "TZ": "America/Sao_Paulo", "LC_ALL": "C"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r3 = run_etlc("compile", str(proj / "specs"), "-o", str(c), cwd=elsewhere,
                  env={"PYTHONHASHSEED": "777", "TZ": "Asia/Tokyo"})
    for r in (r1, r2, r3):
        assert r.returncode == 0, r.stderr
    files_a, files_b, files_c = read_generated(a), read_generated(b), read_generated(c)
    assert len(files_a) == len(list((proj / "specs").glob("*.yaml")))
    assert files_a == files_b
    assert files_a == files_c


def test_recompile_writes_nothing(project):
    r = run_etlc("compile", "specs", cwd=project)
    assert r.returncode == 0, r.stderr
    out = project / "generated_dags"
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.py")}
    r = run_etlc("compile", "specs", cwd=project)
    assert r.returncode == 0, r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.py")} == mtimes
    assert "0 written" in r.stderr


def test_orphans_removed_only_with_etlc_header(project):
    out = project / "generated_dags"
    assert run_etlc("compile", "specs", cwd=project).returncode == 0
    assert sorted(p.name for p in out.glob("*.py")) == ["alpha.py", "beta.py"]
    # an old generated file whose spec is gone, a hand-written DAG, a file that mentions the
    # header on its second line only, a non-Python file that starts with the header
    (out / "gone.py").write_text(HEADER + "0.0.1 from specs/gone.yaml. Do not edit.\nx = 1\n")
    (out / "hand_written.py").write_text("from airflow.sdk import DAG\n")
    (out / "second_line.py").write_text("# my DAG\n" + HEADER + "0.1.0 from specs/x.yaml\n")
    (out / "notes.txt").write_text(HEADER + "0.1.0\n")
    (out / "bom.py").write_bytes(b"\xff\xfe not utf-8 \x80")
    (project / "specs" / "beta.yaml").unlink()
    r = run_etlc("compile", "specs", cwd=project)
    assert r.returncode == 0, r.stderr
    left = sorted(p.name for p in out.iterdir())
    assert left == ["alpha.py", "bom.py", "hand_written.py", "notes.txt", "second_line.py"]
    assert "2 removed" in r.stderr


def test_compiling_one_spec_keeps_the_other_dags(project):
    out = project / "generated_dags"
    assert run_etlc("compile", "specs", cwd=project).returncode == 0
    r = run_etlc("compile", "specs/alpha.yaml", cwd=project)
    assert r.returncode == 0, r.stderr
    assert (out / "beta.py").is_file(), "compiling specs/alpha.yaml deleted the DAG of specs/beta.yaml"
    r = run_etlc("compile", "--check", "specs/alpha.yaml", cwd=project)
    assert r.returncode == 0, r.stderr


def test_check_names_stale_missing_and_orphaned_files(project):
    out = project / "generated_dags"
    r = run_etlc("compile", "--check", "specs", cwd=project)
    assert r.returncode == 1
    assert "alpha.py: missing" in r.stderr and "beta.py: missing" in r.stderr
    assert not out.exists(), "--check must write nothing"

    assert run_etlc("compile", "specs", cwd=project).returncode == 0
    assert run_etlc("compile", "--check", "specs", cwd=project).returncode == 0

    (out / "alpha.py").write_text((out / "alpha.py").read_text() + "# edited by hand\n")
    (out / "beta.py").unlink()
    (out / "gamma.py").write_text(HEADER + "0.1.0 from specs/gamma.yaml.\n")
    before = read_generated(out)
    r = run_etlc("compile", "--check", "specs", cwd=project)
    assert r.returncode == 1
    assert "alpha.py: stale" in r.stderr
    assert "beta.py: missing" in r.stderr
    assert "gamma.py" in r.stderr
    assert read_generated(out) == before, "--check must write nothing"

    # a changed spec makes its file stale
    assert run_etlc("compile", "specs", cwd=project).returncode == 0
    spec = project / "specs" / "alpha.yaml"
    spec.write_text(spec.read_text().replace("Small test pipeline", "A changed pipeline"))
    r = run_etlc("compile", "--check", "specs", cwd=project)
    assert r.returncode == 1 and "alpha.py: stale" in r.stderr and "beta.py" not in r.stderr


def test_output_folder_option_and_pyproject(tmp_path):
    # [tool.etlc] output, relative to the project root, whatever the working directory
    proj = make_project(tmp_path / "proj", {"alpha": simple_spec("alpha")},
                        pyproject='\n[tool.etlc]\noutput = "airflow/dags"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_etlc("compile", str(proj / "specs"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (proj / "airflow" / "dags" / "alpha.py").is_file()
    assert not (elsewhere / "generated_dags").exists() and not (proj / "generated_dags").exists()
    assert run_etlc("compile", "--check", "specs", cwd=proj).returncode == 0

    # -o wins over [tool.etlc]; a relative -o is relative to the working directory
    r = run_etlc("compile", "specs", "-o", "elsewhere_out", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert (proj / "elsewhere_out" / "alpha.py").is_file()
    r = run_etlc("compile", str(proj / "specs"), "-o", str(tmp_path / "abs_out"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "abs_out" / "alpha.py").read_bytes() == (proj / "airflow" / "dags" / "alpha.py").read_bytes()

    # without [tool.etlc]: generated_dags/ under the project root
    proj2 = make_project(tmp_path / "proj2", {"beta": simple_spec("beta")})
    r = run_etlc("compile", str(proj2 / "specs"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (proj2 / "generated_dags" / "beta.py").is_file()


def test_one_broken_spec_does_not_stop_the_others(project):
    out = project / "generated_dags"
    assert run_etlc("compile", "specs", cwd=project).returncode == 0
    beta_before = (out / "beta.py").read_bytes()
    specs = project / "specs"
    (specs / "alpha.yaml").write_text(simple_spec("alpha").replace("Small test", "Changed"))
    (specs / "beta.yaml").write_text(simple_spec("beta").replace('"x > 0"', '"xx > 0"'))   # E402
    (specs / "broken.yaml").write_text("etlc: 1\npipeline: [not, an, id\n")                   # E101
    (specs / "gamma.yaml").write_text(simple_spec("gamma"))
    r = run_etlc("compile", "specs", cwd=project)
    assert r.returncode == 1
    assert "beta.yaml" in r.stdout and "E402" in r.stdout
    assert "broken.yaml" in r.stdout and "E1" in r.stdout
    assert (out / "gamma.py").is_file()
    assert "Changed" in (out / "alpha.py").read_text()
    # the broken spec keeps its last good DAG file
    assert (out / "beta.py").read_bytes() == beta_before


OPERATOR_ONLY = """\
etlc: 1
pipeline: only_ops
start_date: 2025-01-01
steps:
  hello:
    operator: airflow.providers.standard.operators.bash:BashOperator
    args: {bash_command: "echo hello {{ ds }}"}
  bye:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
    after: [hello]
"""
WITH_CALL = """\
  enrich:
    from: keep
    call: my_pkg.transforms:enrich
    args: {factor: 2, label: "it's \\"quoted\\"\\n{{ ds }}"}
    task: own
"""


def test_generated_files_pass_ruff(tmp_path):
    """`ruff check --isolated` (ruff's default rules, no project config) finds nothing in the
    compiled specs/, nor in DAGs with only operators, call steps, params or no params."""
    proj = make_project(tmp_path / "proj", {
        "only_ops": OPERATOR_ONLY,
        "with_call": simple_spec("with_call", WITH_CALL).replace("from: keep\n    write", "from: enrich\n    write"),
    })
    out = tmp_path / "out"
    r = run_etlc("compile", "specs", "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = run_etlc("compile", "specs", "-o", str(out / "tmp_project"), cwd=proj)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list(out.rglob("*.py"))) >= 6
    exe = Path(sys.executable).with_name("ruff")
    ruff = str(exe) if exe.is_file() else shutil.which("ruff")
    res = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--output-format", "concise", str(out)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_generated_files_compile_and_import_fast(tmp_path):
    out = tmp_path / "out"
    assert run_etlc("compile", "specs", "-o", str(out)).returncode == 0
    for f in out.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        compile(text, str(f), "exec")
        imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
        for line in imports:
            module = line.split()[1]
            assert module.split(".")[0] in ("__future__", "datetime", "airflow", "etlc_runtime"), \
                f"{f.name}: heavy or unexpected import at parse time: {line}"
        assert "Variable" not in text and "BaseHook" not in text, f"{f.name} looks up Airflow state at parse time"
