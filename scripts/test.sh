#!/usr/bin/env bash
# The whole test suite against this machine's real PostgreSQL and Redis (and, for browser
# tests, real headless Chromium). Fails when a test fails or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# Tests use their own Redis databases so a running demo is never flushed or confused.
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/10}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/11}"
export CHANNEL_LAYER_URL="${TEST_CHANNEL_LAYER_URL:-redis://127.0.0.1:6379/12}"
export BLAZZ_DATA_DIR="${BLAZZ_DATA_DIR:-$PWD/var/test}"
python manage.py preflight
ruff check .
ruff format --check .
bandit -r accounts blazz campaigns messaging sessions_app health wasim -q
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test: no test was collected or run; that is a failure" >&2
  exit 1
fi
exit "$status"
