"""Nothing from outside becomes code: hostile spec file names, folder names and spec text only
ever reach string constants of the generated DAG file.

Hypothesis makes file and folder names of quotes, triple quotes, backslashes, `\\N`, every
line break Python or an editor honours, `{{ }}`, `#` and PEP 263 `coding:` declarations,
and fills the free-text fields with the same. Each spec is written to a real file under a
temporary project and compiled by the real `etlc compile` entry point. The generated file,
parsed from its bytes (so an encoding declaration would count), must have the same syntax
tree as the file a harmless spec gives once every string constant is replaced by a
placeholder, and each hostile value must be found inside a string constant. Some fixed
hostile cases, one per finding, are then imported by Airflow's own DagBag: they load, and
the payload's sentinel folder is never created.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from codegen_support import load_dagbag, run_etlc
from etlc_compiler.generate import spec_of_header
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

BASH = "airflow.providers.standard.operators.bash:BashOperator"
NAME_PARTS = ['"""', "'''", '"', "'", "\\", "\\N", "\\N{BULLET}", "\\x41", "\n", "\r", "\r\n", "\x0b", "\x0c",
              "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\ufeff", "\u202e", "\t", "{{ ds }}", "}}",
              "{%", "{#", "#", " coding:utf-7 ", "coding=latin-1", "-*- coding: ascii -*-", "+ACI-",
              ");__import__('os').system('false');(", "é", "中", "\U0001f600", " ", "$HOME", "`", "x", "."]
_frag = st.sampled_from(NAME_PARTS)
PLACEHOLDER = "<string>"
PEP263 = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
_counter = itertools.count()


def _name(parts: list[str], first: str, limit: int) -> str:
    """A name of at most `limit` UTF-8 bytes starting with `first` (never '.', never hidden)."""
    name = first
    for part in parts:
        if len((name + part).encode("utf-8", "surrogatepass")) > limit:
            break
        name += part
    return name


def hostile_text() -> st.SearchStrategy[str]:
    return st.lists(_frag, min_size=1, max_size=8).map("".join)


def template_free(text: str) -> str:
    """Hostile text for a templated place: no '{' (the template check rightly refuses most)."""
    return text.replace("{", "(")


def build_spec(t: dict) -> dict:
    return {
        "etlc": 1,
        "pipeline": "hostile",
        "description": "d" + t["description"],
        "owner": "o" + t["owner"],
        "tags": ["t1" + t["tag"][:90], "t2" + t["tag"][:90]],
        "start_date": "2025-01-01",
        "params": {"p": {"type": "string", "default": template_free(t["param_default"]),
                         "description": t["param_description"]}},
        "datasets": {
            "src": {"format": "csv", "path": "data/in.csv", "description": t["dataset_description"],
                    "columns": {"x": {"type": "int", "description": t["column_description"]}}},
            "dst": {"format": "csv", "path": "data/out.csv"},
        },
        "steps": {
            "raw": {"read": "src", "doc": "r" + t["doc"]},
            "save": {"from": "raw", "write": "dst", "mode": "overwrite"},
            "notify": {"operator": BASH, "after": ["save"], "doc": "n" + t["doc"],
                       "args": {"bash_command": "echo " + template_free(t["arg"]),
                                "env": {"MESSAGE": template_free(t["arg"])}}},
        },
    }


FIELDS = ("description", "owner", "tag", "param_default", "param_description", "dataset_description",
          "column_description", "doc", "arg")
HARMLESS = {k: "plain" for k in FIELDS}


def compile_project(folder: str, name: str, spec: dict, workdir: Path) -> tuple[Path, str]:
    """Write specs/<folder>/<name> under a new project, run `etlc compile` in process; returns the
    generated file and the spec path as the project sees it."""
    from etlc_compiler.cli import main

    root = workdir / f"p{next(_counter)}"
    spec_dir = root / "specs" / folder if folder else root / "specs"
    spec_dir.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'hostile'\nversion = '0'\n", encoding="utf-8")
    # every string double-quoted on one line: the step lines in the plan stay those of HARMLESS
    (spec_dir / name).write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=4096,
                                                default_style='"'), encoding="utf-8")
    out = root / "dags"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = main(["compile", str(root / "specs"), "-o", str(out), "--color", "never"])
    assert rc == 0, buf.getvalue()
    rel = (spec_dir / name).relative_to(root).as_posix()
    return out / "hostile.py", rel


