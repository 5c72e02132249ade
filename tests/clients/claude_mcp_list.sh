#!/usr/bin/env bash
# Claude Code (npm @anthropic-ai/claude-code, pinned) as a third-party MCP
# client: registers para-mcp-server over stdio and over HTTP in a throwaway
# HOME and checks that `claude mcp list` reports both as connected. Offline:
# no login, no model call; `mcp list` only connects and initializes.
# (Its exit code is 0 even for failed servers, so the output is checked.)
#
#   claude_mcp_list.sh SERVER_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/node_env.sh"
claude="$node_modules/@anthropic-ai/claude-code/bin/claude.exe"
[[ -x "$claude" ]] || { echo "SKIP: $claude is missing (npm ci in tests/clients)" >&2; exit 77; }

# Only loopback servers are configured; non-essential traffic is disabled.
run_claude() {
  env -i "HOME=$PARA_CLAUDE_WORK/home" "PATH=/usr/local/bin:/usr/bin:/bin" \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
    timeout 60 "$claude" "$@"
}

if [[ "${1:-}" == "--check" ]]; then
  # Second stage, run by with_http_server.sh with the HTTP server's URL.
  cd "$PARA_CLAUDE_WORK/repo"
  run_claude mcp add -s user --transport http para-http "$2" >/dev/null
  out="$(run_claude mcp list 2>&1)" || true
  echo "$out"
  passed=0 failed=0
  for name in para-stdio para-http; do
    if grep -q "^$name: .*Connected" <<<"$out"; then
      echo "PASS claude mcp list: $name connected"; passed=$((passed + 1))
    else
      echo "FAIL claude mcp list: $name is not connected"; failed=$((failed + 1))
    fi
  done
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit
fi

server="$(realpath "${1:?usage: claude_mcp_list.sh SERVER_BIN}")"
PARA_CLAUDE_WORK="$(mktemp -d -t para-claude.XXXXXX)"
export PARA_CLAUDE_WORK
trap 'rm -rf "$PARA_CLAUDE_WORK"' EXIT
mkdir -p "$PARA_CLAUDE_WORK/home" "$PARA_CLAUDE_WORK/repo"
git -C "$PARA_CLAUDE_WORK/repo" init -q
cd "$PARA_CLAUDE_WORK/repo"
run_claude mcp add -s user para-stdio -- "$server" --stdio --repo "$PARA_CLAUDE_WORK/repo" >/dev/null
"$here/with_http_server.sh" "$server" --repo "$PARA_CLAUDE_WORK/repo" -- "$here/claude_mcp_list.sh" --check '{url}'
