"""The native stack's processes: each service is started in a session of its own with its pid
under ``pids/`` and its output in ``logs/<service>.log``, and stopped by its process group
(so that children such as LocalExecutor workers and Dask nannies end with it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from .settings import ROOT, Settings


def pid_file(s: Settings, name: str) -> Path:
    return s.state / "pids" / f"{name}.pid"


def log_file(s: Settings, name: str) -> Path:
    return s.state / "logs" / f"{name}.log"


def read_pid(s: Settings, name: str) -> int | None:
    try:
        return int(pid_file(s, name).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def start(s: Settings, name: str, argv: list[str], env: dict[str, str]) -> int:
    if alive(read_pid(s, name)):
        print(f"  {name}: already running (pid {read_pid(s, name)})")
        return read_pid(s, name)  # type: ignore[return-value]
    log = open(log_file(s, name), "ab")  # noqa: SIM115 - handed to the child
    log.write(f"\n=== {time.strftime('%F %T')} {' '.join(argv)}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, cwd=str(ROOT), start_new_session=True,
    )
    log.close()
    pid_file(s, name).write_text(str(proc.pid))
    print(f"  {name}: started (pid {proc.pid}, log {log_file(s, name)})")
    return proc.pid


def stop(s: Settings, name: str, grace: float = 20.0) -> None:
    pid = read_pid(s, name)
    if not alive(pid):
        pid_file(s, name).unlink(missing_ok=True)
        return
    assert pid is not None
    try:
        os.killpg(pid, signal.SIGTERM)  # the child leads its own session and process group
    except ProcessLookupError:
        pass
    t0 = time.monotonic()
    deadline = t0 + grace
    while time.monotonic() < deadline and group_alive(pid):
        time.sleep(0.2)
    if group_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        print(f"  {name}: killed (did not stop within {grace:.0f}s)")
    else:
        print(f"  {name}: stopped ({time.monotonic() - t0:.1f}s)")
    pid_file(s, name).unlink(missing_ok=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # only zombies left?
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_until(check, timeout: float, what: str, s: Settings | None = None,
               watch: list[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for name in watch or []:
            if s is not None and not alive(read_pid(s, name)):
                tail = tail_log(s, name)
                raise SystemExit(f"error: {name} exited while waiting for {what}\n{tail}")
        time.sleep(1)
    raise SystemExit(f"error: timed out after {timeout:.0f}s waiting for {what}")


def tail_log(s: Settings, name: str, lines: int = 30) -> str:
    try:
        text = log_file(s, name).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"    | {line}" for line in text[-lines:])
