#pragma once

// A real git repository driven through the built `para` binary, with an
// isolated HOME whose config sets the agent command to a test script.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/support.h"

namespace para::test {

class ParaRepo {
 public:
  explicit ParaRepo(bool with_commit = true);
  ~ParaRepo();

  const TempGitRepo& repo() const { return repo_; }
  const std::string& path() const { return repo_.path(); }
  std::string state_dir() const { return repo_.path() + "/.para/state"; }
  std::string worktree(const std::string& name) const {
    return repo_.path() + "/.para/worktrees/" + name;
  }
  /// A scratch directory for agent scripts and their reports.
  const std::string& scratch() const { return scratch_.path(); }

  /// Writes an executable script (shebang included by the caller) and returns its path.
  std::string script(const std::string& name, const std::string& body) const;
  /// Sets [agent] command (written as TOML into the isolated user config).
  void set_agent(const std::vector<std::string>& command) const;

  /// Runs `para args...` in `cwd` (default: the repository).
  Completed para(const std::vector<std::string>& args, const std::string& cwd = "",
                 const std::string& stdin_data = "") const;
  /// `para args... --json`, parsed; fails the test if stdout is not JSON.
  nlohmann::json para_json(const std::vector<std::string>& args, const std::string& cwd = "") const;

  /// git worktree list, git branch -a, git status and the state directory's
  /// file names and contents: what a failed command must leave unchanged.
  std::string snapshot() const;

  /// Kills every agent and supervisor the sessions of this repo recorded.
  void kill_everything() const;

  std::vector<std::string> env() const { return env_; }

 private:
  TempGitRepo repo_;
  TempDir scratch_;
  std::vector<std::string> env_;
};

/// Checks a --json result against the output schema of the MCP tool that
/// returns the same object (the CLI's --json and the tools share shapes).
void check_output_schema(const std::string& tool, const nlohmann::json& doc);

/// The sessions of `repo` that have a live supervisor process
/// (`para __supervise <repo> <session> ...`), by their command lines.
std::vector<std::string> live_supervisors(const std::string& repo);

/// Pids recorded by agent scripts (one per line) in a file.
std::vector<int> read_pids(const std::string& path);
bool pid_alive(int pid);

}  // namespace para::test
