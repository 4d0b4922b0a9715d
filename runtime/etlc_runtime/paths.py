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

Containment (one set of rules, used by the runtime before every read and write and by the
compiler when it can see a path; symlinks are resolved with ``realpath`` before judging):

- the *writable roots* are the project root, the folders listed in ``[tool.etlc]
  writable_roots`` of the project's ``pyproject.toml`` (absolute, or relative to the project
  root) and the absolute folders in ``ETLC_WRITABLE_ROOTS`` (``os.pathsep``-separated, set by
  the operator).  A declared root that is ``/``, a home folder or a folder holding one is
  ignored.
- a write (datasets, staging) must land strictly *inside* the project root or a declared
  writable root, and never on ``/``, the project root, a folder holding the project root, a
  home folder (every home in the password database, ``$HOME``, ``~root``) or a folder holding
  one, or a declared root itself: :func:`ensure_writable` raises :class:`UnsafePath` (R010).
  A project root that is ``/`` or holds a home folder (a misconfigured ``ETLC_PROJECT_ROOT``)
  counts for nothing: only declared roots are then writable.
- a read must come from inside the project root, or from inside (or exactly) a writable root
  or a *readable root*: ``[tool.etlc] readable_roots`` and ``ETLC_READABLE_ROOTS`` (same
  forms), for sources such as ``/data/raw/*.csv``: :func:`ensure_readable`.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .errors import NotAvailable, UnsafePath

ENV_ROOT = "ETLC_PROJECT_ROOT"
ENV_WRITABLE = "ETLC_WRITABLE_ROOTS"
ENV_READABLE = "ETLC_READABLE_ROOTS"
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


@dataclass(frozen=True)
class Roots:
    """Where local paths may point: all real paths (symlinks resolved)."""

    project: Path
    writable: tuple[Path, ...]      # declared writable roots (not the project root)
    readable: tuple[Path, ...]      # declared readable roots
    homes: frozenset[Path] = frozenset()


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` lies strictly inside ``folder`` (both absolute and normalised)."""
    inner, outer = str(path), str(folder)
    return inner != outer and inner.startswith(outer if outer.endswith(os.sep) else outer + os.sep)


def home_folders() -> set[Path]:
    """Every home folder this machine knows of: the password database, $HOME and ~root."""
    homes = {os.environ.get("HOME") or "", os.path.expanduser("~root")}
    try:
        homes.update(entry.pw_dir for entry in pwd.getpwall())
    except OSError:  # pragma: no cover - no password database
        pass
    return {_real(h) for h in homes if h and os.path.isabs(h)}


def _too_wide(folder: Path, homes: set[Path] | frozenset[Path], strictly: bool = False) -> bool:
    """``/``, or a folder holding a home folder (or, unless ``strictly``, being one)."""
    return folder == Path(folder.anchor) or any(
        _inside(h, folder) or (h == folder and not strictly) for h in homes)


def configured(root: Path) -> dict:
    """The project's ``[tool.etlc]`` settings in its pyproject.toml ({} without)."""
    try:
        import tomllib

        data = tomllib.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    section = data.get("tool", {}).get("etlc", {})
    return section if isinstance(section, dict) else {}


def _declared(entries, env: str, root: Path, homes: set[Path]) -> tuple[Path, ...]:
    found: list[Path] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str) and entry.strip():
            path = Path(entry)
            found.append(_real(path if path.is_absolute() else root / path))
    for entry in os.environ.get(env, "").split(os.pathsep):
        if entry.strip() and os.path.isabs(entry.strip()):
            found.append(_real(entry.strip()))
    return tuple(dict.fromkeys(p for p in found if not _too_wide(p, homes)))


_CACHE: dict[tuple, Roots] = {}


def project_roots(root: str | os.PathLike) -> Roots:
    """The project root and the roots it (or the operator) declares; see the module doc."""
    project = _real(root)
    try:
        stamp = (project / MARKER).stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (project, stamp, os.environ.get(ENV_WRITABLE), os.environ.get(ENV_READABLE),
           os.environ.get("HOME"))
    if key not in _CACHE:
        homes = home_folders()
        config = configured(project)
        writable = _declared(config.get("writable_roots"), ENV_WRITABLE, project, homes)
        readable = _declared(config.get("readable_roots"), ENV_READABLE, project, homes)
        _CACHE.clear()
        _CACHE[key] = Roots(project, writable, readable, frozenset(homes))
    return _CACHE[key]


def write_problem(target: str | os.PathLike, roots: Roots) -> str | None:
    """Why a write to ``target`` is refused, or None when it may go ahead."""
    real = _real(target)
    project = roots.project
    if real == Path(real.anchor):
        return "is the file system root /"
    if real == project:
        return f"is the project root {project}"
    if _inside(project, real):
        return f"holds the project root {project}"
    homes = roots.homes or home_folders()
    if real in homes:
        return "is a home folder"
    if any(_inside(h, real) for h in homes):
        return "holds a home folder"
    if real in roots.writable:
        return "is a declared writable root itself; write into a folder inside it"
    if any(_inside(real, w) for w in roots.writable):
        return None
    if _too_wide(project, homes, strictly=True):
        return (f"is in no declared writable root, and the project root {project} is / or "
                f"holds home folders; set ETLC_PROJECT_ROOT")
    if _inside(real, project):
        return None
    where = "resolves (through a symlink) to " if real != Path(os.path.abspath(target)) else "is "
    return (f"{where}{real}, outside the project root {project} and every declared writable "
            f"root")


def read_problem(target: str | os.PathLike, roots: Roots) -> str | None:
    """Why a read of ``target`` is refused, or None when it may go ahead."""
    real = _real(target)
    project = roots.project
    if real == project:
        return f"is the project root {project} itself"
    if not _too_wide(project, roots.homes or home_folders(), strictly=True) \
            and _inside(real, project):
        return None
    if any(real == r or _inside(real, r) for r in roots.writable + roots.readable):
        return None
    where = "resolves (through a symlink) to " if real != Path(os.path.abspath(target)) else "is "
    return (f"{where}{real}, outside the project root {project} and every declared readable "
            f"or writable root")


def ensure_writable(target: str | os.PathLike, root: str | os.PathLike, *,
                    what: str = "dataset") -> Path:
    """Return ``target`` resolved (symlinks followed), or raise :class:`UnsafePath` (R010)
    when a write there could touch what etlc must not (see the module doc)."""
    reason = write_problem(target, project_roots(root))
    if reason:
        raise UnsafePath(os.fspath(target), reason, what=what, access="write")
    return _real(target)


def ensure_readable(target: str | os.PathLike, root: str | os.PathLike, *,
                    what: str = "dataset") -> Path:
    """Return ``target`` resolved, or raise :class:`UnsafePath` (R010) when it may not be read."""
    reason = read_problem(target, project_roots(root))
    if reason:
        raise UnsafePath(os.fspath(target), reason, what=what, access="read")
    return _real(target)
