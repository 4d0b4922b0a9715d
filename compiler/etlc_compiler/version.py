"""The installed etlc's version (what generated files, `--version` and caches record).

Read from the first `etlc-*.dist-info/METADATA` on sys.path, as importlib.metadata finds it,
without importing importlib.metadata (a fifth of a cold `etlc run`'s start-up).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def etlc_version() -> str:
    for entry in sys.path:
        try:
            found = sorted(Path(entry or ".").glob("etlc-*.dist-info"))
        except OSError:
            continue
        for info in found:
            try:
                with (info / "METADATA").open(encoding="utf-8") as fh:
                    for line in fh:
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break
            except OSError:
                continue
    try:
        from importlib.metadata import version

        return version("etlc")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "0.0.0"
