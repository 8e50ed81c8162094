#!/usr/bin/env bash
# The main job on the embedded default: the simulated 20-station network served
# over SeedLink on loopback, pulled through the feeds and run through the chain.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
exec seismo demo "$@"
