#pragma once

// Host-side git on a session's repository, for host.cpp and import.cpp
// (internal to the sandbox module). Every call names the repository
// explicitly and turns hooks and fsmonitor off: the agent wrote the files
// git would otherwise consult.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/process.h"
#include "core/result.h"
#include "sandbox/policy.h"

namespace para::sandbox {

/// Whether `s` is a full object name (40 or 64 lower-case hex digits).
bool is_object_name(const std::string& s);

/// `s` without trailing newlines, carriage returns and spaces.
std::string trimmed(std::string s);

/// How git_common runs git: which object store it reads (the repository's,
/// or for the import only the sandbox's private one), its input, its limit.
struct GitRun {
  std::string object_dir;  // empty: G/objects
  std::optional<std::string> input;
  int input_fd = -1;
  std::chrono::seconds timeout{30};
};

/// The caller's environment for git: C locale (its output is parsed), no
/// prompts, and none of GIT_DIR, GIT_WORK_TREE, GIT_OBJECT_DIRECTORY and
/// GIT_ALTERNATE_OBJECT_DIRECTORIES.
std::vector<std::string> git_environment();

/// git --git-dir=G (the common dir) with hooks and fsmonitor off, in
/// git_environment().
Command git_command(const SessionGit& g, const std::vector<std::string>& args, const GitRun& how);

Result<Completed> git_common(const SessionGit& g, const std::vector<std::string>& args,
                             const GitRun& how = {});

/// git_common's output, or an io error "could not `what` (git ARG0: first
/// line of stderr)" when git fails.
Result<std::string> git_ok(const SessionGit& g, const std::vector<std::string>& args,
                           const GitRun& how, const std::string& what);

/// The file holding the branch's value when the sandbox started (what
/// sync_session_ref swaps against): R/git/base.
std::string base_file(const SessionGit& g);

}  // namespace para::sandbox
