"""A fork server for the commit-protocol tests: real processes, killed with SIGKILL.

Run as a script, it imports pandas, pyarrow and the writer once, then reads one JSON command
per stdin line: ``{"writes": [write, ...], "fault": "N" | "<point>" | null,
"fault_log": path | null, "exchange": bool}``.  It forks one child per write (all at once, so
several writes race), each child runs ``io_write.write_dataset`` with ``ETLC_FAULT_AT`` set,
and it answers one JSON line: ``{"status": [exit code, or -signal, per child]}``.  The server
itself never writes, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import pandas as pd
import pyarrow.parquet  # noqa: F401  (imported once, before the forks)
from etlc_runtime import commit, io_write
from etlc_runtime.templating import macros

DTYPES = {"id": "Int64", "g": "string", "v": "Float64"}


def frame(rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for name, dtype in DTYPES.items():
        if name in df.columns:
            df[name] = df[name].astype(dtype)
    if "ts" in df.columns:
        df["ts"] = pd.to_datetime(df["ts"])
    return df


def child(write: dict, fault: str | None, fault_log: str | None, exchange: bool) -> None:
    if fault:
        os.environ[commit.FAULT_ENV] = fault
    if fault_log:
        os.environ[commit.FAULT_LOG_ENV] = fault_log
    commit.use_exchange = exchange
    os.environ["ETLC_PROJECT_ROOT"] = write["root"]
    io_write.write_dataset(frame(write["rows"]), write["dataset"], write["mode"],
                           macros("r", "2025-01-02", {}), write["root"], write["key"])


def main() -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        pids = []
        for write in cmd["writes"]:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    child(write, cmd.get("fault"), cmd.get("fault_log"),
                          cmd.get("exchange", True))
                except Exception:  # noqa: BLE001 - the child reports any failure as exit 1
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        status = []
        for pid in pids:
            _, raw = os.waitpid(pid, 0)
            status.append(os.waitstatus_to_exitcode(raw))
        print(json.dumps({"status": status}), flush=True)


if __name__ == "__main__":
    main()
