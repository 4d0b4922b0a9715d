"""Load stage: YAML bytes -> plain data plus the position of every key and value.

The loader composes the YAML node graph with libyaml (fast, and marks every node) and
builds plain Python data itself, so that YAML 1.1's implicit typing never surprises:
plain scalars resolve by the YAML 1.2 core schema (`no`, `on`, `yes` stay strings, and a
date stays the string the user wrote). Every mistake is a positioned diagnostic
(E101-E113, docs/codes.md); nothing raises.

Input limits, each with its own code and a message naming the limit: bytes (E106, checked
from the file's size before reading, and no more than the bound plus one byte is read),
regular files only (E111: no FIFOs, devices or folders), YAML nodes in the document
(E112), nodes made by alias expansion (E104, billion laughs), steps (E113).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .diagnostics import Diagnostic
from .string_positions import offset_map
from .yaml_core import resolve_plain

MAX_BYTES = 1024 * 1024
MAX_NODES = 250_000  # distinct YAML nodes (keys and values) in the document
MAX_ALIAS_NODES = 100_000  # nodes built again because an alias names them
MAX_STEPS = 10_000

JsonPath = tuple[Any, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML = "tag:yaml.org,2002:"
_STD_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True)
class NodePos:
    """Where a node sits in the file: 1-based start and end, 0-based text indices."""

    line: int
    col: int
    end_line: int
    end_col: int
    start_index: int
    end_index: int
    style: str | None = None  # scalar style: None plain, "'", '"', "|", ">"


@dataclass(frozen=True)
class LoadedSpec:
    path: str
    text: str
    data: Any
    values: dict[JsonPath, NodePos] = field(default_factory=dict)
    keys: dict[JsonPath, NodePos] = field(default_factory=dict)
    # values merged in from a shared defaults file (shared_defaults.py): path -> that file
    inherited: dict[JsonPath, LoadedSpec] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def value_pos(self, path: JsonPath) -> tuple[int, int]:
        """Position of the value at path, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p and p not in self.values:
            p = p[:-1]
        pos = self.values.get(p)
        return (pos.line, pos.col) if pos else (1, 1)

    def key_pos(self, path: JsonPath) -> tuple[int, int]:
        """Position of the key that names path (its last element), else the value's."""
        pos = self.keys.get(tuple(path))
        return (pos.line, pos.col) if pos else self.value_pos(path)

    def origin(self, path: JsonPath) -> LoadedSpec:
        """The file the value at path was written in: this spec, or a shared defaults file."""
        p = tuple(path)
        for n in range(len(p), 0, -1):
            if p[:n] in self.inherited:
                return self.inherited[p[:n]]
            if p[:n] in self.values:
                break
        return self

    def diag(self, code: str, message: str, path: JsonPath, *, at: str = "value",
             help: str | None = None, severity: str = "error") -> Diagnostic:
        if self.inherited and self.origin(path) is not self:
            return self.origin(path).diag(code, message, path, at=at, help=help, severity=severity)
        line, col = self.key_pos(path) if at == "key" else self.value_pos(path)
        pos = (self.keys if at == "key" else self.values).get(tuple(path))
        end_line = pos.end_line if pos and pos.line == line else None
        end_col = pos.end_col if pos and pos.line == line else None
        return Diagnostic(self.path, line, col, code, message, severity, end_line, end_col, help)

    def position_in_string(self, path: JsonPath, offset: int) -> tuple[int, int]:
        """File position of character `offset` of the (decoded) string value at path."""
        pos = self.values.get(tuple(path))
        if pos is None:
            return self.value_pos(path)
        value = _get(self.data, path)
        start = _properties(self.text, pos.start_index, pos.end_index)[1]  # `&a !!str x`: x
        line, col = _line_col(self.text, start)
        text_pos = replace(pos, line=line, col=col, start_index=start)
        mapping = offset_map(self.text, text_pos, value if isinstance(value, str) else None)
        if not isinstance(value, str) or len(mapping) < len(value):
            return (pos.line, pos.col)
        if offset >= len(mapping):
            if not mapping:
                return (pos.line, pos.col)
            line, col = mapping[-1]
            return (line, col + (offset - len(mapping) + 1))
        return mapping[max(0, offset)]

    def span_in_string(self, path: JsonPath, start: int, end: int) -> tuple[int, int, int | None]:
        line, col = self.position_in_string(path, start)
        end_line, end_col = self.position_in_string(path, max(start, end - 1))
        return line, col, (end_col + 1 if end_line == line else None)


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


