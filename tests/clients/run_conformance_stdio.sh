#!/usr/bin/env bash
# The conformance suite (0.1.16, active) against a server's *stdio*
# transport, bridged to Streamable HTTP by supergateway (pinned). Every
# scenario's JSON-RPC then flows through our stdio framing and dispatch.
# dns-rebinding-protection tests the bridge's own HTTP layer, which has no
# Host/Origin check, so it is the one expected failure here (our HTTP
# transport passes it in the other conformance tests).
#
# The bridge listens on every interface, so the whole run happens in a new,
# empty network namespace that has only loopback.
#
#   run_conformance_stdio.sh SERVER [args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/node_env.sh"

if [[ "${PARA_IN_NETNS:-}" != 1 ]]; then
  if ! unshare --net true 2>/dev/null || ! command -v ip >/dev/null; then
    echo "SKIP: cannot create a network namespace (needs root and iproute2)" >&2
    exit 77
  fi
  exec env PARA_IN_NETNS=1 unshare --net -- "$0" "$@"
fi
ip link set lo up

port=3104
printf -v server_command '%q ' "$@"
setsid "$node22" "$node_modules/supergateway/dist/index.js" --stdio "$server_command" \
  --outputTransport streamableHttp --stateful --port "$port" --logLevel none </dev/null &
pid=$!
trap 'kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
timeout 300 "$node22" "$node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
  --url "http://localhost:$port/mcp" --expected-failures "$here/stdio-bridge-baseline.yml"
