"""Checks, call steps and operator steps."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from etlc_runtime.call import load_object, run_call, run_operator
from etlc_runtime.checks import run_checks
from etlc_runtime.errors import CheckFailed, StepError
from etlc_runtime.templating import macros

M = macros("manual__1", "2025-01-02", {})


@pytest.fixture
def frame():
    return pd.DataFrame({"id": pd.array([1, 2, 2, 3], dtype="Int64"),
                         "day": pd.array(["d1", "d1", "d2", "d1"], dtype="string"),
                         "v": pd.array([1.0, None, 3.0, -1.0], dtype="Float64")})


def test_not_null(frame):
    assert run_checks(frame, {"not_null": ["id", "day"]}, {}, step="s") == ["not_null"]
    with pytest.raises(CheckFailed) as info:
        run_checks(frame, {"not_null": ["id", "v"]}, {}, step="clean")
    err = info.value
    assert err.step == "clean" and err.check == "not_null(v)" and err.failing == 1
    assert err.examples == [{"id": 2, "day": "d1", "v": None}]
    assert "step 'clean'" in str(err) and "not_null(v)" in str(err)


def test_unique_is_on_the_combined_columns(frame):
    assert run_checks(frame, {"unique": ["id", "day"]}, {}, step="s") == ["unique"]
    with pytest.raises(CheckFailed) as info:
        run_checks(frame, {"unique": ["day"]}, {}, step="s")
    assert info.value.failing == 3 and info.value.check == "unique(day)"
    assert info.value.examples[0] == {"day": "d1"}


def test_row_count(frame):
    assert run_checks(frame, {"row_count": {"min": 1, "max": 4}}, {}, step="s") == ["row_count"]
    with pytest.raises(CheckFailed, match="fewer than the minimum 5"):
        run_checks(frame, {"row_count": {"min": 5}}, {}, step="s")
    with pytest.raises(CheckFailed, match="more than the maximum 2"):
        run_checks(frame, {"row_count": {"max": 2}}, {}, step="s")


def test_unknown_check_column(frame):
    with pytest.raises(StepError, match="unknown column"):
        run_checks(frame, {"not_null": ["nope"]}, {}, step="s")


def test_expect(frame, expr_backend, duck):
    f = frame  # noqa: F841
    bad = duck.sql("select count(*) from f where not coalesce(v >= 0, false)").fetchall()[0][0]
    with pytest.raises(CheckFailed) as info:
        run_checks(frame, {"expect": ["v >= 0"]}, {}, step="s")
    assert info.value.failing == bad == 2   # null and -1 both fail
    assert run_checks(frame, {"expect": ["id >= $low"]}, {"low": 1}, step="s") == ["expect"]


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "etlc_user_mod.py").write_text(textwrap.dedent("""
        import pandas as pd

        def scale(df, factor=1, label=None):
            out = df.copy()
            out["v"] = out["v"] * factor
            out["label"] = label
            return out

        def stack(frames):
            return pd.concat(frames, ignore_index=True)

        def bad(df):
            return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "etlc_user_mod"


def test_call(frame, user_module):
    out = run_call({"call": f"{user_module}:scale", "args": {"factor": 2, "label": "{{ ds }}"},
                    "per_partition": True}, [frame], M)
    assert out["v"].tolist()[0] == 2.0 and set(out["label"]) == {"2025-01-02"}
    out = run_call({"call": f"{user_module}:stack"}, [frame, frame], M)
    assert len(out) == 8
    with pytest.raises(StepError, match="not a pandas DataFrame"):
        run_call({"call": f"{user_module}:bad"}, [frame], M)
    with pytest.raises(StepError, match="no attribute"):
        load_object(f"{user_module}:nope")
    with pytest.raises(StepError, match="cannot import"):
        load_object("etlc_no_such_module:f")
    with pytest.raises(StepError, match="package.module:name"):
        load_object("no_colon")


def bash_operator_path():
    try:
        import airflow.providers.standard.operators.bash  # noqa: F401
        return "airflow.providers.standard.operators.bash:BashOperator"
    except ImportError:
        import airflow.operators.bash  # noqa: F401 - Airflow 2; a missing operator fails
        return "airflow.operators.bash:BashOperator"


def test_operator_bash(tmp_path):
    target = tmp_path / "touched.txt"
    step = {"name": "touch", "operator": bash_operator_path(),
            "args": {"bash_command": f"echo {{{{ ds }}}} > {target} && echo done"}}
    result = run_operator(step, {"run_id": "manual__1"}, M)
    assert target.read_text().strip() == "2025-01-02"
    assert result == "done"


def test_operator_failure_raises(tmp_path):
    step = {"name": "boom", "operator": bash_operator_path(), "args": {"bash_command": "exit 3"}}
    with pytest.raises(Exception, match="(?i)bash command failed|exit code|non-zero"):
        run_operator(step, {"run_id": "manual__1"}, M)
    with pytest.raises(StepError, match="cannot build operator"):
        run_operator({"name": "x", "operator": bash_operator_path(), "args": {"nope": 1}},
                     {}, M)
