"""E316: `operator:` names an Airflow operator class.

The standard-library refusal needs nothing; the import check runs the real child process
against the Airflow installed in the test environment, and against modules written under
tmp_path that print to stdout, exit or hang while imported.
"""

from __future__ import annotations

import json
import os

import pytest
from etlc_compiler import import_child, operator_check
from etlc_compiler.api import check_text

BASH = "airflow.providers.standard.operators.bash:BashOperator"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test starts with an empty disk cache and no verdicts in memory."""
    monkeypatch.setenv("ETLC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(operator_check, "_VERDICTS", {})
    monkeypatch.setattr(operator_check, "_PARAMS", {})


def spec(*operators: str) -> str:
    steps = "".join(f"  op{i}:\n    operator: \"{op}\"\n    args: {{bash_command: \"echo hi\"}}\n"
                    for i, op in enumerate(operators))
    return f"etlc: 1\npipeline: ops\nstart_date: 2025-01-01\nsteps:\n{steps}"


def e316(text: str) -> list[tuple[int, int, int | None]]:
    return [(d.line, d.col, d.end_col) for d in check_text(text, "ops.yaml").diagnostics if d.code == "E316"]


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "subprocess:run", "subprocess:Popen",
                                  "os.path:join", "importlib:import_module", "__main__:Op", "ctypes:CDLL"])
def test_standard_library_is_refused_without_importing(name):
    assert operator_check.static_verdict(name)


@pytest.mark.parametrize("name", [BASH, "my_company.operators:ExportOperator"])
def test_other_modules_pass_the_static_check(name):
    assert operator_check.static_verdict(name) is None


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "subprocess:run"])
def test_the_issue_names_are_refused_at_the_value(name):
    text = spec(name)
    line = text.splitlines().index(f"    operator: \"{name}\"") + 1
    assert e316(text) == [(line, 15, 15 + len(name) + 2)]


@pytest.mark.parametrize("name", ["airflow.sdk:DAG", "airflow.sdk:dag", "airflow.sdk:Asset",
                                  "airflow.providers.standard.operators.bash:BashOperatorr",
                                  "etlc_no_such_module.ops:Op"])
def test_with_airflow_only_base_operator_subclasses_pass(name):
    assert operator_check.airflow_installed()
    assert len(e316(spec(name))) == 1


def test_real_operators_pass():
    assert e316(spec(BASH, "airflow.providers.standard.operators.empty:EmptyOperator")) == []


def test_without_airflow_only_the_static_check_applies(monkeypatch):
    monkeypatch.setattr(operator_check, "airflow_installed", lambda: False)
    monkeypatch.setattr(operator_check, "_VERDICTS", {})
    assert e316(spec("etlc_no_such_module.ops:Op")) == []
    assert len(e316(spec("os:system"))) == 1


def test_one_child_per_run_and_verdicts_cached_by_name(monkeypatch):
    assert e316(spec(BASH)) == []
    worker = operator_check._Worker._current
    assert worker is not None and worker.proc.poll() is None
    assert len(e316(spec("airflow.sdk:DAG", "airflow.providers.standard.operators.empty:EmptyOperator"))) == 1
    assert operator_check._Worker._current is worker  # the same child answered the second spec

    def no_child():
        raise AssertionError("a cached name started a child")

    monkeypatch.setattr(operator_check._Worker, "get", staticmethod(no_child))
    assert len(e316(spec(BASH, "airflow.sdk:DAG"))) == 1


MODULES = {
    "etlc_test_noisy_ops.py": (
        "import sys\n"
        "print('}{ not json')\n"
        "sys.stdout.write('ready\\n')\n"
        "from airflow.sdk import BaseOperator\n"
        "class Op(BaseOperator):\n    pass\n"
        "class NotOp:\n    pass\n"),
    "etlc_test_exiting_ops.py": "raise SystemExit(3)\n",
    "etlc_test_dying_ops.py": "import os\nos._exit(3)\n",
    "etlc_test_hanging_ops.py": "import time\ntime.sleep(3600)\n",
}


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A child of its own, seeing modules under tmp_path, with HOME there and no AIRFLOW_HOME."""
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    w = operator_check._Worker()
    yield w
    w.close()


