#pragma once

// Where a directory sits in para's layout: a para session worktree
// (<R>/.para/worktrees/<N>) or any other git worktree. Used by
// `para sandbox run` and `para sandbox explain` to build PolicyInputs for
// the current directory. Runs git on the host with hooks and fsmonitor off.

#include <string>

#include "core/result.h"

namespace para::sandbox {

struct DirectoryLayout {
  std::string repo_root;        // R
  std::string git_common_dir;   // G
  std::string worktree;         // the worktree's top level
  std::string worktree_gitdir;  // G/worktrees/<id> for linked worktrees, else G
  std::string session;          // N when the worktree is R/.para/worktrees/N, else empty
  std::string branch_prefix = "para";
  std::string state_dir;  // R/.para/state (sessions)
};

/// Errors: not_found (not inside a git worktree), tool_failed (git).
Result<DirectoryLayout> detect_layout(const std::string& dir);

}  // namespace para::sandbox
