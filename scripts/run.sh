#!/usr/bin/env bash
# One command for the whole product on this machine: install what is missing, prepare the
# database, create the demo login, then run every Procfile process with honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/vendor_wajs.sh || true
export PATH="$PWD/.venv/bin:$PATH"
python manage.py preflight
python manage.py migrate --noinput -v 0
python manage.py check
demo_line=$(python manage.py demo_workspace)
port="${BLAZZ_PORT:-8000}"
cat <<MSG

  Blazz is starting on http://127.0.0.1:${port}/
  Admin:  http://127.0.0.1:${port}/admin/
  ${demo_line}
  Stop with Ctrl-C.

MSG
export BLAZZ_PORT="$port"
exec honcho start -f Procfile