def shape(tree: ast.AST) -> str:
    """The tree with every string constant replaced by one placeholder."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = PLACEHOLDER
    return ast.dump(tree, include_attributes=False)


def strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="etlc-hostile-") as d:
        yield Path(d)


@pytest.fixture(scope="module")
def harmless_shape(workdir) -> str:
    generated, _ = compile_project("", "plain.yaml", build_spec(HARMLESS), workdir)
    return shape(ast.parse(generated.read_bytes()))


def check_hostile(folder: str, name: str, t: dict, workdir: Path, harmless_shape: str) -> None:
    spec = build_spec(t)
    generated, rel = compile_project(folder, name, spec, workdir)
    data = generated.read_bytes()
    tree = ast.parse(data)  # from bytes: an encoding declaration would apply
    found = strings(tree)
    docstring = ast.get_docstring(tree, clean=False)
    assert shape(tree) == harmless_shape

    # the header: one line, names the spec exactly, declares no encoding
    first = data.split(b"\n", 1)[0].decode("utf-8")
    assert not any(ch in first for ch in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert spec_of_header(first) == rel
    assert not PEP263.search(b"\n".join(data.split(b"\n")[:2]).decode("utf-8"))

    # the spec path and each hostile value sit inside string constants, whole
    assert rel in found  # COMMON['spec']
    assert docstring == f"hostile: an Airflow DAG generated by etlc from {rel}."
    values = [spec["description"].strip(), spec["owner"], *spec["tags"], spec["params"]["p"]["default"],
              spec["params"]["p"]["description"], spec["datasets"]["src"]["description"],
              spec["datasets"]["src"]["columns"]["x"]["description"], spec["steps"]["raw"]["doc"].strip(),
              spec["steps"]["notify"]["doc"].strip(), spec["steps"]["notify"]["args"]["bash_command"],
              spec["steps"]["notify"]["args"]["env"]["MESSAGE"]]
    for value in values:
        assert any(value in s for s in found), value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(folder=st.one_of(st.just(""), st.lists(_frag, max_size=6).map(lambda p: _name(p, "d", 120))),
       stem=st.lists(_frag, max_size=10).map(lambda p: _name(p, "s", 200)),
       t=st.fixed_dictionaries({k: hostile_text() for k in FIELDS}))
@example(folder="", stem='z"""\'\'\'', t={k: '"""\'\'\'\\N\r\n\u2028{{ }}#' for k in FIELDS})
@example(folder="", stem="c\\N", t=HARMLESS)
@example(folder='a"""\\N', stem="x coding:utf-7 ", t=HARMLESS)
def test_hostile_names_and_text_stay_inside_string_constants(folder, stem, t, workdir, harmless_shape):
    check_hostile(folder, stem + ".yaml", t, workdir, harmless_shape)


# -- the findings, loaded by Airflow -----------------------------------------------------------

PAYLOAD = "__import__('os').mkdir(__import__('os').environ['ETLC_HOSTILE_SENTINEL'])"
FINDINGS = {
    # the two file names, one that ended the header comment with \r, one with an encoding
    # declaration, and one that closed the docstring
    "z_quotes": f"z\"\"\"'''{PAYLOAD}'''\"\"\".yaml",
    "c_backslash_n": "c\\N.yaml",
    "cr_in_header": f"x\r{PAYLOAD}#.yaml",
    "coding_declaration": "x coding:utf-7 +ACI-.yaml",
    "docstring_close": f'z""";{PAYLOAD};""".yaml',
}


def finding_spec(pipeline: str) -> dict:
    spec = build_spec({k: f"\"\"\"'''\r\n+ACI-{PAYLOAD}#\u2028" for k in FIELDS})
    spec["pipeline"] = pipeline
    return spec


def test_findings_load_in_airflow_without_running_anything(tmp_path, monkeypatch):
    sentinel = tmp_path / "payload-ran"
    monkeypatch.setenv("ETLC_HOSTILE_SENTINEL", str(sentinel))
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'hostile'\nversion = '0'\n", encoding="utf-8")
    for pipeline, name in FINDINGS.items():
        (root / "specs" / name).write_text(yaml.safe_dump(finding_spec(pipeline), allow_unicode=True, width=4096),
                                           encoding="utf-8")
    result = run_etlc("compile", "specs", "-o", "dags", "--color", "never", cwd=root)
    assert result.returncode == 0, result.stderr
    out = root / "dags"
    assert sorted(p.stem for p in out.glob("*.py")) == sorted(FINDINGS)
    bag = load_dagbag(out)
    assert not bag.import_errors, bag.import_errors
    assert set(FINDINGS) <= set(bag.dag_ids)
    assert not sentinel.exists()
    for pipeline, name in FINDINGS.items():
        assert bag.dags[pipeline].get_task("save").task_plan["spec"] == f"specs/{name}"
    # every DAG is current: each header names its spec exactly, so none is stale or orphaned
    again = run_etlc("compile", "specs", "-o", "dags", "--check", cwd=root)
    assert again.returncode == 0, again.stderr


# -- operator argument names that are no Python identifier --------------------------------------

KW_OPS = """\
from airflow.sdk import BaseOperator

ODD = ("class", "from", "lambda", "a-b", "ünï", "2x")


class KwOperator(BaseOperator):
    def __init__(self, *, note=None, **kwargs):
        self.odd = {k: kwargs.pop(k) for k in ODD if k in kwargs}
        self.note = note
        super().__init__(**kwargs)

    def execute(self, context):
        return self.odd
"""
ODD_ARGS = {"class": "c", "from": 1, "lambda": [1, None], "a-b": {"x": "'''"}, "ünï": "u", "2x": True}


def test_keyword_and_odd_argument_names_compile_and_load(tmp_path, monkeypatch):
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "etlc_kw_ops.py").write_text(KW_OPS, encoding="utf-8")
    spec = {"etlc": 1, "pipeline": "kwargs", "start_date": "2025-01-01",
            "steps": {"odd": {"operator": "etlc_kw_ops:KwOperator", "retries": 1,
                              "args": {"note": "n", **ODD_ARGS, "retries": 3}}}}
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'kw'\nversion = '0'\n", encoding="utf-8")
    (root / "specs" / "kwargs.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = run_etlc("compile", "specs", "-o", "dags", cwd=root, env={"PYTHONPATH": str(ops)})
    assert result.returncode == 0, result.stderr
    source = (root / "dags" / "kwargs.py").read_bytes()
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
                and any(k.arg == "note" for k in n.keywords))
    assert [k.arg for k in call.keywords].count(None) == 1  # one **{...} for the odd names
    assert [k.arg for k in call.keywords].count("retries") == 1  # the arg, not also the setting
    monkeypatch.syspath_prepend(str(ops))
    bag = load_dagbag(root / "dags")
    assert not bag.import_errors, bag.import_errors
    task = bag.dags["kwargs"].get_task("odd")
    assert task.odd == ODD_ARGS and task.note == "n" and task.retries == 3
