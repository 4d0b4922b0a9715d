#!/usr/bin/env python3
"""The native etlc stack: the services of docker/ without Docker (the code is the
``native_stack`` package beside this file; its docstring says what runs where).

    python scripts/stack.py up [--celery] [--sqlite] [--no-mlflow] [--dags-folder DIR]  (--help)
    python scripts/stack.py status [--json]
    python scripts/stack.py down
    python scripts/stack.py env          # shell exports for `etlc run` against the stack
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # when loaded by path, not run

from native_stack.cli import main

if __name__ == "__main__":
    sys.exit(main())
