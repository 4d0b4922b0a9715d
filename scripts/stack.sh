#!/usr/bin/env bash
# Thin wrapper: scripts/stack.sh up|down|status|env [options] -- see scripts/stack.py.
# Uses the project's .venv when there is one (Airflow, Dask and etlc must be installed in it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${ETLC_PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py="python3"; fi
fi
exec "$py" "$root/scripts/stack.py" "$@"
