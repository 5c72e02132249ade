#pragma once

// Child processes without a shell: an argv vector and an explicit
// environment, always. Built on posix_spawn. Never calls waitpid(-1) and
// installs no SIGCHLD handler, so it coexists with libuv loops.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace para {

struct Command {
  std::vector<std::string> argv;                // argv[0]: a path, or a name looked up in PATH
  std::optional<std::vector<std::string>> env;  // full "K=V" list; nullopt = inherit
  std::string cwd;                              // empty = inherit
  std::optional<std::string> stdin_data;        // nullopt = stdin_fd
  int stdin_fd = -1;                            // without stdin_data; -1 = /dev/null
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

struct Completed {
  int exit_code = -1;   // -1 when killed by a signal
  int term_signal = 0;  // the signal that killed it, or 0
  std::string out, err;
  bool ok() const { return exit_code == 0; }
};

/// Runs a command to completion, capturing stdout and stderr. A non-zero exit
/// is not an error here. Errors: not_found (no such program), io (spawn or
/// pipe failed), timeout (after the whole process group was killed).
/// Blocking; thread-safe.
Result<Completed> run(const Command& cmd);

struct SpawnOptions {
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;  // nullopt = inherit
  std::string cwd;
  int stdin_fd = -1;          // -1 = /dev/null
  int stdout_fd = -1;         // -1 = /dev/null
  int stderr_fd = -1;         // -1 = /dev/null
  bool new_session = false;   // setsid(): detached from our terminal and group
  bool new_group = true;      // its own process group (ignored with new_session)
  std::vector<int> keep_fds;  // extra fds passed through at the same number
};

/// Marks every descriptor from 3 up close-on-exec. Called first in main():
/// whatever the caller left open (a shell's `exec 7<dir`, a harness's pipes)
/// must not reach agents and sandboxes; spawn() passes only stdio and
/// keep_fds on.
void close_inherited_fds_on_exec();

/// Starts a process and returns its pid without waiting. The caller reaps it
/// (wait_for) unless it is detached by a double spawn. Errors: not_found, io.
Result<pid_t> spawn(const SpawnOptions& options);

struct ExitStatus {
  int exit_code = -1;
  int term_signal = 0;
};

/// Waits for a child of this process. nullopt timeout = forever.
/// Errors: timeout (child still running), io.
Result<ExitStatus> wait_for(pid_t pid, std::optional<std::chrono::milliseconds> timeout);

/// Whether a process with this pid exists (kill(pid, 0)), zombies included.
bool process_exists(pid_t pid);

/// Searches PATH for an executable. Errors: not_found.
Result<std::string> find_program(const std::string& name);

/// The environment of this process as a "K=V" list.
std::vector<std::string> current_environment();

/// Replaces or adds K=V in an environment list.
void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value);
/// Removes K from an environment list.
void unset_env(std::vector<std::string>& env, const std::string& key);

/// The absolute path of the running executable (/proc/self/exe).
std::string self_executable();

/// A program installed beside the running one (para-relay next to para).
/// PARA_<NAME>_BIN (upper case, '-' -> '_') overrides. Errors: not_found.
Result<std::string> sibling_program(const std::string& name);

}  // namespace para
