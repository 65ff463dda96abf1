#!/usr/bin/env bash
# ./dev bench sync: immediate sync of 10,000 4 KiB files from a local nginx vs `xargs -P8 curl`
# fetching the same files, and an on_demand sync of a 100,000-line manifest.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/sync.py" "$@"
