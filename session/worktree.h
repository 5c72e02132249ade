#pragma once

// Session worktrees: creating, repairing and removing them, and the files
// para keeps beside each one.

#include <optional>
#include <string>
#include <string_view>

#include "core/fs.h"
#include "core/result.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The GitTarget for git commands inside a session's worktree (explicit
/// admin dir and work tree; see git.h). Errors: not_found when git has no
/// registration for the worktree (para resume repairs it).
Result<GitTarget> worktree_target(const Repo& repo, const SessionState& state);

/// git's worktree bookkeeping is not safe against concurrent writers: `git
/// worktree add` reads every other worktree's admin directory and `prune`
/// removes half-created ones. Commands that add, remove, prune or rename a
/// checked-out branch hold this lock exclusively; readers of the worktree
/// list hold it shared.
Result<FileLock> lock_worktrees(const Repo& repo, FileLock::Mode mode);

/// Runs a git command under the worktrees lock: branch renames and deletes
/// (git checks every worktree's HEAD for those) and worktree prune.
Result<void> git_locked(const Repo& repo, const std::vector<std::string>& args);

/// Registers the worktree of a session at its normal path, with no files
/// checked out yet: on a new branch from `base` when new_branch, else on the
/// existing branch. Records the admin directory in `state`. Errors:
/// tool_failed with git's message; on any error the branch may exist (the
/// caller's rollback deletes it).
Result<void> register_worktree(const Repo& repo, SessionState& state, bool new_branch,
                               const std::string& base);

/// Checks out the files of a registered worktree (git reset --hard).
Result<void> check_out_worktree(const SessionState& state);

/// register_worktree, then check_out_worktree.
Result<void> add_worktree(const Repo& repo, SessionState& state, bool new_branch,
                          const std::string& base);

/// Whether `path` is a direct child of the worktrees directory (resolved:
/// symlinks and spellings do not matter).
bool inside_subtrees_dir(const Repo& repo, const std::string& path);

/// Removes a worktree and its registration, whatever state it is in (also
/// half-deleted or locked). Idempotent. It is first renamed aside, to
/// <worktrees dir>/<kRemovingPrefix><name>.<pid>, so that no half-deleted
/// tree is ever left at `path`. Errors: conflict when `path` exists outside
/// the worktrees directory: nothing else is ever deleted.
Result<void> remove_worktree(const Repo& repo, const std::string& path);
inline constexpr std::string_view kRemovingPrefix = ".removing-";

/// What `git worktree prune` does, for para's worktrees only: drops the
/// registrations whose directory in the worktrees directory is gone. A
/// user's own worktree on a disk that is not mounted keeps its registration
/// (and its index). The caller holds the worktrees lock.
void prune_para_registrations(const Repo& repo);

/// Writes the files a new or resumed session needs: the status directory
/// and its para-compatible link, and CLAUDE.local.md in the worktree.
Result<void> write_session_files(const Repo& repo, const SessionState& state);

/// Whether submodules were initialised in the worktree: their repositories
/// (and commits made in them) live in its admin directory, which removing
/// the worktree deletes, so such a worktree is kept.
bool holds_submodule_repos(const Repo& repo, const SessionState& state);

/// Where the worktree's HEAD points when that is not the session's branch
/// ("detached at 1a2b3c…", "on branch other"); nullopt when it is on the
/// branch or the worktree is not registered. Work committed there would not
/// reach the session's branch.
std::optional<std::string> head_elsewhere(const Repo& repo, const SessionState& state);

/// Whether the worktree has uncommitted changes; the list of paths.
Result<std::vector<std::string>> uncommitted_changes(const Repo& repo, const SessionState& state);

}  // namespace para::session
