#!/bin/sh
# The agent of the SDK end-to-end test (run_e2e_repo.sh configures it): it
# copies its prompt into the worktree, reports status through para, works
# long enough for para_wait to send progress, and exits 0.
set -eu
cp "$1" prompt-seen.txt
echo "agent-wrote-this" > work.txt
"$PARA_BIN" status "writing work.txt" --tests passed --todos 1/1
sleep 3
echo "agent done"
