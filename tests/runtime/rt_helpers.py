"""Helpers of the runtime tests: task plans (the comparison of results is ``exact_rows``)."""

from __future__ import annotations

import copy


def task_plan(steps, datasets=None, *, output=None, inputs=None, params=None, task=None,
              pipeline="p", engine="pandas", partitions=1, staging=".etlc/staging"):
    steps = copy.deepcopy(steps)
    for i, step in enumerate(steps):
        step.setdefault("line", 10 + i)
        if "from" in step and isinstance(step["from"], str):
            step["from"] = [step["from"]]
        if "kind" not in step:
            for kind in ("read", "write", "call", "operator"):
                if kind in step:
                    step["kind"] = kind
                    break
            else:
                step["kind"] = "transform"
    return {
        "etlc": 1, "pipeline": pipeline, "task": task or steps[-1]["name"],
        "spec": "specs/p.yaml", "engine": engine, "partitions": partitions,
        "parallelism": "dask", "staging": {"connection": None, "path": staging},
        "params": params or {}, "datasets": datasets or {}, "inputs": inputs or {},
        "steps": steps, "output": output,
    }


def run_spec(folder, text: str, rows: str, params=None) -> dict:
    """Compile spec ``text`` (which reads ``in.csv``, holding ``rows``) in project ``folder``
    and run it with ``etlc run``'s runner: the run's summary."""
    from etlc_compiler.api import check_text
    from etlc_compiler.compile import plan_checked
    from etlc_runtime.local import run_pipeline

    (folder / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (folder / "in.csv").write_text(rows)
    (folder / "s.yaml").write_text(text)
    checked = check_text(text, str(folder / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, folder).pipeline_payload(), params,
                        project_root=str(folder))
