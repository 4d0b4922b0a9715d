"""Input limits: each bound has its own code, and its message names the bound and the count.

Files that are not regular files (devices, FIFOs) and files over the size bound are refused
before they are read, so `etlc validate /dev/zero` ends at once instead of filling memory.
"""

from __future__ import annotations

import os
import re

import pytest
from etlc_compiler import api, loader
from etlc_compiler.loader import MAX_ALIAS_NODES, MAX_BYTES, MAX_NODES, MAX_STEPS

from .conftest import run_cli


def many_steps(n: int) -> str:
    lines = ["etlc: 1", "pipeline: big", "datasets:",
             "  src: {format: csv, path: in/x.csv, columns: {a: {type: int}}}", "steps:", "  s0: {read: src}"]
    lines += [f"  s{i}: {{from: s{i - 1}, limit: 1}}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def clean_exit(r, code: int) -> None:
    assert r.returncode == code, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_dev_zero_is_refused_without_reading(command):
    r = run_cli(command, "/dev/zero", "--color", "never")
    clean_exit(r, 1)
    assert "/dev/zero:1:1: error[E111]" in r.stdout + r.stderr
    assert "character device" in r.stdout + r.stderr


@pytest.mark.timeout(120)
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    r = run_cli("validate", str(fifo), "--color", "never")
    clean_exit(r, 1)
    assert f"{fifo}:1:1: error[E111]" in r.stdout
    assert "FIFO" in r.stdout
    raw, diags = loader.read_spec(fifo)
    assert raw is None and [d.code for d in diags] == ["E111"]


def test_folder_given_as_a_spec_file(tmp_path):
    raw, diags = loader.read_spec(tmp_path)
    assert raw is None and [(d.code, d.line, d.col) for d in diags] == [("E111", 1, 1)]


def test_missing_file_is_e100(tmp_path):
    raw, diags = loader.read_spec(tmp_path / "nope.yaml")
    assert raw is None and [d.code for d in diags] == ["E100"]


@pytest.mark.timeout(120)
def test_huge_file_is_refused_by_its_size(tmp_path):
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as fh:  # sparse: 64 GiB that take no disk
        fh.truncate(64 * 1024 ** 3)
    raw, diags = loader.read_spec(huge)
    assert raw is None and [(d.code, d.line, d.col) for d in diags] == [("E106", 1, 1)]
    assert str(64 * 1024 ** 3) in diags[0].message and str(MAX_BYTES) in diags[0].message
    r = run_cli("validate", str(huge))
    clean_exit(r, 1)
    assert "error[E106]" in r.stdout


def test_size_bound_is_exact(tmp_path):
    body = b"etlc: 1\npipeline: p\ndescription: "
    at_bound = tmp_path / "at.yaml"
    at_bound.write_bytes(body + b"x" * (MAX_BYTES - len(body)))
    raw, diags = loader.read_spec(at_bound)
    assert diags == [] and raw is not None and len(raw) == MAX_BYTES
    over = tmp_path / "over.yaml"
    over.write_bytes(body + b"x" * (MAX_BYTES + 1 - len(body)))
    raw, diags = loader.read_spec(over)
    assert raw is None and [d.code for d in diags] == ["E106"]
    assert f"{MAX_BYTES + 1} bytes" in diags[0].message


@pytest.mark.timeout(300)
def test_ten_thousand_steps_without_aliases_validate():
    text = many_steps(MAX_STEPS)
    assert MAX_STEPS >= 10_000 and "&" not in text and "*" not in text
    checked = api.check_text(text, "big.yaml")
    assert checked.diagnostics == () and checked.ok
    assert len(checked.spec.steps) == MAX_STEPS


def test_one_step_too_many_says_the_bound():
    text = many_steps(MAX_STEPS + 1)
    loaded, diags = loader.load(text, "big.yaml")
    assert loaded is None
    assert [(d.code, d.line, d.col) for d in diags] == [("E113", 5, 1)]
    assert str(MAX_STEPS) in diags[0].message and str(MAX_STEPS + 1) in diags[0].message


def test_node_bound_has_its_own_code():
    count = MAX_NODES + 10
    text = "etlc: 1\npipeline: p\ntags: [" + ",".join(["a"] * count) + "]\n"
    assert len(text.encode()) <= MAX_BYTES
    loaded, diags = loader.load(text, "nodes.yaml")
    assert loaded is None and [(d.code, d.line) for d in diags] == [("E112", 3)]
    # the document's nodes: the top mapping, 3 keys, 2 scalars, the list and its items
    assert str(MAX_NODES) in diags[0].message and str(count + 7) in diags[0].message


def test_alias_bound_counts_only_alias_expansions():
    anchor = "base: &b {" + ", ".join(f"k{i}: v" for i in range(100)) + "}"
    uses = [f"u{i}: *b" for i in range(MAX_ALIAS_NODES // 101 - 1)]
    loaded, diags = loader.load("\n".join([anchor, *uses]) + "\n", "aliases.yaml")
    assert diags == [] and loaded is not None  # just under the bound: 101 nodes per use
    more = uses + [f"v{i}: *b" for i in range(2)]
    loaded, diags = loader.load("\n".join([anchor, *more]) + "\n", "aliases.yaml")
    assert loaded is None and [d.code for d in diags] == ["E104"]
    assert re.search(rf"\b{MAX_ALIAS_NODES}\b", diags[0].message)


def test_merge_keys_in_many_steps_are_not_a_bomb():
    lines = ["etlc: 1", "pipeline: merged", "datasets:",
             "  src: {format: csv, path: in/x.csv, columns: {a: {type: int}}}",
             "defaults_for_steps: &lim {limit: 1}", "steps:", "  s0: {read: src}"]
    lines += [f"  s{i}: {{<<: *lim, from: s{i - 1}}}" for i in range(1, 2000)]
    loaded, diags = loader.load("\n".join(lines) + "\n", "merged.yaml")
    assert diags == [] and loaded.data["steps"]["s1999"] == {"limit": 1, "from": "s1998"}
