#!/usr/bin/env bash
# Installs what a fresh machine of this kind lacks: Debian's Chromium and chromedriver,
# a virtualenv with the pinned requirements. Safe to run every time (it skips what is there).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
[ -x /usr/lib/chromium/chromium ] || apt_missing+=(chromium)
[ -x /usr/bin/chromedriver ] || apt_missing+=(chromium-driver)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${apt_missing[*]} from Debian's packages"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing pinned requirements"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

# The bridge type check (scripts/check_bridge_types.sh): typescript and wa-js's declarations at
# the versions scripts/jscheck/package-lock.json pins. Reinstalled when the lock changes.
if command -v npm >/dev/null; then
  stamp=scripts/jscheck/node_modules/.blazz-lock.sha256
  want=$(sha256sum scripts/jscheck/package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing the bridge type check's npm packages (scripts/jscheck)"
    (cd scripts/jscheck && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
  fi
else
  echo "bootstrap: npm not found; the bridge type check and the wa-js bundle need Node.js" >&2
  [ "${CI:-}" != "true" ] || exit 1
fi
scripts/vendor_wajs.sh
