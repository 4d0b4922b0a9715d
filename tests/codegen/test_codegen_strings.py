"""Every free-text string of a spec reaches the generated DAG file safely and exactly.

A hypothesis test fills each free-text field of a valid spec (description, owner, tags,
param default/description/title, dataset path/description, column description, staging path,
step doc, call and operator args) with arbitrary Unicode, quotes, backslashes, triple
quotes, newlines and `{{ }}`; the generated file must compile, import through a real DagBag
without import errors, and carry each string exactly (read back from the imported DAG and
from the plan literals of the exec'd module). Templated fields (paths, param defaults, args)
get only well-formed `{{ macro }}` blocks, since the compiler rightly rejects others.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import tempfile
from pathlib import Path

import pytest
import yaml
from codegen_support import load_dagbag, make_project
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

BASH = "airflow.providers.standard.operators.bash:BashOperator"
NASTY = ['"""', "'''", '"', "'", "\\", "\\n", "\\x00", "\\N{BULLET}", "\n", "\r", "\r\n", "\t", "\x00",
         "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\ufeff", "\U0001f600", "é", "中文", "#", "# noqa",
         "{{", "}}", "{{ ds }}", "{% if %}", "{#", "%s", "%(x)s", "{0}", "$x", "${HOME}", "`", "```",
         "</script>", "--", "*/", ");import os;(", "\\'", "\\\"", "r'", "f'{x}'", " ", "\u00a0"]
TEMPLATES = ["{{ ds }}", "{{ ds_nodash }}", "{{ params.p }}", "{{ run_id }}", "{{ logical_date }}"]

_chars = st.characters(exclude_categories=("Cs",))
_frag = st.one_of(st.sampled_from(NASTY), st.text(_chars, min_size=1, max_size=12))


def free_text(min_size: int = 0, max_size: int = 60) -> st.SearchStrategy[str]:
    """Joined fragments (each at least one character), cut to max_size."""
    return st.lists(_frag, min_size=min(min_size, 1), max_size=8).map("".join).map(lambda s: s[:max_size])


def templated_text(min_size: int = 0) -> st.SearchStrategy[str]:
    """Free text without '{', with well-formed {{ macro }} blocks in between."""
    plain = free_text(1).map(lambda s: s.replace("{", "("))
    return st.lists(st.one_of(plain, st.sampled_from(TEMPLATES)), min_size=min(min_size, 1),
                    max_size=5).map("".join)


def tag_text() -> st.SearchStrategy[str]:
    return free_text(1, 100)


def build_spec(s: dict) -> dict:
    """A valid spec with the free-text fields taken from s."""
    return {
        "etlc": 1,
        "pipeline": "fuzz",
        "description": s["description"],
        "owner": s["owner"],
        "tags": s["tags"],
        "schedule": None,
        "start_date": "2025-01-01",
        "params": {"p": {"type": "string", "default": s["param_default"],
                         "description": s["param_description"], "title": s["param_title"]}},
        "staging": {"path": s["staging_path"]},
        "datasets": {
            "src": {"format": "csv", "description": s["dataset_description"], "path": s["src_path"],
                    "columns": {"a": {"type": "int", "description": s["column_description"]},
                                "b": {"type": "string"}}},
            "dst": {"format": "parquet", "path": s["dst_path"]},
        },
        "steps": {
            "raw": {"read": "src", "doc": s["doc_raw"]},
            "clean": {"from": "raw", "filter": "a > 0", "derive": {"c": "upper(b)"}, "doc": s["doc_clean"]},
            "fn": {"call": "fuzz_module:transform", "from": "clean",
                   "args": {"text": s["call_arg"], "items": [s["call_list_arg"], 1, None, True],
                            "nested": {"k": s["call_nested_arg"]}}},
            "save": {"from": "fn", "write": "dst", "mode": "overwrite"},
            "notify": {"operator": BASH, "after": ["save"], "doc": s["doc_notify"],
                       "args": {"bash_command": s["bash_command"], "env": {"MESSAGE": s["env_value"]}}},
        },
    }


FIELDS = {
    "description": free_text(), "owner": free_text(1), "tags": st.lists(tag_text(), max_size=3, unique=True),
    "param_default": templated_text(), "param_description": free_text(), "param_title": free_text(),
    "staging_path": templated_text(1), "dataset_description": free_text(), "src_path": templated_text(1),
    "dst_path": templated_text(1), "column_description": free_text(), "doc_raw": free_text(),
    "doc_clean": free_text(), "doc_notify": free_text(), "call_arg": templated_text(),
    "call_list_arg": templated_text(), "call_nested_arg": templated_text(), "bash_command": templated_text(1),
    "env_value": templated_text(),
}
NASTIEST = {k: "'''\"\"\"\\\n{{ ds }}\r\n\u2028é\x00`" if k not in ("param_default", "staging_path", "src_path",
            "dst_path", "call_arg", "call_list_arg", "call_nested_arg", "bash_command", "env_value")
            else "'''\"\"\"\\\n{{ ds }}\r\n\u2028é\x00`}}" for k in FIELDS}
NASTIEST["tags"] = ["'''", '"""', "\\"]

_counter = itertools.count()


