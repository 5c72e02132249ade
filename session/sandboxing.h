#pragma once

// A session's sandbox: its PolicyInputs from the repository, the config and
// the settings stored in its state, and the host-side git steps that must
// follow a sandboxed agent (copying its branch back, restoring HEAD).

#include <string>
#include <vector>

#include "core/result.h"
#include "sandbox/policy.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The inputs that come from the config alone: deny_read (the project's
/// additions and "~/" expanded), extra_writable, forward_env, the proxy port, the
/// configured allowed domains, and the para and para-relay binaries.
/// `para sandbox run` outside sessions uses it too.
void apply_config(const Config& config, sandbox::PolicyInputs& inputs);

/// The sandbox inputs of a session. `environment` is the agent's.
sandbox::PolicyInputs policy_inputs(const Repo& repo, const SessionState& state,
                                    const std::vector<std::string>& environment);

/// The built policy of a session. Errors: invalid_argument (bad config).
Result<sandbox::Policy> session_policy(const Repo& repo, const SessionState& state,
                                       const std::vector<std::string>& environment);

/// After a sandboxed agent: copies the session branch out of the sandbox's
/// private ref directory, points the worktree's HEAD back at it and
/// unstages index entries the repository has no objects for, so that
/// host-side git (finish's commit) moves only the session branch and works.
/// Returns what was not taken (sandbox::SyncNotes), for the caller to
/// report. A no-op for sessions without a sandbox or container. Idempotent.
Result<std::vector<std::string>> settle_sandboxed_git(const Repo& repo, const SessionState& state);

/// Whether sandboxed sessions can run. Errors: unavailable naming what to
/// install; with sandbox.fail_open it returns false instead (and warns).
Result<bool> sandbox_usable(const Config& config);

}  // namespace para::session
