#pragma once

// git, always as an argv vector: `git -C <dir> ...` for the main repository,
// and `git --git-dir=<admin dir> --work-tree=<worktree> ...` for session
// worktrees, whose `.git` file the agent can rewrite. Every invocation gets
// a fixed locale, no terminal prompts, and hooks and fsmonitor disabled on
// the command line (which outranks every config file), so that nothing an
// agent wrote into its worktree runs on the host.

#include <optional>
#include <string>
#include <vector>

#include "core/process.h"
#include "core/result.h"

namespace para::session {

struct GitOptions {
  std::optional<std::string> stdin_data;
  std::vector<std::string> extra_env;  // "K=V" added to the environment
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

/// Where a git command runs: the main repository, or a session worktree
/// addressed by its admin directory and work tree.
struct GitTarget {
  std::string dir;        // -C <dir> (main repository) when git_dir is empty
  std::string git_dir;    // --git-dir (worktree admin dir, <common>/worktrees/<name>)
  std::string work_tree;  // --work-tree
  static GitTarget repo(std::string dir) { return GitTarget{std::move(dir), {}, {}}; }
  static GitTarget worktree(std::string git_dir, std::string work_tree) {
    return GitTarget{{}, std::move(git_dir), std::move(work_tree)};
  }
};

/// Runs git. A non-zero exit is returned as a Completed, not an error.
/// Errors: unavailable (git not installed), timeout, io.
Result<Completed> git_run(const GitTarget& where, const std::vector<std::string>& args,
                          const GitOptions& options = {});

/// Runs git and returns stdout with the trailing newline removed. A non-zero
/// exit is an error (tool_failed) whose message carries git's stderr.
Result<std::string> git_out(const GitTarget& where, const std::vector<std::string>& args,
                            const GitOptions& options = {});

/// Runs git for its effect; a non-zero exit is a tool_failed error.
Result<void> git_ok(const GitTarget& where, const std::vector<std::string>& args,
                    const GitOptions& options = {});

struct RepoLocation {
  std::string toplevel;    // the work tree containing the directory
  std::string common_dir;  // the shared .git directory (absolute)
  std::string main_root;   // the main worktree: parent of common_dir
  bool in_linked_worktree = false;
};

/// Finds the repository that contains `dir`. Errors: not_found ("not a git
/// repository" with what to do), unavailable (no git).
Result<RepoLocation> git_discover(const std::string& dir);

/// The branch checked out in a work tree, or nullopt when HEAD is detached.
/// Errors: conflict when the repository has no commits yet.
Result<std::optional<std::string>> git_current_branch(const GitTarget& where);
/// git_current_branch of the main work tree, read from <common_dir>/HEAD and
/// the ref files when they are plain (no git process), else from git.
Result<std::optional<std::string>> git_main_branch(const std::string& common_dir,
                                                   const GitTarget& main);

/// Whether a local branch name is taken, from git's ref files (loose ref or
/// packed-refs) without running git. A directory of branches below the
/// name (para/x/y for para/x) counts: git cannot create the name either.
bool git_branch_exists(const std::string& common_dir, const std::string& branch);

/// The full object name a local branch points at, from git's ref files
/// (loose ref, else packed-refs) without running git; nullopt when the
/// branch does not exist or its ref is not a plain object name.
std::optional<std::string> git_read_branch(const std::string& common_dir,
                                           const std::string& branch);

/// The commit a ref points to, or nullopt if it does not exist.
Result<std::optional<std::string>> git_resolve(const GitTarget& where, const std::string& ref);

struct WorktreeEntry {
  std::string path;
  std::string head;
  std::string branch;  // "refs/heads/..." or empty when detached
  bool locked = false;
  bool prunable = false;
};
Result<std::vector<WorktreeEntry>> git_worktrees(const GitTarget& repo);

/// Local branch names (without refs/heads/) under a prefix ("para/").
Result<std::vector<std::string>> git_branches(const GitTarget& repo, const std::string& prefix);

struct StatusEntry {
  std::string code;  // the two XY letters of porcelain v1 ("??", " M", "A ")
  std::string path;
};
/// Every change in a work tree, untracked files included (ignored excluded).
Result<std::vector<StatusEntry>> git_status(const GitTarget& work_tree);

/// `git add --all` in a session's work tree, except the gitlinks (submodules,
/// embedded repositories) already in its index: checking whether one changed
/// runs git inside it, under config and attributes the agent wrote there
/// (a clean filter is code run on the host). A new embedded repository is
/// still added (that only reads its HEAD); moving a submodule's recorded
/// commit needs an explicit `git add PATH` by the agent.
Result<void> git_add_all(const GitTarget& work_tree, const GitOptions& options = {});

}  // namespace para::session
