#!/usr/bin/env bash
# Starts an MCP server over Streamable HTTP on a free loopback port, runs a
# command with every "{url}" in its arguments replaced by the endpoint
# (http://localhost:PORT/mcp), then stops the server (its whole process
# group). Exits with the command's status; prints the server's log when the
# command failed.
#
#   with_http_server.sh SERVER [server args...] -- COMMAND [args...]
#
# The server must accept "--http 127.0.0.1:0" and print a line containing
# "listening on http://HOST:PORT/mcp" to stderr (para-mcp-server and
# mcp-conformance-fixture do).
set -euo pipefail

server=()
while (($#)) && [[ "$1" != "--" ]]; do server+=("$1"); shift; done
[[ "${1:-}" == "--" ]] || { echo "usage: $0 SERVER [args] -- COMMAND [args]" >&2; exit 2; }
shift
command=("$@")

log="$(mktemp -t mcp-server-log.XXXXXX)"
setsid "${server[@]}" --http 127.0.0.1:0 2>"$log" </dev/null &
pid=$!
server_rc=""
# SIGTERM, then the server's exit status (a sanitizer report makes it
# non-zero); SIGKILL only if it did not stop within 5 s.
stop_server() {
  [[ -n "$server_rc" ]] && return
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  server_rc=0
  wait "$pid" 2>/dev/null || server_rc=$?
}
trap 'stop_server; rm -f "$log"' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'listening on http://[^ ]*' "$log" | head -1 | sed 's/^listening on //')" || true
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "the server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "the server did not start listening within 10 s:" >&2; cat "$log" >&2; exit 1; }
url="${url/127.0.0.1/localhost}"

args=()
for a in "${command[@]}"; do args+=("${a//\{url\}/$url}"); done
set +e
"${args[@]}"
rc=$?
set -e
stop_server
if ((rc == 0 && server_rc != 0)); then
  echo "the server exited with status $server_rc after SIGTERM" >&2
  rc=1
fi
if ((rc != 0)); then
  echo "---- server log ($url) ----" >&2
  tail -n 50 "$log" >&2
fi
exit "$rc"
