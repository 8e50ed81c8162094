#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine (as root): InfluxDB and
# VictoriaMetrics server packages, a virtual environment at .venv with the
# locked dependency set (requirements.lock), and seismo itself (editable).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need_apt=()
command -v influxd >/dev/null 2>&1 || need_apt+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || need_apt+=(victoria-metrics)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY="${SEISMO_PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.seismo-lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing locked dependencies (requirements.lock)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null \
    || .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.seismo-lock-*
  touch "$stamp"
fi
