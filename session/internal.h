#pragma once

// Helpers shared by the operation files (start.cpp, resume.cpp, ...); not
// part of the session module's interface.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "session/config.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The prompt from text or a file ("-" = stdin); nullopt when neither is
/// given. Errors: invalid_argument (both given, unreadable, empty, NUL).
Result<std::optional<std::string>> load_prompt(const std::optional<std::string>& text,
                                               const std::optional<std::string>& file,
                                               const std::string& cwd);

/// Checks that the agent program exists. Errors: unavailable with what to do.
Result<void> check_agent_command(const std::vector<std::string>& argv);

/// The archived sessions, newest first: [{name, branch, archived_at}].
nlohmann::json archives_json(const Repo& repo);

/// Archived branches past the retention (session.auto_cleanup_days, and
/// beyond session.max_archives), oldest last.
std::vector<std::string> expired_archives(const Repo& repo);

/// A free archive branch name for session `name`: <prefix>/archived/<UTC
/// time>/<name>, one second later per archive of the same name already
/// taken at that time (two cancels in one second must not collide).
std::string new_archive_name(const Repo& repo, const std::string& name);

/// Where the session branch left its parent branch (else the repository's
/// HEAD): the merge base, or "" when there is none.
std::string base_commit(const Repo& repo, const SessionState& s);

/// The last `n` lines of a file, reading at most 4 MiB from its end, and
/// whether earlier lines were left out. Empty when it cannot be read.
std::pair<std::vector<std::string>, bool> tail_lines(const std::string& path, size_t n);

/// Completes a cancel whose intent (status Cancelled, archived_branch) is
/// recorded: stops the agent, removes the worktree, archives the branch and
/// deletes the session's files. Used by cancel and by clean.
Result<void> complete_cancel(const Repo& repo, const SessionState& state);

}  // namespace para::session
