"""Diagnostics: what every compiler stage reports, and how the CLI prints them.

A diagnostic carries a file, a 1-based line and column (and the end of its span), a code
(docs/codes.md), a severity, a message and an optional help line. Rendering is pure:
text (like a compiler, with the source line and a caret), JSON, or GitHub annotations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    code: str
    message: str
    severity: Severity = "error"
    end_line: int | None = None
    end_col: int | None = None
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.col, self.code)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def render_text(diag: Diagnostic, source_lines: list[str] | None = None, color: bool = False) -> str:
    """Render one diagnostic like a compiler: header, source line with carets, help."""
    head = f"{diag.path}:{diag.line}:{diag.col}: {diag.severity}[{diag.code}]: {diag.message}"
    if color:
        tint = "\x1b[1;31m" if diag.is_error else "\x1b[1;33m"
        head = f"\x1b[1m{diag.path}:{diag.line}:{diag.col}:\x1b[0m {tint}{diag.severity}[{diag.code}]\x1b[0m: {diag.message}"
    out = [head]
    if source_lines and 1 <= diag.line <= len(source_lines):
        text = source_lines[diag.line - 1].rstrip("\r\n").replace("\t", " ")
        gutter = str(diag.line)
        width = 1
        if diag.end_line == diag.line and diag.end_col and diag.end_col > diag.col:
            width = diag.end_col - diag.col
        width = max(1, min(width, max(1, len(text) - diag.col + 1)))
        pad = " " * len(gutter)
        out.append(f"{gutter:>{len(gutter) + 1}} | {text}")
        out.append(f"{pad:>{len(gutter) + 1}} | {' ' * (diag.col - 1)}{'^' * width}")
    if diag.help:
        out.append(f"   help: {diag.help}")
    return "\n".join(out)


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2, sort_keys=True)


def _gh_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(diag: Diagnostic) -> str:
    kind = "error" if diag.is_error else "warning"
    message = diag.message + (f" (help: {diag.help})" if diag.help else "")
    props = f"file={diag.path},line={diag.line},col={diag.col}"
    if diag.end_line:
        props += f",endLine={diag.end_line}"
    if diag.end_col and diag.end_line == diag.line:
        props += f",endColumn={diag.end_col}"
    return f"::{kind} {props},title={diag.code}::{_gh_escape(message)}"


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled word, or None."""
    import difflib

    found = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    best = suggest(word, candidates)
    return f"did you mean '{best}'?" if best else None
