"""Optional StatsD metrics: ``etlc.step.rows``, ``etlc.step.seconds``, ``etlc.step.bytes``.

Sent over UDP to ``ETLC_STATSD_HOST``:``ETLC_STATSD_PORT`` (port 8125 by default) when the
host is set.  Metrics never fail a task: every error here is swallowed.
"""

from __future__ import annotations

import os
import re
import socket

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _target() -> tuple[str, int] | None:
    host = os.environ.get("ETLC_STATSD_HOST")
    if not host:
        return None
    try:
        port = int(os.environ.get("ETLC_STATSD_PORT", "8125"))
    except ValueError:
        return None
    return host, port


def format_lines(pipeline: str, step: str, rows: int | None = None,
                 seconds: float | None = None, nbytes: int | None = None) -> list[str]:
    tags = f"#pipeline:{_SAFE.sub('_', str(pipeline))},step:{_SAFE.sub('_', str(step))}"
    lines = []
    if rows is not None:
        lines.append(f"etlc.step.rows:{int(rows)}|c|{tags}")
    if seconds is not None:
        lines.append(f"etlc.step.seconds:{float(seconds) * 1000:.3f}|ms|{tags}")
    if nbytes is not None:
        lines.append(f"etlc.step.bytes:{int(nbytes)}|c|{tags}")
    return lines


def emit_step(pipeline: str, step: str, rows: int | None = None, seconds: float | None = None,
              nbytes: int | None = None) -> bool:
    """Send the step's metrics; return True when a packet went out.  Never raises."""
    try:
        target = _target()
        if target is None:
            return False
        lines = format_lines(pipeline, step, rows, seconds, nbytes)
        if not lines:
            return False
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.settimeout(0.2)
            sock.sendto("\n".join(lines).encode("utf-8"), target)
        finally:
            sock.close()
        return True
    except Exception:  # noqa: BLE001 - metrics must never fail a task
        return False