def test_child_output_and_exits_do_not_confuse_the_answer(worker, tmp_path):
    answer = worker.ask(["etlc_test_noisy_ops:Op", "etlc_test_noisy_ops:NotOp", "etlc_test_exiting_ops:Op"])
    assert answer["etlc_test_noisy_ops:Op"] is None
    assert "BaseOperator" in answer["etlc_test_noisy_ops:NotOp"]
    assert "SystemExit" in answer["etlc_test_exiting_ops:Op"]
    assert worker.home is not None and not (tmp_path / "home" / "airflow").exists()


def test_a_child_that_dies_fails_its_names(worker):
    assert worker.ask(["etlc_test_noisy_ops:Op"]) == {"etlc_test_noisy_ops:Op": None}
    answer = worker.ask(["etlc_test_dying_ops:Op"])
    assert answer["etlc_test_dying_ops:Op"]
    assert worker.proc.poll() is not None and worker.home is None  # gone, its Airflow home too


def test_an_import_that_hangs_fails_after_the_limit(worker, monkeypatch):
    assert worker.ask(["etlc_test_noisy_ops:Op"]) == {"etlc_test_noisy_ops:Op": None}  # Airflow imported
    monkeypatch.setattr(import_child, "TIMEOUT_S", 3.0)
    answer = worker.ask(["etlc_test_hanging_ops:Op"])
    assert "did not finish" in answer["etlc_test_hanging_ops:Op"]
    assert worker.proc.poll() is not None


def test_good_verdicts_are_kept_on_disk_with_their_fingerprint(tmp_path, monkeypatch):
    """A second compiler run (fresh memory) takes a good verdict from the disk cache and
    starts no child; a refused name is never cached."""
    assert e316(spec(BASH)) == []
    assert len(e316(spec("airflow.sdk:DAG"))) == 1
    cache = json.loads((tmp_path / "cache" / operator_check.CACHE_FILE).read_text())
    assert list(cache) == [BASH] and cache[BASH][0] == operator_check.fingerprint(BASH)
    assert "bash_command" in cache[BASH][1]["own"] and "retries" in cache[BASH][1]["base"]
    monkeypatch.setattr(operator_check, "_VERDICTS", {})

    def no_child():
        raise AssertionError("a name cached on disk started a child")

    monkeypatch.setattr(operator_check._Worker, "get", staticmethod(no_child))
    assert e316(spec(BASH)) == []


def test_a_changed_module_is_judged_again(tmp_path, monkeypatch):
    """The fingerprint covers the operator's module file: after it changes, the cached
    verdict no longer applies and the child judges the new code."""
    pkg = tmp_path / "mods"
    pkg.mkdir()
    mod = pkg / "etlc_test_changing_ops.py"
    mod.write_text("from airflow.sdk import BaseOperator\nclass Op(BaseOperator):\n    pass\n")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pkg), os.environ.get("PYTHONPATH", "")]))
    operator_check._Worker._current = None
    name = "etlc_test_changing_ops:Op"
    assert e316(spec(name)) == []
    mod.write_text("class Op:\n    pass\n")
    os.utime(mod, ns=(1, 1))
    monkeypatch.setattr(operator_check, "_VERDICTS", {})
    operator_check._Worker._current = None  # a new compiler run: a new child, new imports
    assert len(e316(spec(name))) == 1


def e334(text: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.help) for d in check_text(text, "ops.yaml").diagnostics if d.code == "E334"]


def op_spec(operator: str, body: str) -> str:
    return f"etlc: 1\npipeline: ops\nstart_date: 2025-01-01\nsteps:\n  op:\n    operator: \"{operator}\"\n{body}"


def test_an_arg_the_operator_does_not_take_is_refused_at_its_key():
    text = op_spec(BASH, "    args:\n      bash_comand: echo hi\n      retries: 2\n"
                         "    expand:\n      cwdd: [a, b]\n      env: [{}, {}]\n")
    found = e334(text)
    assert [(line, col) for line, col, _ in found] == [(8, 7), (11, 7)]
    assert found[0][2].startswith("did you mean 'bash_command'?") and "output_processor" in found[0][2]
    assert "retries" in found[0][2]   # BaseOperator's parameters are accepted names too


