"""`etlc clean [--older-than DURATION] [--dry-run] [SPEC_OR_PROJECT]`: remove leftovers.

Removes, under the project's staging roots (the default `.etlc/staging` and every `staging.path`
of the specs given, or of the specs in the project), the staging runs that etlc made (a run
marker or the manifest layout proves it: :mod:`etlc_runtime.retention`) and the temporaries
that a killed staging commit left behind (`._manifest.json.*.tmp`), and file datasets'
`.<name>.etlc-tmp-*` / `.etlc-old-*` leftovers found there or beside the specs' local datasets
(through the commit protocol's own recovery, under the dataset's lock: a committed journal is
rolled forward, not deleted),
whatever their status, when their last write is older than
`--older-than` (default 0: all of them; do not run it without `--older-than` while runs are
writing).  Anything else under a staging root is left alone.  Prints each removed path
with its size and the bytes freed.  Exit 0 clean, 1 when something could not be removed or
a staging root is unsafe, 2 usage.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPORARY = re.compile(r"^\._manifest\.json\..+\.tmp$|^\._etlc_run\.json\..+\.tmp$")
COMMIT_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.etlc-(tmp|old)-[0-9a-f]+(\.[^.]+)?$")


@dataclass(frozen=True)
class Leftover:
    path: Path
    kind: str           # "staging run" | "temporary"
    last_write: _dt.datetime
    target: Path | None = None     # a file dataset's temporary: the dataset it belongs to


class UsageError(Exception):
    pass


def _newest(path: Path) -> _dt.datetime:
    stamps = [path.lstat().st_mtime]
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    stamps.append(os.lstat(os.path.join(folder, name)).st_mtime)
                except OSError:
                    pass
    return _dt.datetime.fromtimestamp(max(stamps), _dt.UTC)


def _temporaries(base: Path) -> list[Leftover]:
    found = []
    for folder, dirs, files in os.walk(base):
        for name in sorted(dirs + files):
            dataset = COMMIT_LEFTOVER.match(name)
            if dataset or TEMPORARY.match(name):
                path = Path(folder) / name
                target = Path(folder) / dataset.group("name") if dataset else None
                found.append(Leftover(path, "temporary", _newest(path), target))
        dirs[:] = [d for d in dirs if not (COMMIT_LEFTOVER.match(d) or TEMPORARY.match(d))
                   and not (Path(folder) / d).is_symlink()]
    return found


def staging_settings(target: Path) -> list[object]:
    """The `staging` settings of the specs at `target` (a spec or a folder of specs)."""
    import yaml

    from .api import spec_files

    settings: list[object] = [None]
    for spec in spec_files([target])[0]:
        try:
            data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and "etlc" in data and isinstance(data.get("staging"), dict):
            settings.append(data["staging"])
    return settings


def staging_bases(target: Path, root: Path) -> tuple[list[Path], list[str], list[str]]:
    """The local staging roots to clean, the ones skipped (remote, templated) and the
    problems (unsafe roots)."""
    from etlc_runtime.errors import NotAvailable, UnsafePath
    from etlc_runtime.staging import staging_root

    bases, skipped, problems = [], [], []
    for setting in staging_settings(target):
        path = setting.get("path") if isinstance(setting, dict) else setting
        if isinstance(path, str) and "{{" in path:
            skipped.append(f"skipped templated staging path {path!r}")
            continue
        try:
            base = staging_root(setting, root)
        except NotAvailable as exc:
            skipped.append(f"skipped staging path {path!r}: {exc}")
            continue
        except UnsafePath as exc:
            problems.append(str(exc))
            continue
        if base not in bases:
            bases.append(base)
    return bases, skipped, problems


def dataset_leftovers(target: Path, root: Path) -> list[Leftover]:
    """Leftovers of killed writes beside the specs' local datasets (`.<name>.etlc-tmp-*` /
    `.etlc-old-*` next to `<name>`): the next write of a dataset removes them, this removes
    those of datasets that are not written again."""
    import yaml
    from etlc_runtime import paths

    from .api import spec_files

    folders: list[Path] = []
    for spec in spec_files([target])[0]:
        try:
            data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        datasets = data.get("datasets") if isinstance(data, dict) and "etlc" in data else None
        for ds in (datasets or {}).values() if isinstance(datasets, dict) else ():
            path = ds.get("path") if isinstance(ds, dict) else None
            if not isinstance(path, str) or "{" in path or (ds.get("connection") is not None
                                                            and not path.startswith("file:")):
                continue
            try:
                folder = paths.ensure_writable(paths.local_path(path, root), root).parent
            except (paths.NotAvailable, paths.UnsafePath, ValueError, OSError):
                continue
            if folder.is_dir() and folder not in folders:
                folders.append(folder)
    found = []
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            dataset = COMMIT_LEFTOVER.match(name)
            if dataset:
                found.append(Leftover(folder / name, "temporary", _newest(folder / name),
                                      folder / dataset.group("name")))
    return found


def leftovers(bases: list[Path], older_than: _dt.timedelta,
              now: _dt.datetime | None = None) -> list[Leftover]:
    from etlc_runtime.retention import find_runs

    now = now or _dt.datetime.now(_dt.UTC)
    found: list[Leftover] = []
    for base in bases:
        if not base.is_dir():
            continue
        found += [Leftover(r.path, "staging run", r.last_write) for r in find_runs(base)]
        found += _temporaries(base)
    out: list[Leftover] = []
    for item in found:       # runs first: a temporary inside a removed run goes with it
        if item.last_write + older_than <= now and not any(
                item.path == o.path or o.path in item.path.parents for o in out):
            out.append(item)
    return out


def _remove(item: Leftover) -> None:
    from etlc_runtime.retention import StagingRun, remove_run

    if item.kind == "staging run":
        remove_run(StagingRun(item.path, "unknown", item.last_write))
    elif item.target is not None:
        _tidy_dataset(item.target)
    elif item.path.is_dir() and not item.path.is_symlink():
        shutil.rmtree(item.path)
    else:
        item.path.unlink()


def _tidy_dataset(target: Path) -> None:
    """A file dataset's leftovers go the way its next write would take them: under the
    dataset's lock, committed journals rolled forward, the rest removed."""
    from etlc_runtime import commit

    if not any(os.path.lexists(p) for p in target.parent.glob(f".{target.name}.etlc-*-*")):
        return                                   # an earlier item's tidy-up took them
    lock = commit._Lock(target.with_name(f".{target.name}.etlc-lock")).acquire()
    try:
        commit.recover(target)
    finally:
        lock.release()


