"""The native stack's Airflow environment (scripts/native_stack/environment.py), without
starting anything: an ``AIRFLOW__...`` tuning variable set in the environment wins over the
stack's default; the wiring (ports, addresses) follows the stack's settings whatever is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TUNING = {
    "AIRFLOW__CORE__PARALLELISM": ("4", "7"),
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": ("10", "3"),
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": ("30", "5"),
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": ("1", "2"),
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": ("60", "120"),
}
VISIBILITY = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"


@pytest.fixture
def stack(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from native_stack import environment, settings

    for key in [*TUNING, VISIBILITY, "AIRFLOW__API__PORT"]:
        monkeypatch.delenv(key, raising=False)

    def env(executor: str = "LocalExecutor") -> dict[str, str]:
        s = settings.Settings(state_dir=str(tmp_path / "state"), dags_folder=str(tmp_path),
                              executor=executor, api_port=18080)
        return environment.airflow_env(s)

    return env


@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_stack_defaults_apply_when_the_environment_sets_none(stack, executor):
    env = stack(executor)
    for key, (default, _) in TUNING.items():
        assert env[key] == default, key
    assert env.get(VISIBILITY) == ("21600" if executor == "CeleryExecutor" else None)


@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_an_airflow_variable_in_the_environment_wins(stack, monkeypatch, executor):
    for key, (_, mine) in TUNING.items():
        monkeypatch.setenv(key, mine)
    monkeypatch.setenv(VISIBILITY, "99")
    env = stack(executor)
    for key, (_, mine) in TUNING.items():
        assert env[key] == mine, key
    assert env[VISIBILITY] == "99"


def test_one_variable_wins_alone(stack, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "16")
    env = stack()
    assert env["AIRFLOW__CORE__PARALLELISM"] == "16"
    assert env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] == "10"


def test_the_wiring_follows_the_stack_settings(stack, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__PORT", "1")
    env = stack()
    assert env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
