"""The invalid-spec corpus: each tests/invalid/*.yaml holds one mistake, and its first line,
`# expect: CODE LINE:COL-END_LINE:END_COL`, says which diagnostic the validator must print
first, where it starts and where it ends (1-based; the end is exclusive, `-none` when the
diagnostic has no end, as for YAML syntax errors). Positions: unknown keys at the key; wrong values at the value; missing required
keys at the parent mapping's key (1:1 at the top level); expressions and templates at the
offending character inside the string, as it sits in the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from etlc_compiler import api  # an import error fails the collection: never a skip

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "tests" / "invalid").glob("*.yaml"))
HEADER = re.compile(r"^# expect: ([EW][0-9]{3}) ([0-9]+):([0-9]+)(?:-(none|[0-9]+:[0-9]+))?\s*$")
# codes made by tests in code, not by corpus files
NOT_IN_CORPUS = {"E100", "E105", "E106", "E307", "R001",  # tested in code: need bytes, two files or a run
                 "E111", "E112", "E113"}  # a FIFO or device, 250,000 nodes, 10,001 steps: tests/compiler/test_limits.py
NOT_IN_CORPUS |= {"E318"}  # no engine of this release lacks what a spec can ask: tests/compiler/test_capabilities.py


def _header(path: Path) -> re.Match:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    match = HEADER.match(first)
    assert match, f"{path.name}: first line must be '# expect: CODE LINE:COL-END_LINE:END_COL'"
    return match


def _expectation(path: Path) -> tuple[str, int, int]:
    match = _header(path)
    return match.group(1), int(match.group(2)), int(match.group(3))


def _end(path: Path) -> tuple[int | None, int | None]:
    end = _header(path).group(4)
    if end == "none":
        return None, None
    line, col = end.split(":")
    return int(line), int(col)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 70


def test_every_file_states_where_its_diagnostic_ends():
    """Start and end columns are both asserted: an end one column too far must fail."""
    missing = [p.name for p in CORPUS if _header(p).group(4) is None]
    assert not missing, f"add -END_LINE:END_COL (or -none) to the expect line of: {missing}"


def test_corpus_covers_every_code():
    codes_md = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([EW][0-9]{3}) \|", codes_md, re.MULTILINE))
    covered = {_expectation(p)[0] for p in CORPUS}
    assert covered <= documented, f"codes not in docs/codes.md: {covered - documented}"
    assert documented - NOT_IN_CORPUS <= covered, f"codes without a corpus file: {documented - NOT_IN_CORPUS - covered}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_first_diagnostic(path):
    code, line, col = _expectation(path)
    diagnostics = api.validate_paths([path])
    assert diagnostics, f"{path.name}: no diagnostic, expected {code} at {line}:{col}"
    first = diagnostics[0]
    got = (first.code, first.line, first.col)
    assert got == (code, line, col), (
        f"{path.name}: expected {code} {line}:{col}, got {first.code} {first.line}:{first.col}: {first.message}")
    if _header(path).group(4) is not None:
        assert (first.end_line, first.end_col) == _end(path), (
            f"{path.name}: ends at {first.end_line}:{first.end_col}, expected {_end(path)}")
