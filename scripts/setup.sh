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
# the console's browser tests drive Debian's Chromium (a browser download fails here)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# npm vendors the console's map code below
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
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

# The console's map code and coastlines, vendored from npm into a git-ignored folder
# (no CDN or tile server at run time): Leaflet (BSD-2-Clause) and world-atlas (Natural
# Earth 1:10m and 1:50m land and borders, public domain; ISC). The console cuts the
# world-atlas files to the network's region itself (seismo/web/basemap.py); pages never
# load them whole.
VENDOR=seismo/web/static/vendor
NPM_PKGS="leaflet@1.9.4 world-atlas@2.0.2"
ATLAS_FILES="countries-10m.json countries-50m.json"
vstamp="$VENDOR/.stamp-$(echo "$NPM_PKGS $ATLAS_FILES" | sha256sum | cut -c1-16)"
if [ ! -f "$vstamp" ]; then
  echo "setup: vendoring the console's map code from npm ($NPM_PKGS)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm install --silent --no-audit --no-fund --no-save $NPM_PKGS >/dev/null)
  rm -rf "$VENDOR" && mkdir -p "$VENDOR/leaflet"
  cp -r "$tmp/node_modules/leaflet/dist/leaflet.js" "$tmp/node_modules/leaflet/dist/leaflet.css" \
        "$tmp/node_modules/leaflet/dist/images" "$tmp/node_modules/leaflet/LICENSE" "$VENDOR/leaflet/"
  for f in $ATLAS_FILES; do cp "$tmp/node_modules/world-atlas/$f" "$VENDOR/"; done
  cp "$tmp/node_modules/world-atlas/LICENSE" "$VENDOR/LICENSE.world-atlas"
  rm -rf "$tmp"
  touch "$vstamp"
fi
