"""Where each character of a decoded YAML string value sits in its file (quoted, plain and
block scalars: escapes, folded lines and indentation undone), so that an expression's
character offsets become ``file:line:col`` (``LoadedSpec.position_in_string``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loader import NodePos

_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}


def offset_map(text: str, pos: NodePos, value: str | None = None) -> list[tuple[int, int]]:
    """For each character of a decoded scalar, its 1-based (line, col) in the file.

    ``value``, the decoded string, fixes a block scalar's indentation where the text alone
    cannot (an indentation indicator such as ``|2`` before a value that starts with spaces)."""
    if pos.style in ("|", ">"):
        return _block_map(text, pos, value)
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


def _block_map(text: str, pos: NodePos, value: str | None) -> list[tuple[int, int]]:
    body = text[pos.start_index: pos.end_index].split("\n")[1:]
    first = next((n for n, ln in enumerate(body) if ln.strip()), None)
    ln = body[first] if first is not None else ""
    indent = len(ln) - len(ln.lstrip(" "))
    if value is not None and first is not None:
        rest = value.lstrip("\n")
        indent -= len(rest) - len(rest.lstrip(" "))
    lines = [(pos.line + 1 + n, ln) for n, ln in enumerate(body)]
    if pos.style == "|":
        return _literal(lines, indent)
    return _folded(lines, indent)


def _is_text(ln: str, indent: int) -> bool:
    return bool(ln.strip()) and len(ln) > indent


def _literal(lines: list[tuple[int, str]], indent: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for line, ln in lines:
        if not _is_text(ln, indent):
            out.append((line, 1))
            continue
        out.extend((line, c + 1) for c in range(indent, len(ln)))
        out.append((line, len(ln) + 1))
    return out


def _folded(lines: list[tuple[int, str]], indent: int) -> list[tuple[int, int]]:
    """YAML folding: a break between two text lines becomes a space, or vanishes when blank
    lines follow it (each blank line is a newline); lines that start with white space after
    the indentation keep the breaks around them."""
    out: list[tuple[int, int]] = []
    k = 0
    while k < len(lines) and not _is_text(lines[k][1], indent):
        out.append((lines[k][0], 1))
        k += 1
    while k < len(lines):
        line, ln = lines[k]
        out.extend((line, c + 1) for c in range(indent, len(ln)))
        nxt = k + 1
        while nxt < len(lines) and not _is_text(lines[nxt][1], indent):
            nxt += 1
        blanks = [(lines[b][0], 1) for b in range(k + 1, nxt)]
        spaced = ln[indent:indent + 1] in (" ", "\t") or (
            nxt < len(lines) and lines[nxt][1][indent:indent + 1] in (" ", "\t"))
        if nxt < len(lines) and not spaced and blanks:
            out.extend(blanks)
        else:
            out.append((line, len(ln) + 1))
            out.extend(blanks)
        k = nxt
    return out
