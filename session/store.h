#pragma once

// Locked access to a repository's session files.
//
// Two locks per session, both flock(2) files in the state directory (which a
// sandboxed agent cannot write): the session lock serialises operations
// (start, finish, cancel, resume, recover) and may be held for seconds; the
// state lock guards one read-modify-write of the .state file and is held for
// microseconds. The supervisor only ever takes the state lock, so an
// operation holding the session lock can wait for the supervisor to exit.

#include <functional>
#include <string>
#include <vector>

#include "core/fs.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// Takes the session lock. Errors: conflict when another para command holds
/// it past the timeout (names the session and what to do), io.
Result<FileLock> lock_session(const Repo& repo, const std::string& name,
                              std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Loads a session's state. Errors: not_found (with the sessions that do
/// exist), invalid_argument (corrupt).
Result<SessionState> read_session(const Repo& repo, const std::string& name);

/// Applies `change` to the freshest state under the state lock and saves it.
/// Returns the saved state. Errors: not_found, invalid_argument, io.
Result<SessionState> update_session(const Repo& repo, const std::string& name,
                                    const std::function<void(SessionState&)>& change);

/// Writes a state as a whole (creating it) under the state lock.
Result<void> write_session(const Repo& repo, const SessionState& state);

/// Names of every session with a .state file, sorted.
std::vector<std::string> session_names(const Repo& repo);

/// Removes every file of a session from the state directory (state last),
/// and its runtime directory.
void remove_session_files(const Repo& repo, const std::string& name);

/// Removes what the session's sandboxes wrote outside its worktree: the
/// agent's temp directory and its tool caches' layers (the runtime
/// directory's tmp/ and caches/). For a session whose agent is stopped and
/// whose worktree is gone (finished); a resume starts with empty ones.
void remove_session_scratch(const Repo& repo, const std::string& name);

}  // namespace para::session
