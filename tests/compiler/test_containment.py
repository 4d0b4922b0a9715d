"""E315 at compile time: local paths the compiler can see stay inside the project root or a
declared root, and a write never names the root, a folder holding it, a home folder or `/`.

Each spec lives in a temporary project (tmp_path/proj with a pyproject.toml); positions are
checked, not wording.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from etlc_compiler import api

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: contained
    params:
      region: {{type: string, default: north, enum: [north, south]}}
      target: {{type: string}}
    datasets:
      src:
        format: csv
        path: {read}
        columns: {{region: {{type: string}}, amount: {{type: float}}}}
      dst:
        format: csv
        path: {write}
    {staging}steps:
      raw:
        read: src
      save:
        from: raw
        write: dst
        mode: overwrite
    """)
READ_LINE, WRITE_LINE, STAGING_LINE = 9, 13, 14


@pytest.fixture
def proj(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "outside").mkdir()
    for name in ("ETLC_PROJECT_ROOT", "ETLC_WRITABLE_ROOTS", "ETLC_READABLE_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return root


def check(proj: Path, read="data/in.csv", write="out/x/", staging="", params=None):
    text = SPEC.format(read=read, write=write, staging=staging)
    if params:
        text = text.replace("  target: {type: string}\n", params)
    spec = proj / "specs" / "s.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text)
    return [d for d in api.check_file(spec).diagnostics if d.code == "E315"]


def at(diags, line, col=11):
    assert [(d.code, d.line, d.col) for d in diags] == [("E315", line, col)], diags


UNSAFE = ['"./"', '"."', '".."', '"../"', '"../x/"', '"../outside/"', "data/../../x/",
          '"{outside}/x/"', '"/"', '"~"', '"~/"', '"~/out/"', '"file:/"', '"file:///etc"',
          '"file:./"', '"file:../x/"', '"file://{outside}/x/"', '"../{{{{ ds }}}}/"',
          '"out/../../{{{{ ds_nodash }}}}/"', '"{{{{ params.target }}}}/../../x/"']


@pytest.mark.parametrize("path", UNSAFE)
def test_unsafe_write_paths_are_e315_at_the_path(proj, path):
    at(check(proj, write=path.format(outside=proj.parent / "outside")), WRITE_LINE)


@pytest.mark.parametrize("path", ['"../outside/in.csv"', '"/etc/passwd"', '"~/in.csv"',
                                  '"file:///etc/passwd"', '"./"', '"../outside/*.csv"'])
def test_unsafe_read_paths_are_e315_at_the_path(proj, path):
    at(check(proj, read=path), READ_LINE)


@pytest.mark.parametrize("path", ["out/x/", "out/x.csv", '"out/{{ ds }}/"', '"file:out/x/"',
                                  '"data/{{ params.region }}/"', '"data/{{ params.target }}/"'])
def test_safe_paths_pass(proj, path):
    assert check(proj, write=path) == []


def test_every_enum_value_is_checked(proj):
    params = '  target: {type: string, default: a, enum: [a, b, "../../other"]}\n'
    diags = check(proj, write='"data/{{ params.target }}/"', params=params)
    at(diags, WRITE_LINE)
    assert "../../other" in diags[0].message


def test_a_default_without_enum_is_checked(proj):
    params = '  target: {type: string, default: "../../other"}\n'
    at(check(proj, write='"data/{{ params.target }}/"', params=params), WRITE_LINE)


def test_staging_path(proj):
    at(check(proj, staging='staging: {path: "../stage"}\n'), STAGING_LINE, 17)
    assert check(proj, staging='staging: {path: ".etlc/staging"}\n') == []
    assert check(proj, staging='staging: {path: "s3://bucket/stage"}\n') == []


def test_remote_paths_are_not_judged(proj):
    assert check(proj, write='"s3://bucket/../x/"') == []


def test_symlink_inside_the_root_pointing_outside(proj):
    (proj / "link").symlink_to(proj.parent / "outside", target_is_directory=True)
    at(check(proj, write="link/x/"), WRITE_LINE)
    at(check(proj, read="link/in.csv"), READ_LINE)


def test_declared_roots_from_pyproject_and_environment(proj, monkeypatch):
    lake, raw = proj.parent / "lake", proj.parent / "raw"
    with open(proj / "pyproject.toml", "a") as fh:
        fh.write(f'\n[tool.etlc]\nwritable_roots = ["../lake"]\nreadable_roots = ["{raw}"]\n')
    assert check(proj, write=f"{lake}/sales/", read=f"{raw}/*.csv") == []
    at(check(proj, write=f"{lake}/"), WRITE_LINE)          # the root itself
    at(check(proj, write=f"{raw}/x/"), WRITE_LINE)         # readable is not writable
    env_lake = proj.parent / "env_lake"
    at(check(proj, write=f"{env_lake}/x/"), WRITE_LINE)
    monkeypatch.setenv("ETLC_WRITABLE_ROOTS", os.pathsep.join(["/nowhere", str(env_lake)]))
    assert check(proj, write=f"{env_lake}/x/") == []


def test_a_root_too_wide_is_not_a_root(proj):
    with open(proj / "pyproject.toml", "a") as fh:
        fh.write('\n[tool.etlc]\nwritable_roots = ["/"]\n')
    at(check(proj, write='"/tmp/etlc-anywhere/"'), WRITE_LINE)


def test_example_specs_have_no_e315():
    root = Path(__file__).resolve().parents[2]
    diags = api.validate_paths([root / "specs"])
    assert not [d for d in diags if d.code == "E315"]
