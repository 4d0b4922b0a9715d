"""How the CLI commands print: colour or not, and diagnostics in text, JSON or GitHub form.

Shared by `cli`, `compile` and `run` (which the CLI imports), so that none of them needs
to import the CLI back.
"""

from __future__ import annotations

import os
import sys


def use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def print_diagnostics(diags, fmt: str, color: bool, sources: dict[str, list[str]], out=None) -> None:
    from .diagnostics import render_github, render_json, render_text

    out = out or sys.stdout
    if fmt == "json":
        print(render_json(diags), file=out)
        return
    for d in diags:
        if fmt == "github":
            print(render_github(d), file=out)
        else:
            if d.path not in sources:
                from .loader import read_spec

                raw, _ = read_spec(d.path)  # never a FIFO, a device or an oversize file
                sources[d.path] = raw.decode("utf-8", errors="replace").splitlines() if raw else []
            print(render_text(d, sources[d.path], color) + "\n", file=out)
