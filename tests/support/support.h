#pragma once

// Shared test fixtures: temporary directories, real git repositories, the
// built binaries and bounded waiting. Everything cleans up after itself.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/process.h"

namespace para::test {

/// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "para-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& child) const { return path_ + "/" + child; }

 private:
  std::string path_;
};

/// The environment tests give to git and para: an isolated HOME and XDG
/// config inside `home`, no system git config, fixed identity, C locale.
std::vector<std::string> isolated_env(const std::string& home);

/// A real git repository with one commit on branch main, in its own TempDir,
/// with an isolated HOME beside it.
class TempGitRepo {
 public:
  explicit TempGitRepo(bool with_commit = true);
  const std::string& path() const { return repo_; }
  const std::string& home() const { return home_; }
  const std::vector<std::string>& env() const { return env_; }
  std::string operator/(const std::string& child) const { return repo_ + "/" + child; }

  /// Runs git -C <repo> args...; CHECKs nothing, returns the result.
  Completed git(const std::vector<std::string>& args, const std::string& cwd = "") const;
  /// git ... and returns trimmed stdout; fails the test on a non-zero exit.
  std::string git_out(const std::vector<std::string>& args, const std::string& cwd = "") const;
  void write(const std::string& relative, const std::string& content) const;
  void commit_all(const std::string& message) const;

 private:
  TempDir dir_;
  std::string repo_, home_;
  std::vector<std::string> env_;
};

/// The path of a built binary, from the <NAME>_BIN variables meson sets
/// ("para" -> PARA_BIN, "para-mcp-server" -> PARA_MCP_SERVER_BIN).
std::string built_binary(const std::string& name);

/// Runs a built binary (or any argv) with an environment and working directory.
Completed run_cmd(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& cwd, const std::string& stdin_data = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Polls `done` until it returns true or the timeout passes.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& content, int mode = 0644);
/// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix);
std::string trim(const std::string& s);

/// Whether the current process can run bwrap sandboxes (used to skip loudly).
bool bwrap_works();

}  // namespace para::test
