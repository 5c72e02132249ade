#pragma once

// A repository as para sees it: the main work tree, its shared .git
// directory, the merged config, and where every session file lives.
//
// Layout (para's, plus ours):
//   <root>/<subtrees_dir>/<name>          the session's worktree
//   <root>/<state_dir>/<name>.state       session state (JSON, para's fields)
//   <root>/<state_dir>/<name>.status.json -> <name>/status.json  (agent status)
//   <root>/<state_dir>/<name>/            the one directory a sandboxed agent may write
//   <root>/<state_dir>/<name>.log         the agent's output
//   <root>/<state_dir>/<name>.network.log the proxy's decisions (JSON lines)
//   <root>/<state_dir>/<name>.task        the prompt
//   <root>/<state_dir>/.locks/<name>.lock the session lock (and .state.lock)
//   ${TMPDIR:-/tmp}/para-<uid>/<hash>-<name>/  runtime: proxy socket, TMPDIR

#include <optional>
#include <string>

#include "core/result.h"
#include "session/config.h"
#include "session/git.h"

namespace para::session {

class Repo {
 public:
  std::string root;        // the main work tree
  std::string common_dir;  // the shared .git directory
  Config config;

  std::string para_dir() const { return root + "/.para"; }
  std::string state_dir() const { return root + "/" + config.state_dir; }
  std::string subtrees_dir() const { return root + "/" + config.subtrees_dir; }
  std::string worktree_path(const std::string& name) const { return subtrees_dir() + "/" + name; }
  std::string state_path(const std::string& name) const {
    return state_dir() + "/" + name + ".state";
  }
  std::string status_link(const std::string& name) const {
    return state_dir() + "/" + name + ".status.json";
  }
  std::string session_dir(const std::string& name) const { return state_dir() + "/" + name; }
  std::string status_path(const std::string& name) const {
    return session_dir(name) + "/status.json";
  }
  std::string log_path(const std::string& name) const { return state_dir() + "/" + name + ".log"; }
  std::string network_log_path(const std::string& name) const {
    return state_dir() + "/" + name + ".network.log";
  }
  std::string task_path(const std::string& name) const {
    return state_dir() + "/" + name + ".task";
  }
  /// Lock files live apart and are never deleted: deleting a lock file that
  /// another process has open would let two holders in.
  std::string locks_dir() const { return state_dir() + "/.locks"; }
  /// Written when para creates the state directory. Without it (a
  /// directory of the user's, set as directories.state_dir), para clean
  /// removes no file there that merely looks like para's.
  std::string state_owner_marker() const { return state_dir() + "/.para-made"; }
  bool owns_state_dir() const;
  /// Whether `path` lies in .para/ (para's own, whatever is in it).
  bool inside_para_dir(const std::string& path) const;
  std::string lock_path(const std::string& name) const {
    return locks_dir() + "/" + name + ".lock";
  }
  std::string state_lock_path(const std::string& name) const {
    return locks_dir() + "/" + name + ".state.lock";
  }
  /// Short enough for a Unix socket path (108 bytes) whatever the repo path.
  std::string runtime_dir(const std::string& name) const;

  std::string branch(const std::string& name) const { return config.branch_prefix + "/" + name; }
  std::string archive_prefix() const { return config.branch_prefix + "/archived/"; }

  GitTarget main() const { return GitTarget::repo(root); }
  /// The admin directory git created for a worktree, found through its
  /// `gitdir` file (never through the worktree's own `.git` file, which the
  /// agent can rewrite). nullopt if git has no registration for it.
  std::optional<std::string> worktree_admin_dir(const std::string& worktree) const;
};

/// Finds the repository containing `cwd` and loads its config. Errors:
/// not_found (not a repository), invalid_argument (bad config), unavailable.
Result<Repo> open_repo(const std::string& cwd);
/// The repository at a root and git common directory already found by
/// open_repo (the supervisor gets them from its parent): no git process.
Result<Repo> open_known_repo(const std::string& root, const std::string& common_dir);

/// The session whose worktree contains `cwd`, if any.
std::optional<std::string> session_from_cwd(const Repo& repo, const std::string& cwd);

/// Creates .para/, the state and worktree directories and .para/.gitignore.
Result<void> ensure_para_dirs(const Repo& repo);

/// para's .gitignore handling: appends the para block to the root .gitignore
/// unless it already ignores .para and keeps config.json; and excludes the
/// files para writes into worktrees (CLAUDE.local.md, .para/sessions/) through
/// .git/info/exclude so that finish never commits them.
Result<void> ensure_ignores(const Repo& repo);

/// Appends a line to the root .gitignore unless it is already there.
Result<void> ensure_ignored(const Repo& repo, const std::string& pattern);

/// The current working directory (empty on failure).
std::string current_dir();

}  // namespace para::session
