"""Every CLI argument error is a usage error: exit 2, one line on stderr, no traceback and no
"internal error". And `etlc run` without `--date` runs with today's date (UTC) at midnight, so
a rerun on the same day replaces that day's appended rows instead of adding them again.
"""

from __future__ import annotations

import csv
import datetime as dt
import textwrap

import pytest
from etlc_compiler import cli, run

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: appender
    params:
      region: {type: string, default: north}
    datasets:
      src:
        format: csv
        path: in/items.csv
        columns: {item: {type: string}, qty: {type: int}}
      out:
        format: csv
        path: out/items/
    steps:
      raw:
        read: src
      save:
        from: raw
        write: out
        mode: append
    """)
ROWS = [("a", 1), ("b", 2), ("c", 3)]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in").mkdir()
    with open(tmp_path / "in" / "items.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "qty"])
        w.writerows(ROWS)
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("etlc")


BAD_ARGUMENTS = {
    "date_month_13": ["run", "{spec}", "--date", "2025-13-01"],
    "date_word": ["run", "{spec}", "--date", "yesterday"],
    "date_february_30": ["run", "{spec}", "--date", "2025-02-30"],
    "date_without_dashes": ["run", "{spec}", "--date", "20250101"],
    "date_with_time": ["run", "{spec}", "--date", "2025-01-02T06:00"],
    "param_without_equals": ["run", "{spec}", "--param", "x"],
    "param_without_name": ["run", "{spec}", "--param", "=1"],
    "run_unknown_option": ["run", "{spec}", "--nope"],
    "run_without_spec": ["run"],
    "validate_unknown_option": ["validate", "{spec}", "--nope"],
    "validate_without_paths": ["validate"],
    "compile_unknown_option": ["compile", "--bogus"],
    "unknown_command": ["bogus"],
    "bad_format": ["validate", "{spec}", "--format", "xml"],
}


@pytest.mark.parametrize("argv", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_argument_errors_are_one_line_usage_errors(argv, project, capsys):
    code, _, err = call([a.format(spec=project / "spec.yaml") for a in argv], capsys)
    assert_usage(code, err)


def test_no_command_prints_help_and_exits_2(capsys):
    code, _, err = call([], capsys)
    assert code == 2 and "usage:" in err


@pytest.mark.parametrize("argv", [["run", "{spec}", "--date", "2025-13-01"], ["run", "{spec}", "--param", "x"],
                                  ["run", "{spec}", "--date", "yesterday"]])
def test_usage_errors_from_a_subprocess(argv, project):
    r = run_cli(*[a.format(spec=project / "spec.yaml") for a in argv], cwd=project)
    assert_usage(r.returncode, r.stderr)
    assert not (project / "out").exists()


def test_param_value_errors_stay_usage_errors(project):
    r = run_cli("run", str(project / "spec.yaml"), "--param", "nope=1", cwd=project)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_missing_spec_for_run_is_e100(project):
    r = run_cli("run", str(project / "missing.yaml"), "--color", "never", cwd=project)
    assert r.returncode == 1
    assert "missing.yaml:1:1: error[E100]" in r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_logical_date_is_midnight_utc():
    today = run.logical_date()
    assert today.tzinfo is not None and today.utcoffset() == dt.timedelta(0)
    assert today.time() == dt.time(0)
    assert today.date() in {dt.datetime.now(dt.UTC).date(), (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).date()}
    assert run.logical_date(dt.date(2025, 1, 2)) == dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    assert run.parse_date("2024-02-29") == dt.date(2024, 2, 29)
    with pytest.raises(run.UsageError):
        run.parse_date("2025-02-29")


def appended_rows(project) -> list[tuple[str, int]]:
    rows = []
    for f in sorted((project / "out" / "items").rglob("*.csv")):
        if any(part.startswith(".") for part in f.relative_to(project).parts):
            continue
        with open(f) as fh:
            rows += [(r["item"], int(r["qty"])) for r in csv.DictReader(fh)]
    return sorted(rows)


def test_rerun_on_the_same_day_appends_the_rows_once(project):
    before = dt.datetime.now(dt.UTC).date()
    for _ in range(2):
        r = run_cli("run", str(project / "spec.yaml"), "--color", "never", cwd=project)
        assert r.returncode == 0, r.stderr
    if dt.datetime.now(dt.UTC).date() != before:
        pytest.skip("the UTC date changed between the two runs")
    assert appended_rows(project) == sorted(ROWS)
    names = [f.name for f in (project / "out" / "items").rglob("*.csv")]
    assert names and all(before.isoformat() in n for n in names), names
    r = run_cli("run", str(project / "spec.yaml"), "--date", "2025-01-02", cwd=project)
    assert r.returncode == 0, r.stderr
    assert appended_rows(project) == sorted(ROWS + ROWS)


def test_unwritable_output_folder_is_one_line_not_internal_error(project):
    (project / "taken").write_text("a file, not a folder")
    r = run_cli("compile", str(project / "spec.yaml"), "-o", str(project / "taken" / "dags"), cwd=project)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("etlc compile: cannot use"), r.stderr
