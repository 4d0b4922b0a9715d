"""`etlc validate` and `etlc schema` through the real command line."""

from __future__ import annotations

import json

from .conftest import VALID, run_cli


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_spec_exits_0(tmp_path):
    p = write(tmp_path, "ok.yaml", VALID)
    r = run_cli("validate", str(p))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


def test_text_diagnostic_shows_line_caret_and_help(tmp_path):
    p = write(tmp_path, "bad.yaml", VALID.replace("    read: orders", "    read: order"))
    r = run_cli("validate", "--color", "never", str(p))
    assert r.returncode == 1
    line = VALID.splitlines().index("    read: orders") + 1
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{p}:{line}:11: error[E302]:")
    assert r.stdout.splitlines()[1].strip().startswith(f"{line} |")
    assert r.stdout.splitlines()[2] == " " * (len(str(line)) + 2) + "|" + " " * 11 + "^" * 5  # cols 11-15
    assert "did you mean 'orders'?" in r.stdout


def test_json_format_has_fields(tmp_path):
    p = write(tmp_path, "bad.yaml", VALID.replace("  raw:\n", "  raw:\n    retries: many\n"))
    r = run_cli("validate", "--format", "json", str(p))
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert [(d["code"], d["line"], d["col"]) for d in data] == [("E203", 24, 14)]
    assert data[0]["path"] == str(p)


def test_github_format(tmp_path):
    p = write(tmp_path, "bad.yaml", VALID.replace("schedule:", "schedul:"))
    r = run_cli("validate", "--format", "github", str(p))
    assert r.returncode == 1
    assert r.stdout.startswith(f"::error file={p},line=5,col=1")
    assert "title=E201" in r.stdout


def test_one_broken_file_never_hides_another(tmp_path):
    write(tmp_path, "a.yaml", "a: [1\n")
    write(tmp_path, "b.yaml", VALID.replace("pipeline: orders_daily", "pipeline: Orders"))
    write(tmp_path, "c.yaml", VALID.replace("orders_daily", "c_daily"))
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", "d.yml", VALID.replace("orders_daily", "d_daily").replace("sum(total)", "sum(totl)"))
    r = run_cli("validate", "--format", "json", str(tmp_path))
    assert r.returncode == 1
    codes = sorted((d["path"].split("/")[-1], d["code"]) for d in json.loads(r.stdout))
    assert codes == [("a.yaml", "E101"), ("b.yaml", "E205"), ("d.yml", "E402")]


def test_warnings_alone_exit_0_unless_strict(tmp_path):
    text = VALID.replace("    columns:\n      order_id: {type: int}\n      customer: {type: string}\n"
                         "      total: {type: decimal, scale: 2}\n      ordered_at: {type: timestamp}\n", "")
    assert text != VALID
    p = write(tmp_path, "w.yaml", text)
    r = run_cli("validate", "--format", "json", str(p))
    assert [d["code"] for d in json.loads(r.stdout)] == ["W401"]
    assert r.returncode == 0
    assert run_cli("validate", "--strict", str(p)).returncode == 1


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("validate").returncode == 2
    assert run_cli("frobnicate").returncode == 2
    assert run_cli().returncode == 2
    assert run_cli("validate", str(tmp_path)).returncode == 2  # a folder with no spec


def test_missing_path_is_a_diagnostic(tmp_path):
    r = run_cli("validate", "--format", "json", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1
    assert json.loads(r.stdout)[0]["code"] == "E100"


def test_schema_command_prints_the_schema():
    r = run_cli("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert "steps" in schema["properties"]


def test_every_example_spec_validates():
    r = run_cli("validate", "--format", "json", "specs/")
    assert r.returncode == 0, r.stdout
    assert [d for d in json.loads(r.stdout) if d["severity"] == "error"] == []


def test_internal_errors_are_reported_without_traceback(monkeypatch, capsys, tmp_path):
    from etlc_compiler import api, cli

    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.delenv("ETLC_DEBUG", raising=False)
    monkeypatch.setattr(api, "check_paths", boom)
    p = write(tmp_path, "ok.yaml", VALID)
    assert cli.main(["validate", str(p)]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaput" in err and "Traceback" not in err
