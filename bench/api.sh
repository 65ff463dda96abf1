#!/usr/bin/env bash
# ./dev bench api: list 100 of 10,000 file contents vs livez on the same server, 32 connections.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/api.py" "$@"
