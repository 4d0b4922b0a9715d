"""The loader's guarantees, field by field: every diagnostic's code, path, start, end, severity
and whether it has a help line; every branch of the limits (bytes, nodes, alias expansion,
steps), of reading a file (non-files, a file replaced between stat and open, a file that holds
more than its size says), of YAML errors and tabs, of scalar typing (YAML 1.2 core, tags,
quoting styles, merge keys, aliases) and of LoadedSpec's positions (keys, values, inherited
values, characters inside strings). Messages are checked only for the numbers and names they
must carry, never for their wording.
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
import stat
from dataclasses import replace

import pytest
import yaml
from etlc_compiler import loader
from etlc_compiler.loader import MAX_BYTES, LoadedSpec, NodePos, load, read_spec


def fields(d):
    """Everything a diagnostic says except its wording; the wording must exist."""
    assert isinstance(d.message, str) and d.message and "None" not in d.message
    assert d.help is None or (isinstance(d.help, str) and d.help)
    return (d.path, d.line, d.col, d.code, d.severity, d.end_line, d.end_col, d.help is not None)


def load_error(raw, path="s.yaml"):
    spec, diags = load(raw, path)
    assert spec is None
    return [fields(d) for d in diags]


def numbers(message):
    return [int(n) for n in re.findall(r"[0-9]+", message)]


def loaded(text):
    spec, diags = load(text, "s.yaml")
    assert diags == [], diags
    return spec


# ---------------------------------------------------------------- read_spec

def test_read_spec_returns_every_byte(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"a: 1\r\nb: \xc3\xa9\n")
    assert read_spec(path) == (b"a: 1\r\nb: \xc3\xa9\n", [])
    assert read_spec(str(path)) == (b"a: 1\r\nb: \xc3\xa9\n", [])
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    assert read_spec(empty) == (b"", [])


def test_read_spec_size_bound_is_inclusive(tmp_path):
    at = tmp_path / "at.yaml"
    at.write_bytes(b"x" * MAX_BYTES)
    raw, diags = read_spec(at)
    assert diags == [] and raw == b"x" * MAX_BYTES
    over = tmp_path / "over.yaml"
    over.write_bytes(b"x" * (MAX_BYTES + 1))
    raw, diags = read_spec(over)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(over), 1, 1, "E106", "error", None, None, True)]
    assert numbers(diags[0].message).count(MAX_BYTES + 1) == 1 and MAX_BYTES in numbers(diags[0].message)


def test_read_spec_missing_file_is_e100(tmp_path):
    path = tmp_path / "nope.yaml"
    raw, diags = read_spec(path)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(path), 1, 1, "E100", "error", None, None, False)]
    assert os.strerror(errno.ENOENT) in diags[0].message


def test_read_spec_folder_is_e111(tmp_path):
    raw, diags = read_spec(tmp_path)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(tmp_path), 1, 1, "E111", "error", None, None, False)]
    assert str(tmp_path) in diags[0].message


def test_read_spec_socket_is_e111_not_e100(tmp_path, monkeypatch):
    """Opening a socket fails (ENXIO): the kind check before the open names it."""
    monkeypatch.chdir(tmp_path)  # a socket's path has at most 107 bytes
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("s.yaml")
        raw, diags = read_spec("s.yaml")
    assert raw is None
    assert [fields(d) for d in diags] == [("s.yaml", 1, 1, "E111", "error", None, None, False)]


def _regular_stat(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_bytes(b"a: 1\n")
    return os.stat(plain)


@pytest.mark.timeout(30)  # opening a FIFO without O_NONBLOCK would wait for a writer forever
def test_fifo_put_in_place_between_stat_and_open(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    regular, real_stat = _regular_stat(tmp_path), os.stat
    monkeypatch.setattr(loader.os, "stat", lambda p, *a, **k: regular if str(p) == str(fifo) else real_stat(p, *a, **k))
    raw, diags = read_spec(fifo)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(fifo), 1, 1, "E111", "error", None, None, False)]
    assert str(fifo) in diags[0].message


def test_read_error_after_open_is_e100(tmp_path, monkeypatch):
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    regular, real_stat, real_fstat = _regular_stat(tmp_path), os.stat, os.fstat
    monkeypatch.setattr(loader.os, "stat", lambda p, *a, **k: regular if str(p) == str(folder) else real_stat(p, *a, **k))
    monkeypatch.setattr(loader.os, "fstat", lambda fd: regular)  # a folder that says it is a file
    raw, diags = read_spec(folder)
    monkeypatch.setattr(loader.os, "fstat", real_fstat)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(folder), 1, 1, "E100", "error", None, None, False)]
    assert os.strerror(errno.EISDIR) in diags[0].message


def test_file_longer_than_its_size_says_is_read_to_the_bound_only(tmp_path, monkeypatch):
    """A file that grows after fstat (or a /proc file, size 0): the read stops one byte past the bound."""
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * (MAX_BYTES + 100))
    small_stat, real_fstat = _regular_stat(tmp_path), os.fstat
    monkeypatch.setattr(loader.os, "fstat", lambda fd: small_stat)
    raw, diags = read_spec(big)
    monkeypatch.setattr(loader.os, "fstat", real_fstat)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(big), 1, 1, "E106", "error", None, None, True)]
    assert numbers(diags[0].message) == [MAX_BYTES, MAX_BYTES, 1]  # "more than N bytes; at most N bytes (1 MiB)"


def test_short_reads_are_counted(tmp_path, monkeypatch):
    """A pipe or a /proc file hands its bytes over a page at a time: the bound holds across reads."""
    at, over = tmp_path / "at.yaml", tmp_path / "over.yaml"
    at.write_bytes(b"ab" * (MAX_BYTES // 2))
    over.write_bytes(b"x" * (MAX_BYTES + 5))
    small_stat, real_fstat, real_read = _regular_stat(tmp_path), os.fstat, os.read
    monkeypatch.setattr(loader.os, "read", lambda fd, n: real_read(fd, min(n, 4096)))
    raw, diags = read_spec(at)
    assert diags == [] and raw == b"ab" * (MAX_BYTES // 2)
    monkeypatch.setattr(loader.os, "fstat", lambda fd: small_stat)
    raw, diags = read_spec(over)
    monkeypatch.setattr(loader.os, "fstat", real_fstat)
    assert raw is None
    assert [fields(d) for d in diags] == [(str(over), 1, 1, "E106", "error", None, None, True)]


def test_kinds_of_non_files_are_named_apart():
    modes = [stat.S_IFDIR, stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK, stat.S_IFLNK]
    diags = [loader._not_regular("some/where.yaml", mode | 0o644) for mode in modes]
    assert [fields(d) for d in diags] == [("some/where.yaml", 1, 1, "E111", "error", None, None, False)] * 6
    assert all("some/where.yaml" in d.message for d in diags)
    assert len({d.message for d in diags}) == 6
    assert loader._not_regular("f.yaml", stat.S_IFREG | 0o644) is None


def test_too_big_names_the_size_or_the_bound():
    known = loader._too_big("f.yaml", 123456789)
    assert fields(known) == ("f.yaml", 1, 1, "E106", "error", None, None, True)
    assert numbers(known.message)[:2] == [123456789, MAX_BYTES]
    unknown = loader._too_big("f.yaml", None)
    assert fields(unknown) == ("f.yaml", 1, 1, "E106", "error", None, None, True)
    assert numbers(unknown.message)[:2] == [MAX_BYTES, MAX_BYTES]


def test_line_col():
    text = "ab\ncd\n\nef"
    assert [loader._line_col(text, i) for i in range(len(text) + 1)] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (4, 1), (4, 2), (4, 3)]
    assert [loader._line_col("\nab", i) for i in range(4)] == [(1, 1), (2, 1), (2, 2), (2, 3)]


# ---------------------------------------------------------------- bytes and text

def test_bytes_bound_is_inclusive():
    at = b"a: " + b"x" * (MAX_BYTES - 3)
    spec, diags = load(at, "s.yaml")
    assert diags == [] and len(spec.data["a"]) == MAX_BYTES - 3
    over = at + b"x"
    assert load_error(over) == [("s.yaml", 1, 1, "E106", "error", None, None, True)]
    assert numbers(load(over, "s.yaml")[1][0].message)[0] == MAX_BYTES + 1


def test_text_bound_counts_utf8_bytes():
    at = "a: " + "é" * ((MAX_BYTES - 3) // 2) + "x" * ((MAX_BYTES - 3) % 2)
    assert len(at.encode()) == MAX_BYTES
    spec, diags = load(at, "t.yaml")
    assert diags == [] and spec.text == at
    over = at + "x"
    assert load_error(over, "t.yaml") == [("t.yaml", 1, 1, "E106", "error", None, None, True)]
    assert numbers(load(over, "t.yaml")[1][0].message)[0] == MAX_BYTES + 1


def test_bom_is_dropped_before_positions():
    spec, diags = load(b"\xef\xbb\xbfa: 1\nb: xy\n", "s.yaml")
    assert diags == [] and spec.data == {"a": 1, "b": "xy"} and spec.text == "a: 1\nb: xy\n"
    assert spec.value_pos(("a",)) == (1, 4) and spec.key_pos(("b",)) == (2, 1)
    assert load_error(b"\xef\xbb\xbfa: \xff\n") == [("s.yaml", 1, 4, "E105", "error", None, None, True)]


@pytest.mark.parametrize("raw, line, col, byte", [
    (b"\xff", 1, 1, 0xff),
    (b"ab: \xfe", 1, 5, 0xfe),
    (b"a: 1\nb: 2\nc: x\x80y\n", 3, 5, 0x80),
    (b"a: 1\n\n\n  b\xc3", 4, 4, 0xc3),
])
def test_not_utf8_points_at_the_byte(raw, line, col, byte):
    assert load_error(raw) == [("s.yaml", line, col, "E105", "error", None, None, True)]
    assert f"{byte:02x}" in load(raw, "s.yaml")[1][0].message.lower()


def test_crlf_positions():
    spec = loaded("a: 1\r\nbb: xyz\r\nc:\r\n  - q\r\n")
    assert spec.data == {"a": 1, "bb": "xyz", "c": ["q"]}
    assert spec.values[("bb",)] == NodePos(2, 5, 2, 8, 10, 13, "")
    assert spec.value_pos(("c", 0)) == (4, 5)


def test_default_path():
    spec, diags = load("a: 1\n")
    assert spec.path == "<string>" and diags == []
    assert [d.path for d in load("a: [\n")[1]] == ["<string>"]


# ---------------------------------------------------------------- YAML errors

def _libyaml_error(text):
    with pytest.raises(yaml.MarkedYAMLError) as info:
        list(yaml.compose_all(text, Loader=loader._Loader))
    return info.value


@pytest.mark.parametrize("text, line, col, hint", [
    ("a: [1, 2\n", 2, 1, False),                 # problem and context marks differ: the problem's
    ("a: b: c\n", 1, 5, True),                   # mapping values are not allowed
    ("a: 1\nb\nc: 2\n", 3, 1, True),             # could not find expected ':'
    ("a:\n  b: 1\n c: 2\n", 3, 2, False),        # did not find expected key
    ("a: *nope\n", 1, 4, False),                 # no context
    ("a: \"\\q\"\n", 1, 5, False),
    ("a: b: c\nd:\n\t- x\n", 1, 5, True),        # a tab below the error: the error wins
])
def test_yaml_errors(text, line, col, hint):
    assert load_error(text) == [("s.yaml", line, col, "E101", "error", None, None, hint)]
    exc = _libyaml_error(text)
    message = load(text, "s.yaml")[1][0].message
    assert exc.problem in message and (exc.context is None or exc.context in message)
    assert message.startswith(exc.problem)


def test_yaml_error_falls_back_to_the_context_mark():
    exc = _libyaml_error("a: [1, 2\n")
    assert (exc.problem_mark.line, exc.context_mark.line) == (1, 0)
    exc.problem_mark = None
    assert fields(loader._yaml_error("x.yaml", "a: [1, 2\n", exc)) == ("x.yaml", 1, 4, "E101", "error", None, None, False)
    exc.context_mark = None
    exc.problem = None
    exc.context = None
    d = loader._yaml_error("x.yaml", "a: [1, 2\n", exc)
    assert fields(d) == ("x.yaml", 1, 1, "E101", "error", None, None, False)


def test_pure_python_loader_gets_the_same_hints(monkeypatch):
    monkeypatch.setattr(loader, "_Loader", yaml.SafeLoader)
    assert load_error("a:\n  b: 1\n  - c\n") == [("s.yaml", 3, 3, "E101", "error", None, None, True)]
    assert load_error("a: 1\nb\nc: 2\n") == [("s.yaml", 3, 1, "E101", "error", None, None, True)]
    assert load_error("a: *nope\n") == [("s.yaml", 1, 4, "E101", "error", None, None, False)]


@pytest.mark.parametrize("text, line, col", [
    ("a:\n\tb: 1\n", 2, 1),                      # libyaml fails on the tab's line: the tab is named
    ("a:\n  b:\n  \tc: 1\n", 3, 3),
    ("x: [1,\n\t2,\n\t3]\n", 2, 1),              # libyaml accepts tabs in flow context; the loader does not
    ("x: [1,\n  \t2]\n", 2, 3),
    ("x: {a: 1,\n \t b: 2}\n", 2, 2),
    ("x: [1,\n\t# c\n\n \t\n  \t2]\n", 5, 3),    # comment and blank lines are skipped
])
def test_tab_indentation(text, line, col):
    assert load_error(text) == [("s.yaml", line, col, "E103", "error", None, None, True)]


def test_tabs_inside_block_scalars_are_content():
    spec = loaded("a: |\n  y\n  \tx\nb: >\n  p\n  \tq\nc: [1,\n 2]\n")
    assert spec.data == {"a": "y\n\tx\n", "b": "p\n\tq\n", "c": [1, 2]}
    # libyaml refuses a tab on a block scalar's first line (where it finds the indentation)
    assert load_error("a: |\n  \tx\n") == [("s.yaml", 2, 3, "E103", "error", None, None, True)]
    assert loaded("a: |\n  line\n  \tindented\n").data == {"a": "line\n\tindented\n"}
    # with an indentation indicator the first line may start with a tab too
    assert loaded("a: |2\n  \tx\n").data == {"a": "\tx\n"}
    # a tab in a flow collection after a block scalar is still an error
    assert load_error("a: |\n  x\nb: [1,\n\t2]\n") == [("s.yaml", 4, 1, "E103", "error", None, None, True)]


# ---------------------------------------------------------------- documents

@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_no_document(text):
    assert load_error(text) == [("s.yaml", 1, 1, "E108", "error", None, None, True)]


@pytest.mark.parametrize("text, line", [
    ("a: 1\n---\nb: 2\n", 2),
    ("a: 1\n...\n---\nb: 2\n", 2),
    ("a: 1\n\n# c\n--- b\n", 4),
    ("---\n...\n---\na: 1\n", 2),
    ("a: 1\n---\nb: 2\n---\nc: 3\n", 2),
])
def test_second_document(text, line):
    assert load_error(text) == [("s.yaml", line, 1, "E107", "error", None, None, True)]


@pytest.mark.parametrize("text, line, col", [
    ("- a\n- b\n", 1, 1),
    ("# c\n\n  - a\n  - b\n", 3, 3),
    ("x\n", 1, 1),
    ("\n   'q'\n", 2, 4),
])
def test_top_level_not_a_mapping(text, line, col):
    assert load_error(text) == [("s.yaml", line, col, "E108", "error", None, None, False)]


def test_top_level_list_with_its_own_error_reports_only_that():
    assert load_error("- a\n- !foo b\n") == [("s.yaml", 2, 3, "E109", "error", 2, 9, True)]
    assert load_error("a: 1\na: 2\n") == [("s.yaml", 2, 1, "E102", "error", 2, 2, True)]


# ---------------------------------------------------------------- limits

def test_node_bound(monkeypatch):
    text = "a: [1, 2]\nb: c\n"  # 7 nodes: the mapping, a, the list, 1, 2, b, c
    for bound, where in ((5, (2, 1)), (4, (1, 8)), (6, (2, 4))):
        monkeypatch.setattr(loader, "MAX_NODES", bound)
        assert load_error(text) == [("s.yaml", *where, "E112", "error", None, None, True)]
        assert numbers(load(text, "s.yaml")[1][0].message) == [7, bound]
    monkeypatch.setattr(loader, "MAX_NODES", 7)
    assert loaded(text).data == {"a": [1, 2], "b": "c"}


def test_node_bound_counts_an_alias_once(monkeypatch):
    text = "a: &x [1, 2]\nb: *x\nc: d\n"  # the mapping, a, the list, 1, 2, b, c, d: 8
    monkeypatch.setattr(loader, "MAX_NODES", 8)
    assert loaded(text).data == {"a": [1, 2], "b": [1, 2], "c": "d"}
    monkeypatch.setattr(loader, "MAX_NODES", 7)
    assert load_error(text) == [("s.yaml", 3, 4, "E112", "error", None, None, True)]
    assert numbers(load(text, "s.yaml")[1][0].message) == [8, 7]
    nested = "a: &x {k: [1, {m: 2}]}\nb: *x\n"  # the mapping, a, {k..}, k, the list, 1, {m: 2}, m, 2, b: 10
    monkeypatch.setattr(loader, "MAX_NODES", 9)
    assert load_error(nested) == [("s.yaml", 2, 1, "E112", "error", None, None, True)]
    assert numbers(load(nested, "s.yaml")[1][0].message) == [10, 9]


def test_alias_expansion_bound(monkeypatch):
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 8)
    text = "a: &x [1, 2, 3]\nb: *x\nc: *x\n"  # each use builds the list and its 3 items again
    assert loaded(text).data == {"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3]}
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 7)
    assert load_error(text) == [("s.yaml", 1, 14, "E104", "error", 1, 15, True)]
    assert numbers(load(text, "s.yaml")[1][0].message) == [7]
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 2)
    nested = "a: &x {k: [1, 2]}\nb: *x\n"  # the use builds {k..}, the list, 1, 2 again
    assert load_error(nested) == [("s.yaml", 1, 12, "E104", "error", 1, 13, True)]


def test_recursive_alias():
    assert load_error("a: &x [*x]\n") == [("s.yaml", 1, 4, "E104", "error", 1, 11, False)]
    assert load_error("a: &x {b: *x}\n") == [("s.yaml", 1, 4, "E104", "error", 1, 14, False)]


def test_step_bound(monkeypatch):
    monkeypatch.setattr(loader, "MAX_STEPS", 3)
    text = "etlc: 1\nsteps:\n  a: 1\n  b: 2\n  c: 3\n"
    assert loaded(text).data["steps"] == {"a": 1, "b": 2, "c": 3}
    more = text + "  d: 4\n"
    assert load_error(more) == [("s.yaml", 2, 1, "E113", "error", None, None, True)]
    assert numbers(load(more, "s.yaml")[1][0].message) == [4, 3]
    # steps that came in through a merge key: the key where they are written
    assert load_error("<<: {steps: {a: 1, b: 2, c: 3, d: 4}}\n") == [("s.yaml", 1, 6, "E113", "error", None, None, True)]
    # another error first: no E113; a list of steps is the schema's business
    assert load_error(more + "etlc: 2\n") == [("s.yaml", 7, 1, "E102", "error", 7, 5, True)]
    assert loaded("steps: [1, 2, 3, 4, 5]\n").data == {"steps": [1, 2, 3, 4, 5]}
    assert loaded("steps: 12345\n").data == {"steps": 12345}


# ---------------------------------------------------------------- tags, keys, merges

@pytest.mark.parametrize("text, line, col, end_line, end_col, hint, tag", [
    ("a: !custom x\n", 1, 4, 1, 13, True, "!custom"),
    ("a: !!binary aGk=\n", 1, 4, 1, 17, True, "tag:yaml.org,2002:binary"),
    ("a: !!set {x}\n", 1, 4, 1, 13, False, "tag:yaml.org,2002:set"),
    ("a: !foo [1]\n", 1, 4, 1, 12, False, "!foo"),
    ("a: ['a', !foo [1,\n  2]]\n", 1, 10, None, None, False, "!foo"),
    ("a: !foo {b: 1,\n  c: 2}\n", 1, 4, None, None, False, "!foo"),
])
def test_unsupported_tags(text, line, col, end_line, end_col, hint, tag):
    assert load_error(text) == [("s.yaml", line, col, "E109", "error", end_line, end_col, hint)]
    assert f"'{tag}'" in load(text, "s.yaml")[1][0].message


def test_standard_collection_tags_are_plain_data():
    assert loaded("a: !!seq [1]\nb: !!map {c: 1}\n").data == {"a": [1], "b": {"c": 1}}


def test_key_that_is_not_a_string():
    assert load_error("? [a, b]\n: 1\nc: 2\n") == [("s.yaml", 1, 3, "E110", "error", 1, 9, False)]
    assert load_error("? [a]\n: 1\nb: 1\nb: 2\n") == [("s.yaml", 1, 3, "E110", "error", 1, 6, False),
                                                    ("s.yaml", 4, 1, "E102", "error", 4, 2, True)]
    assert load_error("{a: 1}: 2\n") == [("s.yaml", 1, 1, "E110", "error", 1, 7, False)]


def test_duplicate_keys_name_the_first_line():
    diags = load("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\na: 4\n", "s.yaml")[1]
    assert [fields(d) for d in diags] == [("s.yaml", 5, 3, "E102", "error", 5, 4, True),
                                          ("s.yaml", 6, 1, "E102", "error", 6, 2, True)]
    assert numbers(diags[0].help) == [3] and numbers(diags[1].help) == [1]
    assert "'c'" in diags[0].message and "'a'" in diags[1].message


def test_diagnostics_are_sorted_by_position():
    diags = load("b: !x 1\na: !y 2\na: 3\nc: !!set {}\n", "s.yaml")[1]
    assert [(d.line, d.code) for d in diags] == [(1, "E109"), (2, "E109"), (3, "E102"), (4, "E109")]


def test_merge_keys():
    spec = loaded("base: &b {retries: 1, pool: p}\nmore: &m {pool: q, x: 1}\n"
                  "step:\n  retries: 3\n  <<: [*b, *m]\n")
    assert spec.data["step"] == {"retries": 3, "pool": "p", "x": 1}
    assert list(spec.data["step"]) == ["retries", "pool", "x"]
    assert ("step", "pool") not in spec.keys and spec.keys[("step", "retries")].line == 4
    assert loaded("<<: {a: 1}\nb: 2\n").data == {"b": 2, "a": 1}


@pytest.mark.parametrize("text, line, col, end_col", [
    ("<<: 1\n", 1, 5, 6),
    ("a: &x {b: 1}\n<<: [*x, 2]\n", 2, 5, 12),
    ("<<: [1, 2]\n", 1, 5, 11),
])
def test_merge_key_needs_mappings(text, line, col, end_col):
    diags = load(text, "s.yaml")[1]
    assert {fields(d) for d in diags} == {("s.yaml", line, col, "E101", "error", line, end_col, False)}


# ---------------------------------------------------------------- scalars

def test_plain_scalars_follow_yaml_12_core():
    spec = loaded("a: yes\nb: No\nc: on\nd: 0o17\ne: 1e3\nf: 12e-1\ng: 0x1F\nh: 010\ni: 1_000\nj: 0b11\n"
                  "k: 1:30\nl: .5\nm: -.inf\nn: .NaN\no: Null\np: FALSE\nq: 2025-01-02\nr: +12\ns: abc\nt: ~\nu:\n")
    d = spec.data
    assert d == {**d, "a": "yes", "b": "No", "c": "on", "d": 15, "e": 1000.0, "f": 1.2, "g": 31, "h": 10,
                 "i": "1_000", "j": "0b11", "k": "1:30", "l": 0.5, "m": -math.inf, "o": None, "p": False,
                 "q": "2025-01-02", "r": 12, "s": "abc", "t": None, "u": None}
    assert math.isnan(d["n"])
    assert [type(d[k]) for k in "defgr"] == [int, float, float, int, int]


def test_explicit_tags_on_plain_scalars():
    d = loaded("a: !!str 12\nb: !!str\nc: !!str null\nd: !!str 1e3\ne: !!str abc\nf: !!int 12\n"
               "g: !!float 1.5\nh: !!bool true\ni: !!null ~\nj: !!timestamp 2025-01-01\nk: &x !!str 0o17\n"
               "l: !!str &y yes\n").data
    assert d == {"a": "12", "b": "", "c": "null", "d": "1e3", "e": "abc", "f": 12, "g": 1.5, "h": True,
                 "i": None, "j": "2025-01-01", "k": "0o17", "l": "yes"}


def test_quoted_and_block_scalars():
    d = loaded("a: '12'\nb: \"true\"\nc: |\n  12\nd: >-\n  x\n  y\ne: !!int '0x1f'\nf: !!bool \"true\"\n"
               "g: !!timestamp '2025-01-01'\nh: !!null ''\ni: !!float '.inf'\nj: !!str '1'\nk: ''\nl: !!timestamp '12'\n").data
    assert d == {"a": "12", "b": "true", "c": "12\n", "d": "x y", "e": 31, "f": True, "g": "2025-01-01",
                 "h": None, "i": math.inf, "j": "1", "k": "", "l": "12"}


def test_pure_python_loader_types_the_same(monkeypatch):
    text = "a: yes\nd: 0o17\ne: 1e3\nx: !!str 12\ny: !!str 1e3\nz: '7'\nw: 7\n"
    expected = {"a": "yes", "d": 15, "e": 1000.0, "x": "12", "y": "1e3", "z": "7", "w": 7}
    assert loaded(text).data == expected
    monkeypatch.setattr(loader, "_Loader", yaml.SafeLoader)
    assert loaded(text).data == expected


# ---------------------------------------------------------------- positions

def test_every_position_of_a_small_spec():
    text = "a: &x [1, 'two']\nb: *x\nc:\n  d: \"two\n    lines\"\n  e: |\n    z\n"
    spec = loaded(text)
    assert spec.data == {"a": [1, "two"], "b": [1, "two"], "c": {"d": "two lines", "e": "z\n"}}
    assert spec.values == {
        (): NodePos(1, 1, 8, 1, 0, len(text), None),
        ("a",): NodePos(1, 4, 1, 17, 3, 16, None),
        ("a", 0): NodePos(1, 8, 1, 9, 7, 8, ""),
        ("a", 1): NodePos(1, 11, 1, 16, 10, 15, "'"),
        ("c",): NodePos(4, 3, 8, 1, 28, len(text), None),
        ("c", "d"): NodePos(4, 6, 5, 11, 31, 46, '"'),
        ("c", "e"): NodePos(6, 6, 8, 1, 52, len(text), "|"),
    }
    assert spec.keys == {
        ("a",): NodePos(1, 1, 1, 2, 0, 1, ""), ("b",): NodePos(2, 1, 2, 2, 17, 18, ""),
        ("c",): NodePos(3, 1, 3, 2, 23, 24, ""), ("c", "d"): NodePos(4, 3, 4, 4, 28, 29, ""),
        ("c", "e"): NodePos(6, 3, 6, 4, 49, 50, ""),
    }
    assert (spec.path, spec.text, spec.inherited) == ("s.yaml", text, {})
    assert spec.lines == text.splitlines()


def test_value_and_key_positions_fall_back():
    spec = loaded("a:\n  b: 1\nc: [x, y]\n")
    assert spec.value_pos(("a", "b")) == (2, 6)
    assert spec.value_pos(["a", "b"]) == (2, 6)
    assert spec.value_pos(("a", "nope", "deeper")) == (2, 3)
    assert spec.value_pos(("c", 5)) == (3, 4)
    assert spec.value_pos(("nope",)) == (1, 1) and spec.value_pos(()) == (1, 1)
    assert spec.key_pos(("a", "b")) == (2, 3) and spec.key_pos(["a", "b"]) == (2, 3)
    assert spec.key_pos(("c", 1)) == (3, 8)  # a list item has no key: the value's position
    bare = LoadedSpec("x.yaml", "", {})
    assert bare.value_pos(("a",)) == (1, 1) and bare.key_pos(("a",)) == (1, 1)


def test_diag_at_value_and_at_key():
    spec = loaded("a:\n  b: xyz\n  c: [1,\n    2]\n")
    d = spec.diag("E201", "m", ("a", "b"))
    assert fields(d) == ("s.yaml", 2, 6, "E201", "error", 2, 9, False) and d.message == "m"
    d = spec.diag("E202", "m", ["a", "b"], at="key", help="h", severity="warning")
    assert fields(d) == ("s.yaml", 2, 3, "E202", "warning", 2, 4, True) and d.help == "h"
    # a value over two lines: its end on the other line
    assert fields(spec.diag("E203", "m", ("a", "c"))) == ("s.yaml", 3, 6, "E203", "error", 4, 7, False)
    assert fields(spec.diag("E203", "m", ("a", "c"), at="key")) == ("s.yaml", 3, 3, "E203", "error", 3, 4, False)
    # no position of its own: the nearest ancestor's start, no end
    assert fields(spec.diag("E204", "m", ("a", "zz"))) == ("s.yaml", 2, 3, "E204", "error", None, None, False)
    assert fields(spec.diag("E204", "m", ("a", "zz"), at="key")) == ("s.yaml", 2, 3, "E204", "error", None, None, False)
    assert fields(spec.diag("E205", "m", ("a", "b", 0), at="key")) == ("s.yaml", 2, 6, "E205", "error", None, None, False)


def test_diag_on_inherited_values_points_into_the_defaults_file():
    spec = loaded("a: 1\nb:\n  c: 2\n")
    shared, _ = load("# defaults\nb:\n  d: vwx\n  e: [1]\n", "defaults.yaml")
    merged = replace(spec, data={"a": 1, "b": {"c": 2, "d": "vwx", "e": [1]}},
                     inherited={("b", "d"): shared, ("b", "e"): shared})
    assert merged.origin(("b", "d")) is shared and merged.origin(["b", "e", 0]) is shared
    assert merged.origin(("b", "c")) is merged and merged.origin(("a",)) is merged
    assert merged.origin(("b",)) is merged and merged.origin(()) is merged
    d = merged.diag("E210", "m", ("b", "d"), at="value", help="h", severity="warning")
    assert fields(d) == ("defaults.yaml", 3, 6, "E210", "warning", 3, 9, True) and d.message == "m" and d.help == "h"
    d = merged.diag("E211", "m", ("b", "d"), at="key")
    assert fields(d) == ("defaults.yaml", 3, 3, "E211", "error", 3, 4, False)
    assert fields(merged.diag("E212", "m", ("b", "c"))) == ("s.yaml", 3, 6, "E212", "error", 3, 7, False)
    top = replace(spec, data={**spec.data, "z": 1}, inherited={("z",): shared})
    assert top.origin(("z",)) is shared and top.origin(("z", "q")) is shared
    # not in the defaults file's own positions: its top mapping's start, no end
    assert fields(top.diag("E213", "m", ("z",))) == ("defaults.yaml", 2, 1, "E213", "error", None, None, False)
    deep = replace(spec, inherited={("b", "c", "x", "y"): shared, ("q", "r"): shared})
    assert deep.origin(("b", "c", "x", "y")) is shared and deep.origin(("b", "c", "x")) is deep
    assert deep.origin(("q", "r", "s")) is shared and deep.origin(("q",)) is deep


@pytest.mark.parametrize("text, path, offset, expected", [
    ("f: abc\n", ("f",), 0, (1, 4)),
    ("f: abc\n", ("f",), 2, (1, 6)),
    ("f: abc\n", ("f",), 3, (1, 7)),           # one past the end: just after the last character
    ("f: abc\n", ("f",), 5, (1, 9)),
    ("f: abc\n", ("f",), -4, (1, 4)),
    ("f: 'a''b'\n", ("f",), 2, (1, 8)),
    ("f: 'ab'\n", ("f",), 4, (1, 9)),
    ("f: ''\n", ("f",), 0, (1, 4)),
    ("f: 12345\n", ("f",), 3, (1, 4)),         # not a string: the value's start
    ("f: [abc]\n", ("f", 0), 1, (1, 6)),
    ("f: [abc]\n", ("f", 3), 1, (1, 4)),        # no such value: the nearest ancestor
    ("f: [abc]\n", ("g",), 1, (1, 1)),
    ("g: 1\nf: |\n  ab\n  cd\n", ("f",), 3, (4, 3)),
    ("f: |2\n    ab\n  cd\n", ("f",), 2, (2, 5)),  # the indicator: the decoded value fixes the indentation
    ("f: |2\n    ab\n  cd\n", ("f",), 5, (3, 3)),
    ("f: !!int |\n  12\n", ("f",), 0, (1, 4)),     # not a string: the value's start
    ("f: &x\n# c\ng: 1\n", ("f",), 0, (1, 4)),
])
def test_position_in_string(text, path, offset, expected):
    assert loaded(text).position_in_string(path, offset) == expected


def test_position_in_a_string_that_came_through_an_alias():
    spec = loaded("a: &x abc\nb: *x\n")
    assert spec.position_in_string(("a",), 1) == (1, 8)
    assert spec.position_in_string(("b",), 1) == (1, 1)  # an alias has no position of its own


def test_position_in_a_string_skips_its_anchor_and_tag():
    spec = loaded("a: &x abc\nb: !!str &y 'p q'\nc: &z\n  !!str\n   rst\nd: ! uv\ne: &w  # note\n  xyz\n")
    assert spec.data == {"a": "abc", "b": "p q", "c": "rst", "d": "uv", "e": "xyz"}
    assert spec.position_in_string(("e",), 2) == (8, 5)
    assert spec.position_in_string(("a",), 1) == (1, 8)
    assert spec.position_in_string(("b",), 2) == (2, 16)
    assert spec.position_in_string(("c",), 2) == (5, 6)
    assert spec.position_in_string(("d",), 1) == (6, 7)
    assert spec.value_pos(("b",)) == (2, 4)  # the node, its properties included, starts at the tag


def test_span_in_string():
    spec = loaded("f: abc def\ng: |\n  ab\n  cd\n")
    assert spec.span_in_string(("f",), 4, 7) == (1, 8, 11)
    assert spec.span_in_string(("f",), 4, 4) == (1, 8, 9)
    assert spec.span_in_string(("g",), 1, 5) == (3, 4, None)
    assert spec.span_in_string(("g",), 3, 5) == (4, 3, 5)
