#!/usr/bin/env bash
# Installs the wa-js bundle (npm @wppconnect/wa-js, Apache-2.0) that real-WhatsApp-Web mode
# injects into the page. The simulator does not need it; a failure here is a warning, and
# starting a session against the real site then fails with a message that says to run this.
# Under CI=true it is an error instead: the suite checks the bridge against this bundle
# (tests/driver/test_wajs_offline.py), and a CI run without it would check nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${WAJS_VERSION:-4.6.0}"
target="vendor/wa-js/wppconnect-wa.js"
[ -f "$target" ] && [ "$(cat vendor/wa-js/VERSION 2>/dev/null)" = "$version" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "vendor_wajs: npm not found; real WhatsApp Web mode unavailable (the simulator works)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if (cd "$work" && npm pack --silent "@wppconnect/wa-js@$version" >/dev/null 2>&1); then
  mkdir -p vendor/wa-js
  tar -xzf "$work"/wppconnect-wa-js-*.tgz -C "$work"
  cp "$work/package/dist/wppconnect-wa.js" "$target"
  cp "$work/package/LICENSE" vendor/wa-js/LICENSE 2>/dev/null || true
  echo "$version" > vendor/wa-js/VERSION
  echo "vendor_wajs: installed @wppconnect/wa-js@$version into $target"
else
  echo "vendor_wajs: could not fetch @wppconnect/wa-js@$version; real WhatsApp Web mode unavailable" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
