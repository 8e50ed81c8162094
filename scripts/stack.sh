#!/usr/bin/env bash
# The production stack on this machine (docs/production.md), as root from a clone:
#   bash scripts/stack.sh up        install (Debian: postgresql, redis-server) and start
#   bash scripts/stack.sh status    every service with PID, health and log
#   bash scripts/stack.sh check     a scenario earthquake through the running stack
#   bash scripts/stack.sh down      stop everything (the data stay in var/stack)
#   bash scripts/stack.sh backup | restore [--name NAME]
#   bash scripts/stack.sh hold SERVICE SECONDS    a planned outage of one service
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = "up" ]; then
  bash scripts/setup.sh
  bash scripts/stack_deps.sh
fi
export PATH="$ROOT/.venv/bin:$PATH"
exec seismo stack "$@"
