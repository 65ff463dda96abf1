#!/usr/bin/env bash
# ./dev bench content: 4 KiB and 1 MiB files through a distribution vs nginx serving the same
# files from disk, in the same run (wrk, 32 connections).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/content.py" "$@"
