#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, type check, then pytest with every marker.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/stack_deps.sh  # PostgreSQL and Redis for the production-stack test
export PATH="$ROOT/.venv/bin:$PATH"
ruff check seismo dags tests benchmarks stations
mypy
exec python -m pytest "$@"
