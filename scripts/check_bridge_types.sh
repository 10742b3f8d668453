#!/usr/bin/env bash
# Type-checks sessions_app/webjs/bridge.js against the declarations of the pinned wa-js
# (scripts/jscheck: typescript + @wppconnect/wa-js at exact versions, installed by
# scripts/bootstrap.sh). A WPP member the bridge calls that wa-js does not declare, or a call
# with the wrong number of arguments, fails here instead of on a customer's phone.
set -euo pipefail
cd "$(dirname "$0")/.."
tsc=scripts/jscheck/node_modules/.bin/tsc
if [ ! -x "$tsc" ]; then
  echo "check_bridge_types: $tsc is missing; run scripts/bootstrap.sh" >&2
  exit 2
fi
exec "$tsc" -p scripts/jscheck/tsconfig.json --noEmit --pretty false
