#!/usr/bin/env bash
# ./dev bench upload: a 2 GiB artifact streamed through POST /artifacts/, API peak RSS, next to
# writing the same bytes straight to the same disk.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/upload.py" "$@"
