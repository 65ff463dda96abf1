#!/usr/bin/env bash
# ./dev bench tasks: deferred and immediate no-op task throughput over REST, dispatch latency,
# and pgbench -N on the same Postgres in the same run.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/tasks.py" "$@"
