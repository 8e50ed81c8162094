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
  need_apt=()
  [ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  if [ ${#need_apt[@]} -gt 0 ]; then
    echo "stack: installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi
export PATH="$ROOT/.venv/bin:$PATH"
exec seismo stack "$@"
