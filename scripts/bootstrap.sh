#!/usr/bin/env bash
# Installs what a fresh machine of this kind lacks: Debian's Chromium and chromedriver,
# a virtualenv with the pinned requirements. Safe to run every time (it skips what is there).
#   scripts/bootstrap.sh               development and tests: requirements-dev.txt (the runtime
#                                      set plus test tools, the simulator, honcho) and the
#                                      bridge type check's npm packages
#   scripts/bootstrap.sh --production  a server: requirements.txt only (deploy/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
production=false
case "${1:-}" in
  --production) production=true ;;
  "") ;;
  *) echo "usage: scripts/bootstrap.sh [--production]" >&2; exit 2 ;;
esac
requirements=requirements-dev.txt
[ "$production" = false ] || requirements=requirements.txt

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
want="$requirements $(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the pinned $requirements"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

# The bridge type check (scripts/check_bridge_types.sh): typescript and wa-js's declarations at
# the versions scripts/jscheck/package-lock.json pins. Reinstalled when the lock changes.
# A development tool: a server does not need it.
if [ "$production" = true ]; then
  :
elif command -v npm >/dev/null; then
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
