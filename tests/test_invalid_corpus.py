"""The invalid-spec corpus: each tests/invalid/*.yaml holds one mistake, and its first line,
`# expect: CODE LINE:COL`, says which diagnostic the validator must print first, and where
(1-based). Positions: unknown keys at the key; wrong values at the value; missing required
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
HEADER = re.compile(r"^# expect: ([EW][0-9]{3}) ([0-9]+):([0-9]+)\s*$")
# codes made by tests in code, not by corpus files
NOT_IN_CORPUS = {"E100", "E105", "E106", "E307", "R001"}  # tested in code: need bytes, two files or a run


def _expectation(path: Path) -> tuple[str, int, int]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    match = HEADER.match(first)
    assert match, f"{path.name}: first line must be '# expect: CODE LINE:COL'"
    return match.group(1), int(match.group(2)), int(match.group(3))


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 70


def test_corpus_covers_every_code():
    codes_md = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([EW][0-9]{3}) \|", codes_md, re.M))
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
