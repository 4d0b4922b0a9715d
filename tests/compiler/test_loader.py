"""The loader: positions of keys and values, YAML pitfalls as positioned E1xx diagnostics."""

from __future__ import annotations

import pytest

from etlc_compiler.loader import MAX_BYTES, load


def first(raw, path="s.yaml"):
    spec, diags = load(raw, path)
    assert spec is None and diags, "expected a diagnostic"
    d = diags[0]
    return d.code, d.line, d.col


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: 1\na: 2\n", ("E102", 2, 1)),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", ("E102", 4, 3)),
        ("a:\n\tb: 1\n", ("E103", 2, 1)),
        ("a:\n  b:\n  \tc: 1\n", ("E103", 3, 3)),
        ("a: [1, 2\n", ("E101", 2, 1)),
        ("a: b: c\n", ("E101", 1, 5)),
        ("a: 1\n---\nb: 2\n", ("E107", 2, 1)),
        ("", ("E108", 1, 1)),
        ("# only a comment\n", ("E108", 1, 1)),
        ("- a\n- b\n", ("E108", 1, 1)),
        ("a: !!python/object/apply:os.system [ls]\n", ("E109", 1, 4)),
        ("a: !custom x\n", ("E109", 1, 4)),
        ("? [a, b]\n: 1\n", ("E110", 1, 3)),
        ("a: &x [*x]\n", ("E104", 1, 4)),
    ],
)
def test_load_errors_are_positioned(text, expected):
    assert first(text.encode()) == expected


def test_billion_laughs_is_bounded():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    code, _, _ = first("\n".join(lines).encode())
    assert code == "E104"


def test_not_utf8_points_at_the_byte():
    assert first(b"a: 1\nb: caf\xe9\n") == ("E105", 2, 7)


def test_oversize_file():
    assert first(b"a: " + b"x" * (MAX_BYTES + 1)) == ("E106", 1, 1)


def test_bom_is_accepted():
    spec, diags = load(b"\xef\xbb\xbfa: 1\n")
    assert not diags and spec.data == {"a": 1}


def test_yaml_12_typing_never_surprises():
    spec, diags = load(
        "on: no\nyes: off\nd: 2025-01-02\nt: 2025-01-02 10:00:00\nv: 1.10\nn: ~\ne:\nb: true\ni: 0x1f\ns: '12'\nx: !!str 12\n"
    )
    assert not diags
    assert spec.data == {"on": "no", "yes": "off", "d": "2025-01-02", "t": "2025-01-02 10:00:00", "v": 1.1,
                         "n": None, "e": None, "b": True, "i": 31, "s": "12", "x": "12"}


def test_key_and_value_positions():
    spec, _ = load("steps:\n  raw:\n    read: sales\n  clean:\n    from: [raw, other]\n")
    assert spec.key_pos(("steps", "clean")) == (4, 3)
    assert spec.value_pos(("steps", "raw", "read")) == (3, 11)
    assert spec.value_pos(("steps", "clean", "from", 1)) == (5, 17)
    assert spec.value_pos(("steps", "missing", "x")) == (1, 1) or spec.value_pos(("steps", "missing", "x")) == (2, 3)


def test_merge_keys_merge_without_overriding():
    spec, diags = load("base: &b {retries: 1, pool: p}\nstep:\n  <<: *b\n  retries: 3\n")
    assert not diags
    assert spec.data["step"] == {"retries": 3, "pool": "p"}


@pytest.mark.parametrize(
    "yaml_value, offset, expected",
    [
        ("f: tickr == 1\n", 0, (1, 4)),
        ("f: a and tickr == 1\n", 6, (1, 10)),
        ("f: 'it''s tickr'\n", 5, (1, 11)),
        ('f: "a\\tb tickr"\n', 4, (1, 10)),
        ('f: "\\u00e9 tickr"\n', 2, (1, 12)),
        ("f: |\n  a and\n  tickr > 1\n", 6, (3, 3)),
        ("f: >-\n    x > 1 and\n    tickr > 1\n", 10, (3, 5)),
        ("f: a and\n  tickr > 1\n", 6, (2, 3)),
        ("f: 'a and\n  tickr > 1'\n", 6, (2, 3)),
    ],
)
def test_position_inside_strings(yaml_value, offset, expected):
    spec, diags = load(yaml_value)
    assert not diags
    value = spec.data["f"]
    assert value[offset] == "t"
    assert spec.position_in_string(("f",), offset) == expected
