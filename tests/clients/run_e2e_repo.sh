#!/usr/bin/env bash
# Runs a Node client against para-mcp-server serving a fresh git repository
# (one commit on main) with an isolated HOME, over stdio or HTTP:
#
#   run_e2e_repo.sh stdio|http SERVER_BIN CLIENT.mjs [CLIENT ARGS...]
#
# The client is run as `CLIENT ARGS... stdio SERVER_BIN --stdio --repo REPO`
# or `CLIENT ARGS... http URL`: the SDK end-to-end client (e2e_client.mjs
# PLAN.json) and the MCP Inspector checks (inspector_checks.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/node_env.sh"
mode="${1:?usage: run_e2e_repo.sh stdio|http SERVER_BIN CLIENT.mjs [ARGS...]}"
server="$(realpath "$2")"
client="$(realpath "$3")"
shift 3
client_args=()
for a in "$@"; do client_args+=("$(realpath -e "$a" 2>/dev/null || echo "$a")"); done

work="$(mktemp -d -t para-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=para-test GIT_AUTHOR_EMAIL=test@para.invalid
export GIT_COMMITTER_NAME=para-test GIT_COMMITTER_EMAIL=test@para.invalid
mkdir -p "$HOME/.config/para" "$work/repo"
# The SDK's stdio transport passes only a few variables (HOME, PATH, ...) to
# the server, so the commit identity lives in the isolated ~/.gitconfig.
printf '[user]\n\tname = para-test\n\temail = test@para.invalid\n' >"$HOME/.gitconfig"
# The agent para starts: a script that writes into its worktree (harmless
# for servers without para's tools).
mkdir -p "$HOME/agents"
cp "$here/e2e_agent.sh" "$HOME/agents/e2e_agent.sh"
printf '[agent]\ncommand = ["%s", "{prompt_file}"]\n' "$HOME/agents/e2e_agent.sh" \
  >"$HOME/.config/para/config.toml"
git -C "$work/repo" init -q -b main
echo "# e2e" >"$work/repo/README.md"
git -C "$work/repo" add README.md
git -C "$work/repo" commit -q -m "initial commit"
cd "$work/repo"

# Not exec: the trap removes the repository afterwards.
rc=0
if [[ "$mode" == stdio ]]; then
  "$node22" "$client" "${client_args[@]}" stdio "$server" --stdio --repo "$work/repo" || rc=$?
else
  "$here/with_http_server.sh" "$server" --repo "$work/repo" -- \
    "$node22" "$client" "${client_args[@]}" http '{url}' || rc=$?
fi
exit "$rc"
