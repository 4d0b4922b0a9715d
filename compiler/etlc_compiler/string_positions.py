"""Where each character of a decoded YAML string value sits in its file (quoted, plain and
block scalars: escapes, folded lines and indentation undone), so that an expression's
character offsets become ``file:line:col`` (``LoadedSpec.position_in_string``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loader import NodePos

_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}


def offset_map(text: str, pos: NodePos) -> list[tuple[int, int]]:
    """For each character of a decoded scalar, its 1-based (line, col) in the file."""
    if pos.style in ("|", ">"):
        return _block_map(text, pos)
    out: list[tuple[int, int]] = []
    i, end = pos.start_index, pos.end_index
    quote = pos.style if pos.style in ("'", '"') else None
    if quote:
        i += 1
        end -= 1
    line, col = pos.line, pos.col + (1 if quote else 0)
    line_start = len(out)
    while i < end:
        ch = text[i]
        if ch == "\n":
            while len(out) > line_start and text[_index_of(text, out[-1])] in " \t":
                out.pop()
            blank = 0
            j = i + 1
            line += 1
            while True:
                k = j
                while k < end and text[k] in " \t":
                    k += 1
                if k < end and text[k] == "\n":
                    blank += 1
                    out.append((line, 1))
                    line += 1
                    j = k + 1
                    continue
                break
            if blank == 0:
                out.append((line - 1, col))
            col = 1 + (k - j)
            i = k
            line_start = len(out)
            continue
        if quote == '"' and ch == "\\" and i + 1 < end:
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2
                line += 1
                col = 1
                while i < end and text[i] in " \t":
                    i += 1
                    col += 1
                continue
            width = 2 + _ESCAPE_WIDTH.get(nxt, 0)
            out.append((line, col))
            i += width
            col += width
            continue
        if quote == "'" and ch == "'" and i + 1 < end and text[i + 1] == "'":
            out.append((line, col))
            i += 2
            col += 2
            continue
        out.append((line, col))
        i += 1
        col += 1
    return out


def _index_of(text: str, line_col: tuple[int, int]) -> int:
    line, col = line_col
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + col - 1


def _block_map(text: str, pos: NodePos) -> list[tuple[int, int]]:
    lines = text[pos.start_index: pos.end_index].split("\n")
    body = lines[1:]
    indent = None
    for ln in body:
        if ln.strip():
            indent = len(ln) - len(ln.lstrip(" "))
            break
    if indent is None:
        return []
    out: list[tuple[int, int]] = []
    for n, ln in enumerate(body):
        line = pos.line + 1 + n
        if not ln.strip():
            out.append((line, 1))
            continue
        for c in range(indent, len(ln)):
            out.append((line, c + 1))
        out.append((line, len(ln) + 1))
    return out
