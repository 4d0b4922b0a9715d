"""`etlc explain SPEC`: each DAG-level value of a spec, after its shared `defaults.yaml` files,
and where it came from: the spec, a defaults file (file and line), or the schema's default.

Rows cover the keys a defaults file may hold (`shared_defaults.SHAREABLE`), `defaults:` one key
at a time. `--format json` prints the rows as a list of objects with the fields `key`,
`value`, `source` (`spec`, `defaults` or `default`), `file`, `line` and `col` (null for a
schema default).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from . import loader, schema_check, shared_defaults
from .loader import LoadedSpec


def _schema_default(key: str, sub: str | None = None) -> tuple[bool, Any]:
    props = schema_check.schema()["properties"]
    part = props.get(key, {})
    if sub is not None:
        part = part.get("properties", {}).get(sub, {})
    return ("default" in part, part.get("default"))


def rows(loaded: LoadedSpec) -> list[dict[str, Any]]:
    data = loaded.data if isinstance(loaded.data, dict) else {}
    out = []

    def row(name: str, path: tuple, value: Any) -> None:
        origin = loaded.origin(path)
        line, col = origin.key_pos(path)
        out.append({"key": name, "value": value, "source": "spec" if origin is loaded else "defaults",
                    "file": origin.path, "line": line, "col": col})

    for key in shared_defaults.SHAREABLE:
        if key == "etlc":
            continue
        if key == "defaults":
            given = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
            names = list(given) + [k for k in schema_check.schema()["properties"]["defaults"].get("properties", {})
                                   if k not in given]
            for sub in names:
                if sub in given:
                    row(f"defaults.{sub}", ("defaults", sub), given[sub])
                elif _schema_default("defaults", sub)[0]:
                    out.append(_default(f"defaults.{sub}", _schema_default("defaults", sub)[1]))
        elif key in data:
            row(key, (key,), data[key])
        elif _schema_default(key)[0]:
            out.append(_default(key, _schema_default(key)[1]))
    return out


def _default(name: str, value: Any) -> dict[str, Any]:
    return {"key": name, "value": value, "source": "default", "file": None, "line": None, "col": None}


def text(spec_path: str, found: list[dict[str, Any]]) -> str:
    width = max((len(r["key"]) for r in found), default=0)
    shown = [(r, json.dumps(r["value"], ensure_ascii=False)) for r in found]
    vwidth = min(40, max((len(v) for _, v in shown), default=0))
    lines = [spec_path]
    for r, value in shown:
        where = f"{r['file']}:{r['line']}" if r["file"] else "(default)"
        lines.append(f"  {r['key'].ljust(width)} = {value.ljust(vwidth)}  {where}")
    return "\n".join(lines)


def command(args) -> int:
    from .console import print_diagnostics, use_color

    raw, diags = loader.read_spec(args.spec)
    loaded = None
    if raw is not None:
        loaded, diags = shared_defaults.load(raw, args.spec)
    if loaded is None:
        print_diagnostics(diags, "text", use_color(args.color), {}, out=sys.stderr)
        return 1
    found = rows(loaded)
    if args.format == "json":
        print(json.dumps(found, ensure_ascii=False, indent=1))
    else:
        print(text(args.spec, found))
    return 0

