"""Where local paths point.

Relative local paths in a spec (datasets, staging) resolve against the *project root*:

1. the ``ETLC_PROJECT_ROOT`` environment variable when it is set;
2. else an explicit root handed in by the caller (``etlc run`` passes the folder it found);
3. else the nearest folder above the spec file that holds ``pyproject.toml`` (the spec path
   in a task plan is project-relative, so the search starts at the current directory and,
   inside Airflow, at the DAG file's folder, and takes the first folder with a
   ``pyproject.toml`` that holds the spec; failing that, the first one with a
   ``pyproject.toml``);
4. else the current directory.

URLs: ``file:rel/path``, ``file:/abs/path`` and ``file:///abs/path`` are local paths; plain
paths are too.  ``s3://`` and other schemes arrive with the services issue and raise
:class:`NotAvailable` here.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from .errors import NotAvailable

ENV_ROOT = "ETLC_PROJECT_ROOT"
MARKER = "pyproject.toml"


def _walk_up(start: Path):
    start = start.resolve()
    if start.is_file():
        start = start.parent
    yield start
    yield from start.parents


def find_project_root(spec: str | os.PathLike | None = None, *,
                      root: str | os.PathLike | None = None,
                      starts: list[str | os.PathLike] | None = None) -> Path:
    """Return the project root as an absolute path (see the module doc for the rules)."""
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).expanduser().resolve()
    if root:
        return Path(root).expanduser().resolve()
    spec_path = Path(spec) if spec else None
    if spec_path is not None and spec_path.is_absolute():
        for folder in _walk_up(spec_path):
            if (folder / MARKER).is_file():
                return folder
        return spec_path.parent
    candidates = [Path(s) for s in (starts or []) if s] + [Path.cwd()]
    first_marker: Path | None = None
    for start in candidates:
        for folder in _walk_up(start):
            if (folder / MARKER).is_file():
                if spec_path is None or (folder / spec_path).exists():
                    return folder
                first_marker = first_marker or folder
    return first_marker or Path.cwd().resolve()


def scheme_of(url: str) -> str:
    """'s3' for s3://..., 'file' for file:... and plain paths."""
    text = str(url)
    if "://" in text:
        return text.split("://", 1)[0].lower()
    if text.lower().startswith("file:"):
        return "file"
    if len(text) > 2 and text[1] == ":" and text[0].isalpha():  # C:\ on Windows
        return "file"
    return "file"


def is_local(url: str) -> bool:
    return scheme_of(url) == "file"


def local_path(url: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Turn a plain path or a ``file:`` URL into an absolute local path.

    Relative paths resolve against ``root`` (the project root).  Other schemes raise
    :class:`NotAvailable`.
    """
    text = os.fspath(url)
    scheme = scheme_of(text)
    if scheme != "file":
        raise NotAvailable(
            f"{scheme}:// paths arrive with the services issue; this runtime reads and "
            f"writes local paths only ({text!r}). Use a local folder or a file: URL for now."
        )
    if text.lower().startswith("file://"):
        rest = text[len("file://"):]
        # file:///abs -> /abs ; file://localhost/abs -> /abs
        if not rest.startswith("/"):
            host, _, rest = rest.partition("/")
            if host not in ("", "localhost"):
                raise NotAvailable(f"file URLs on another host are not supported: {text!r}")
            rest = "/" + rest
        text = unquote(rest)
    elif text.lower().startswith("file:"):
        text = unquote(text[len("file:"):])
    path = Path(text).expanduser()
    if not path.is_absolute():
        base = Path(root) if root is not None else find_project_root()
        path = base / path
    return Path(os.path.normpath(path))


def has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def ensure_writable(target: str | os.PathLike, root: str | os.PathLike, *,
                    what: str = "dataset") -> Path:
    """Return ``target`` resolved, or raise if a write there could touch what etlc must not.

    Interface stub shared by the commit protocol and the containment checks (issue 8):
    the containment work fills in the rules (inside the project root or a declared
    writable root; never the root itself, a folder holding it, a home folder or ``/``).
    """
    return Path(os.path.normpath(os.path.abspath(target)))
