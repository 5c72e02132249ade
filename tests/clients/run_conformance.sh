#!/usr/bin/env bash
# Runs the official MCP conformance suite against a server over Streamable
# HTTP, bounded in time.
#
#   run_conformance.sh [--alpha] [--scenarios a,b,c] [--timeout S] SERVER [args] [-- SUITE ARGS]
#
# --alpha       use @modelcontextprotocol/conformance 0.2.0-alpha (else 0.1.16)
# --scenarios   run these scenarios one by one (else the whole suite run
#               with SUITE ARGS, e.g. "--suite all" or "--requirements 2025-11-25")
# --timeout     seconds for the whole run (0.1.16 has no per-scenario timeout)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/node_env.sh"

package="@modelcontextprotocol/conformance"
scenarios=""
timeout_s=300
while (($#)); do
  case "$1" in
    --alpha) package="conformance-alpha"; shift ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    *) break ;;
  esac
done
server=()
while (($#)) && [[ "$1" != "--" ]]; do server+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
suite_args=("$@")
cli=("$node22" "$node_modules/$package/dist/index.js" server --url "{url}")

if [[ -z "$scenarios" ]]; then
  exec "$here/with_http_server.sh" "${server[@]}" -- timeout "$timeout_s" "${cli[@]}" "${suite_args[@]}"
fi
# One scenario at a time against the same server; a summary line at the end.
IFS=',' read -r -a list <<<"$scenarios"
script='passed=0; failed=0
for s in "$@"; do
  if out="$(timeout 120 "${CLI[@]}" --scenario "$s" 2>&1)"; then
    passed=$((passed + 1)); echo "✓ $s: $(grep -o "Passed: .*" <<<"$out")"
  else
    failed=$((failed + 1)); echo "✗ $s"; echo "$out"
  fi
done
echo "scenarios: $passed passed, $failed failed"
((failed == 0))'
exec "$here/with_http_server.sh" "${server[@]}" -- \
  bash -c 'CLI=("${@:1:5}"); shift 5; '"$script" runner "${cli[@]}" "${list[@]}"
