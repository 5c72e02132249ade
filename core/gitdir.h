#pragma once

// Finding a work tree's git directories from the files git itself reads, so
// that the commands run on every start (para sandbox run, para start, the
// supervisor) need no `git rev-parse` process.
//
// Contract: find_git_dirs() answers only for the plain layouts (a .git
// directory, or a .git file of a linked worktree or submodule) and returns
// nullopt for anything else, where the caller asks git instead: a directory
// inside a git directory or a bare repository, core.worktree or bare = true
// or an [include] in the config, worktree-specific config, a repository
// another user owns (git's safe.directory check), a walk that would cross a
// filesystem boundary, and the environment variables that change discovery
// (GIT_CEILING_DIRECTORIES, GIT_DISCOVERY_ACROSS_FILESYSTEM, GIT_COMMON_DIR).
// Like the callers' git invocations, it ignores GIT_DIR and GIT_WORK_TREE.

#include <optional>
#include <string>

namespace para {

struct GitDirs {
  std::string toplevel;    // the work tree's top directory (real path)
  std::string git_dir;     // its git directory: <top>/.git, or .git/worktrees/<name>
  std::string common_dir;  // the shared git directory (real path)
};

std::optional<GitDirs> find_git_dirs(const std::string& dir);

/// The branch a git directory's HEAD names ("main" for "ref: refs/heads/main"),
/// or nullopt when HEAD is detached or unreadable.
std::optional<std::string> read_head_branch(const std::string& git_dir);

}  // namespace para