_PROPERTY = re.compile(r"([&!]\S*|#[^\n]*)\s*")  # an anchor, a tag or a comment, and the space after


def _properties(text: str, start: int, end: int) -> tuple[bool, int]:
    """Whether a node is written with a tag (`!!str 12`, `&a ! 12`), and where its own text
    starts past its anchor, tag and a comment between them: its start mark is at the first."""
    tagged, i = False, start
    while match := _PROPERTY.match(text, i, end):
        tagged = tagged or match.group(1).startswith("!")
        i = match.end()
    return tagged, i


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _too_big(path: str, size: int | None) -> Diagnostic:
    said = f"{size} bytes" if size is not None else f"more than {MAX_BYTES} bytes"
    return Diagnostic(path, 1, 1, "E106", f"file is {said}; a spec is at most {MAX_BYTES} bytes (1 MiB)",
                      help="split the pipeline into several specs")


def _not_regular(path: str, mode: int) -> Diagnostic | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return Diagnostic(path, 1, 1, "E111", f"{path} is {kind}, not a regular file; a spec is a file")


def read_spec(path: str | os.PathLike) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of a spec file, refusing non-files and oversize files before reading them."""
    name = str(path)
    try:
        wrong = _not_regular(name, os.stat(path).st_mode)
        if wrong:
            return None, [wrong]
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        return None, [Diagnostic(name, 1, 1, "E100", f"cannot read file: {exc.strerror}")]
    try:
        info = os.fstat(fd)
        wrong = _not_regular(name, info.st_mode)  # replaced between stat and open
        if wrong:
            return None, [wrong]
        if info.st_size > MAX_BYTES:
            return None, [_too_big(name, info.st_size)]
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, [Diagnostic(name, 1, 1, "E100", f"cannot read file: {exc.strerror}")]
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        return None, [_too_big(name, None)]
    return b"".join(chunks), []


def _count_nodes(root: yaml.Node) -> tuple[int, yaml.Node | None]:
    """Distinct nodes of a composed document (an alias counts once), and the first past the bound."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) == MAX_NODES + 1:
            first_over = node
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in reversed(node.value) for n in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return len(seen), (first_over if len(seen) > MAX_NODES else None)


