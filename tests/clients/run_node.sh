#!/usr/bin/env bash
# Runs a script with the pinned Node 22 (skips with 77 without node_modules).
#   run_node.sh SCRIPT.mjs [args...]
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/node_env.sh"
exec "$node22" "$@"
