#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, type check, then pytest with every marker.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
ruff check seismo dags tests benchmarks stations
mypy
exec python -m pytest "$@"
