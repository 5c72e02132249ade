#pragma once

// Setup scripts (para's chain): --setup-script, then .para/setup-worktree.sh,
// then .para/setup.sh, then the config's setup_script. They run on the host,
// unsandboxed (they are the user's own files; .para/ is read-only to
// sandboxed agents), in the worktree, with PARA_WORKSPACE and PARA_SESSION.

#include <optional>
#include <string>

#include "core/result.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The script to run, or nullopt. Errors: not_found for an explicit script
/// (or a configured one) that does not exist.
Result<std::optional<std::string>> find_setup_script(
    const Repo& repo, const std::optional<std::string>& explicit_path, const std::string& cwd);

/// Runs `bash <script>` in the worktree, appending its output to the session
/// log. Errors: tool_failed (non-zero exit, with the log path), timeout.
Result<void> run_setup_script(const Repo& repo, const SessionState& state,
                              const std::string& script);

}  // namespace para::session