def compile_spec(spec: dict, workdir: Path) -> tuple[int, Path, str]:
    """Write the spec into a project under workdir, run `etlc compile` (in process); returns the
    exit code, the generated file and the diagnostics printed."""
    from etlc_compiler.cli import main

    text = "# yaml-language-server: $schema=x\n" + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True,
                                                                 width=4096)
    proj = make_project(workdir / f"p{next(_counter)}", {"fuzz": text})
    out = proj / "dags"
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        rc = main(["compile", str(proj / "specs"), "-o", str(out), "--color", "never"])
    return rc, out / "fuzz.py", buf_out.getvalue() + buf_err.getvalue()


def module_namespace(path: Path) -> dict:
    ns: dict = {"__name__": "etlc_fuzz_generated", "__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), ns)  # noqa: S102
    return ns


def check_carried(s: dict, workdir: Path) -> None:
    spec = build_spec(s)
    # the test's own premise: YAML carries the strings unchanged
    assume(yaml.safe_load(yaml.safe_dump(spec, allow_unicode=True, width=4096)) == spec)
    rc, generated, output = compile_spec(spec, workdir)
    if rc != 0:
        # only the secret detector (and containment, E315, for random paths that leave the
        # project; E317, for random paths that coincide) may object to random text; anything
        # else is a compiler bug
        codes = {line.split("error[")[1][:4] for line in output.splitlines() if "error[" in line}
        if codes and codes <= {"E315", "E317", "E501", "E502", "E503"}:
            event("random text looked like a secret or an unsafe path")
            assume(False)
        pytest.fail(f"a valid spec did not compile (exit {rc}):\n{output}")

    source = generated.read_text(encoding="utf-8")
    compile(source, str(generated), "exec")
    bag = load_dagbag(generated.parent)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["fuzz"]
    ns = module_namespace(generated)

    # DAG-level strings
    description = s["description"]
    assert ns["DOC_MD"] == dag.doc_md
    if description.strip():
        assert description.strip() in dag.doc_md
    # the DAG's description is the first paragraph on one line, at most 200 characters
    summary = " ".join(description.strip().split("\n\n")[0].split())
    if not summary:
        assert dag.description is None
    elif len(summary) <= 200:
        assert dag.description == summary
    else:
        assert dag.description == summary[:199].rstrip() + "…"
    assert "```mermaid" in dag.doc_md
    assert set(dag.tags) == set(s["tags"])
    for task in dag.tasks:
        assert task.owner == s["owner"]
    param = dag.params.get_param("p")
    assert param.value == s["param_default"]
    assert param.description == s["param_description"]
    assert param.schema.get("title") == s["param_title"]

    # plan literals: datasets and args verbatim
    plans = {k: v for k, v in ns.items() if k.startswith("PLAN_")}
    assert set(plans) == {"PLAN_SAVE"}
    plan = plans["PLAN_SAVE"]
    assert plan["datasets"]["src"] == spec["datasets"]["src"]
    assert plan["datasets"]["dst"] == spec["datasets"]["dst"]
    assert plan["staging"]["path"] == s["staging_path"]
    assert plan["params"]["p"] == spec["params"]["p"]
    fn = {step["name"]: step for step in plan["steps"]}["fn"]
    assert fn["args"] == spec["steps"]["fn"]["args"]
    assert dag.get_task("save").task_plan == plan

    # each step's doc reaches its task's doc_md (after the line naming the spec file and line)
    for step, task_id in (("doc_raw", "save"), ("doc_clean", "save"), ("doc_notify", "notify")):
        doc = dag.get_task(task_id).doc_md
        assert doc.startswith("etlc step") and "`specs/fuzz.yaml` line " in doc
        if s[step].strip():
            assert s[step].strip() in doc

    # the operator's args reach the operator unchanged
    notify = dag.get_task("notify")
    assert notify.bash_command == s["bash_command"]
    assert notify.env == {"MESSAGE": s["env_value"]}
    assert notify.upstream_task_ids == {"save"}


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="etlc-fuzz-") as d:
        yield Path(d)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(s=st.fixed_dictionaries(FIELDS))
@example(s=NASTIEST)
@example(s={k: ([] if k == "tags" else ("x" if k in ("owner", "staging_path", "src_path", "dst_path",
                                                      "bash_command") else "")) for k in FIELDS}
           | {"staging_path": "stage", "dst_path": "out"})  # E317: a write never shares staging
def test_every_string_reaches_the_dag_exactly(s, workdir):
    check_carried(s, workdir)


def test_step_doc_becomes_task_doc(workdir):
    s = {k: "x" for k in FIELDS}
    s["tags"] = []
    s["staging_path"], s["dst_path"] = "stage", "out"  # E317: a write never shares staging
    s["doc_notify"] = "Tell the team '''\"\"\" {{ ds }}\n that it ran."
    s["doc_raw"] = "Read the source."
    rc, generated, output = compile_spec(build_spec(s), workdir)
    assert rc == 0, output
    dag = load_dagbag(generated.parent).dags["fuzz"]
    assert s["doc_notify"] in dag.get_task("notify").doc_md
    assert s["doc_raw"] in dag.get_task("save").doc_md