def test_accepted_args_of_real_operators_pass():
    assert e334(op_spec(BASH, "    args: {bash_command: echo, env: {A: '1'}, retries: 1, trigger_rule: all_done}\n")) == []
    python = "airflow.providers.standard.operators.python:PythonOperator"
    assert e334(op_spec(python, "    args: {python_callable: 'etlc_compiler.cli:main', op_kwargs: {a: 1}}\n")) == []


OWN_OPS = (
    "from airflow.sdk import BaseOperator\n"
    "class Base(BaseOperator):\n"
    "    def __init__(self, *, table, **kwargs):\n        super().__init__(**kwargs)\n"
    "class Export(Base):\n"
    "    def __init__(self, target, **kwargs):\n        super().__init__(**kwargs)\n"
    "class Closed(BaseOperator):\n"
    "    def __init__(self, *, only):\n        super().__init__(task_id='x')\n")


def test_parameters_come_from_the_whole_mro_until_a_class_without_kwargs(tmp_path, monkeypatch):
    (tmp_path / "etlc_test_own_ops.py").write_text(OWN_OPS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    operator_check._Worker._current = None
    assert e334(op_spec("etlc_test_own_ops:Export", "    args: {target: t, table: x, pool: p}\n")) == []
    assert [c for _, c, _ in e334(op_spec("etlc_test_own_ops:Export", "    args: {target: t, tabel: x}\n"))] == [23]
    params = operator_check.accepted_params("etlc_test_own_ops:Export")
    assert params["own"] == ["target", "table"] and "retries" in params["base"]
    # no **kwargs: BaseOperator's parameters are not passed on, so they are refused
    assert [h for _, _, h in e334(op_spec("etlc_test_own_ops:Closed", "    args: {only: 1, retries: 2}\n"))] \
        == ["Closed takes only"]
    operator_check._Worker._current = None


def test_parameters_are_cached_on_disk_with_the_verdict(monkeypatch):
    text = op_spec(BASH, "    args: {bash_comand: echo}\n")
    assert len(e334(text)) == 1
    monkeypatch.setattr(operator_check, "_VERDICTS", {})
    monkeypatch.setattr(operator_check, "_PARAMS", {})

    def no_child():
        raise AssertionError("a name cached on disk started a child")

    monkeypatch.setattr(operator_check._Worker, "get", staticmethod(no_child))
    assert [(line, col) for line, col, _ in e334(text)] == [(7, 12)]


def test_a_class_that_reads_its_kwargs_itself_is_not_checked(tmp_path, monkeypatch):
    (tmp_path / "etlc_test_pop_ops.py").write_text(
        "from airflow.sdk import BaseOperator\n"
        "class Pop(BaseOperator):\n"
        "    def __init__(self, **kwargs):\n        self.x = kwargs.pop('x', None)\n        super().__init__(**kwargs)\n"
        "class Comp(BaseOperator):\n"
        "    def __init__(self, **kwargs):\n        self.o = {k: kwargs.pop(k) for k in ('y',) if k in kwargs}\n"
        "        super().__init__(**kwargs)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    operator_check._Worker._current = None
    for cls in ("Pop", "Comp"):
        assert e334(op_spec(f"etlc_test_pop_ops:{cls}", "    args: {x: 1, y: 2, anything: 3}\n")) == []
        assert operator_check.accepted_params(f"etlc_test_pop_ops:{cls}") is None
    operator_check._Worker._current = None


def test_one_child_per_project_root_answers_callables_too(tmp_path):
    """The callables check (E332) asks the same kind of child, one per project root, which has
    the root first on sys.path and imports no Airflow for functions."""
    (tmp_path / "etlc_test_root_funcs.py").write_text("VALUE = 1\n\ndef fn():\n    return 1\n", encoding="utf-8")
    worker = import_child.Worker.get(tmp_path)
    try:
        assert import_child.Worker.get(tmp_path) is worker and worker is not import_child.Worker._current
        answer = worker.ask(["etlc_test_root_funcs:fn", "etlc_test_root_funcs:VALUE", "etlc_test_root_funcs:gone"],
                            kind="callable")
        assert answer["etlc_test_root_funcs:fn"] is None
        assert "not a function" in answer["etlc_test_root_funcs:VALUE"]
        assert "no attribute 'gone'" in answer["etlc_test_root_funcs:gone"]
        assert import_child.Worker.get(tmp_path) is worker   # still the same child for the next spec
    finally:
        worker.close()