def _too_wide(folder: Path) -> bool:
    """`/` or a folder holding home folders: searching it for specs would read the machine."""
    from etlc_runtime.paths import home_folders

    return folder == Path(folder.anchor) or any(folder in home.parents for home in home_folders())


def _show(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def clean_command(args) -> int:
    from etlc_runtime.retention import RetentionError, parse_duration, size_of

    from .compile import project_root

    target = Path(args.target or ".")
    try:
        if not target.exists():
            raise UsageError(f"no such spec or project: {target}")
        older_than = parse_duration(args.older_than or "0", "--older-than")
    except (UsageError, RetentionError) as exc:
        print(f"etlc clean: {exc}", file=sys.stderr)
        return 2
    target = target.resolve()
    if target.is_dir() and _too_wide(target):
        print(f"etlc clean: will not search {target} for specs: it is / or holds home folders; "
              f"name a project folder or a spec", file=sys.stderr)
        return 2
    root = project_root(target if target.is_dir() else target.parent)
    bases, skipped, problems = staging_bases(target, root)
    for line in skipped + problems:
        print(f"etlc clean: {line}", file=sys.stderr)
    verb = "would remove" if args.dry_run else "removed"
    freed, failed, count = 0, 0, 0
    now = _dt.datetime.now(_dt.UTC)
    beside = [item for item in dataset_leftovers(target, root)
              if item.last_write + older_than <= now]
    for item in leftovers(bases, older_than) + beside:
        try:
            size = size_of(item.path)
            if not args.dry_run:
                _remove(item)
        except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
            print(f"etlc clean: could not remove {item.path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        freed += size
        count += 1
        print(f"{verb} {item.kind} {item.path} ({_show(size)})")
    print(f"etlc clean: {verb} {count} item{'s' * (count != 1)}, "
          f"{'would free' if args.dry_run else 'freed'} {freed} bytes ({_show(freed)})")
    return 1 if failed or problems else 0