def load(raw: bytes | str, path: str = "<string>") -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """Load one spec file. Returns (LoadedSpec or None, diagnostics)."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            return None, [_too_big(path, len(raw))]
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start]
            line = before.count(b"\n") + 1
            col = len(before) - (before.rfind(b"\n") + 1) + 1
            return None, [Diagnostic(path, line, col, "E105", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                                     help="save the file as UTF-8")]
    else:
        text = raw
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            return None, [_too_big(path, size)]
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        return None, [_yaml_error(path, text, exc)]
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml always marks its errors
        return None, [Diagnostic(path, 1, 1, "E101", f"YAML error: {exc}")]
    docs = [d for d in docs if d is not None]
    if not docs:
        return None, [Diagnostic(path, 1, 1, "E108", "the file holds no spec", help="start with 'etlc: 1'")]
    if len(docs) > 1:
        sep = re.compile(r"^(---|\.\.\.)", re.MULTILINE).search(text, docs[0].end_mark.index)
        line = _line_col(text, sep.start())[0] if sep else docs[1].start_mark.line + 1
        return None, [Diagnostic(path, line, 1, "E107", "a spec file holds one YAML document; found another",
                                 help="put each pipeline in its own file")]
    nodes, first_over = _count_nodes(docs[0])
    if first_over is not None:
        mark = first_over.start_mark
        return None, [Diagnostic(path, mark.line + 1, mark.column + 1, "E112",
                                 f"the spec has {nodes} YAML nodes; a spec has at most {MAX_NODES}",
                                 help="split the pipeline into several specs")]
    builder = _Builder(path, text)
    data = builder.build(docs[0], ())
    diags = builder.diags
    if not diags and not isinstance(data, dict):
        diags.append(Diagnostic(path, docs[0].start_mark.line + 1, docs[0].start_mark.column + 1, "E108",
                                "the top level of a spec must be a mapping of keys such as 'etlc', 'pipeline', 'steps'"))
    steps = data.get("steps") if isinstance(data, dict) else None
    if not diags and isinstance(steps, dict) and len(steps) > MAX_STEPS:
        line, col = (builder.keys[("steps",)].line, builder.keys[("steps",)].col) if ("steps",) in builder.keys else (1, 1)
        diags.append(Diagnostic(path, line, col, "E113", f"the spec has {len(steps)} steps; a spec has at most {MAX_STEPS}",
                                help="split the pipeline into several specs that hand data over through datasets"))
    diags.extend(_tab_indentation(path, text, builder.block_spans))
    if diags:
        diags.sort(key=Diagnostic.sort_key)
        return None, diags
    return LoadedSpec(path, text, data, builder.values, builder.keys), []


def _yaml_error(path: str, text: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "YAML syntax error"
    tabs = _tab_indentation(path, text, [])
    if tabs and tabs[0].line <= line:
        return tabs[0]
    message = problem + (f" ({exc.context})" if exc.context else "")
    hint = None
    if "mapping values are not allowed" in problem:
        hint = "quote a value that contains ': ', or check the indentation above"
    elif "could not find expected ':'" in problem or "expected <block end>" in problem:
        hint = "check the indentation of this line against the one above"
    return Diagnostic(path, line, col, "E101", message, help=hint)


def _tab_indentation(path: str, text: str, block_spans: list[tuple[int, int]]) -> list[Diagnostic]:
    if "\t" not in text:
        return []
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            if any(a < number <= b for a, b in block_spans):
                continue
            out.append(Diagnostic(path, number, indent.index("\t") + 1, "E103",
                                  "tab character in indentation", help="indent with spaces"))
            break
    return out


class _Builder:
    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.values: dict[JsonPath, NodePos] = {}
        self.keys: dict[JsonPath, NodePos] = {}
        self.diags: list[Diagnostic] = []
        self.block_spans: list[tuple[int, int]] = []
        self.expanded = 0  # nodes built again through an alias
        self.in_alias = 0
        self.active: set[int] = set()
        self.seen: set[int] = set()

    def pos(self, node: yaml.Node) -> NodePos:
        s, e = node.start_mark, node.end_mark
        style = getattr(node, "style", None) if isinstance(node, yaml.ScalarNode) else None
        return NodePos(s.line + 1, s.column + 1, e.line + 1, e.column + 1, s.index, e.index, style)

    def error(self, node: yaml.Node, code: str, message: str, help: str | None = None) -> None:
        p = self.pos(node)
        end = (p.end_line, p.end_col) if p.end_line == p.line else (None, None)
        self.diags.append(Diagnostic(self.path, p.line, p.col, code, message, "error", end[0], end[1], help))

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        if id(node) in self.active:
            self.error(node, "E104", "recursive alias: a node contains itself")
            return None
        again = id(node) in self.seen
        if again or self.in_alias:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_NODES:
                if not any(d.code == "E104" for d in self.diags):
                    self.error(node, "E104", f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
                               help="a spec needs no deep alias nesting; write the values out")
                return None
        else:
            self.values[path] = self.pos(node)
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        self.in_alias += again
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _YAML + "seq":
                    self.error(node, "E109", f"unsupported YAML tag {node.tag!r}")
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if node.tag != _YAML + "map":
                self.error(node, "E109", f"unsupported YAML tag {node.tag!r}")
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
            self.in_alias -= again

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML + "merge":
                src = self.build(value_node, path)
                for item in src if isinstance(src, list) else [src]:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            merged.setdefault(k, v)
                    else:
                        self.error(value_node, "E101", "a merge key '<<' takes a mapping or a list of mappings")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, "E110", "a mapping key must be a plain string, not a list or mapping")
                continue
            key = key_node.value
            if key in out:
                self.error(key_node, "E102", f"duplicate key '{key}'",
                           help=f"'{key}' is already set on line {self.keys[path + (key,)].line}")
                continue
            self.keys[path + (key,)] = self.pos(key_node)
            out[key] = self.build(value_node, path + (key,))
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        value, style, tag = node.value, node.style, node.tag
        if style in ("|", ">"):
            self.block_spans.append((node.start_mark.line + 1, node.end_mark.line + 1))
        if tag not in _STD_SCALAR_TAGS:
            self.error(node, "E109", f"unsupported YAML tag {tag!r}", help="specs hold plain data only")
            return None
        if not style:  # plain: PyYAML says None, libyaml ""
            if tag == _YAML + "str" and _properties(self.text, node.start_mark.index, node.end_mark.index)[0]:
                return value
            return resolve_plain(value)
        if tag == _YAML + "str" or tag == _YAML + "timestamp":
            return value
        return resolve_plain(value)
