#pragma once

// Launching a command under a Policy (bubblewrap: run_linux.cpp) and the host-side
// steps around it (host.cpp: preparing directories, copying the session branch back).
//
// The lead's supervisor does, per agent start:
//   Result<Policy> p = build_policy(inputs);     // pure
//   prepare_host(*p);                            // dirs, private refs, placeholders
//   Result<Launched> l = launch(*p, argv, fds);  // bwrap; returns at once
//   ... wait_sandboxed(*l) or kill(l->pid, SIGKILL) (everything inside dies) ...
//   sync_session_ref(*p);                        // the session branch, validated
//   restore_session_head(*p); unstage_missing_objects(*p);
//
// Host-side git on a session must never trust files the agent could write:
// run it as host_git_argv() builds it (explicit --git-dir/--work-tree, hooks
// and fsmonitor off) and call restore_session_head() first.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/fs.h"
#include "core/process.h"
#include "core/result.h"
#include "sandbox/policy.h"

namespace para::sandbox {

struct BwrapInfo {
  std::string path;     // absolute path of bwrap
  std::string version;  // "0.8.0"
};

/// Finds bwrap in PATH and checks that it is 0.8 or newer (--disable-userns).
/// The answer is cached per process. Errors: unavailable, with a message
/// that names the bubblewrap package to install.
Result<BwrapInfo> check_available();

/// Creates what the policy needs on the host: T (0700), T/tmp, S/N/, the
/// private ref directories holding the current value of the session branch,
/// the session's private object store (kept across runs),
/// the mount points under G, ~/.claude and empty placeholders for its
/// protected entries (which then move from protect_missing to protect).
/// Idempotent. The session branch's starting value (the base that
/// sync_session_ref swaps against) is written durably, unless `base` is
/// replace_only: then the caller calls make_durable(base_path(policy))
/// before the agent can run. Errors: io, not_found (the session branch does
/// not exist).
Result<void> prepare_host(Policy& policy, Sync base = Sync::durable);

/// Where prepare_host records the session branch's starting value; empty
/// for a policy without git.
std::string base_path(const Policy& policy);

struct LaunchOptions {
  int stdin_fd = -1;  // -1 = /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool new_group = true;  // bwrap in its own process group (the supervisor's choice)
};

struct Launched {
  pid_t pid = -1;   // bwrap; SIGKILL to it ends everything inside (PID namespace)
  Fd status;        // bwrap's --json-status-fd, read by wait_sandboxed
  Fd cache_layers;  // lock_cache_layers(), held while the sandbox runs
};

/// Starts bwrap with the policy's argv and environment and returns at once.
/// Fails closed: bwrap missing, para-relay or the proxy socket missing in
/// proxied mode -> unavailable. Errors: unavailable, io. The version is not
/// probed here: a bwrap too old for the argv stops before the command runs
/// and wait_sandboxed() says so.
Result<Launched> launch(const Policy& policy, const std::vector<std::string>& command,
                        const LaunchOptions& options);

/// Waits for a launched sandbox. The exit status is the command's. Errors:
/// tool_failed when bubblewrap could not set the sandbox up (its own message
/// went to the command's stderr), unavailable when that was because bwrap is
/// too old or broken (check_available()'s message), timeout (still running; the caller may
/// kill launched.pid and wait again), io.
Result<ExitStatus> wait_sandboxed(Launched& launched,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

/// Ends the sandbox and everything inside: SIGKILL to bwrap's process group
/// (which holds bwrap's set-up child until it has armed --die-with-parent)
/// and to bwrap. Requires LaunchOptions::new_group (the default). The caller
/// still reaps with wait_sandboxed.
void kill_sandbox(const Launched& launched);

/// What the sandbox left that para did not take, one sentence each, for
/// the caller to show where the user looks (the session log, finish's
/// message): objects git refused, a branch value the repository refused,
/// index entries unstaged.
using SyncNotes = std::vector<std::string>;

/// Imports the sandbox's new objects (import_sandbox_objects), then copies
/// the session branch from the sandbox's private ref directory into the
/// repository: the value must be a full object name of a commit whose new
/// history is complete in the repository, and the update is compare-and-swap
/// against the value the ref had. A refused value is a note, and the
/// private copy is set back to the branch's value. Other refs the agent
/// wrote there are ignored (and logged). No-op outside sessions or when
/// nothing changed. Errors: conflict (the branch moved in the repository
/// meanwhile and does not hold the sandbox's commit; once it does, the
/// sync succeeds), tool_failed (git), io.
Result<SyncNotes> sync_session_ref(const Policy& policy);

/// Copies the objects the sandbox wrote into its private store
/// (SessionGit::objects) that the repository lacks into the repository,
/// each named by its content and checked for form (index-pack). Objects git
/// refuses are left out, and the note says so; the rest arrives.
/// sync_session_ref calls it first.
Result<std::optional<std::string>> import_sandbox_objects(const Policy& policy);

/// Unstages the worktree's index entries that name objects the repository
/// lacks (the agent's index may name objects that were refused or never
/// existed): host-side git would fail on them. An index git cannot read is
/// reset to HEAD. Returns a note when it changed anything. Call after
/// restore_session_head. Errors: tool_failed, io.
Result<std::optional<std::string>> unstage_missing_objects(const Policy& policy);

/// Rewrites G/worktrees/N/HEAD to "ref: refs/heads/<prefix>/N" if the agent
/// pointed it elsewhere (for example at main, which a host-side commit would
/// then move). Returns whether it had to. Errors: io.
Result<bool> restore_session_head(const Policy& policy);

/// The argv for host-side git on a session's worktree: explicit --git-dir
/// and --work-tree (the worktree's .git file is agent-written content), and
/// core.hooksPath=/dev/null, core.fsmonitor=false so that nothing the agent
/// wrote runs on the host.
std::vector<std::string> host_git_argv(const Policy& policy, const std::vector<std::string>& args);

}  // namespace para::sandbox
