#pragma once

// A realistic host for the escape suite: a git repository with two para
// session worktrees, para's state directory, a fake home directory full of
// fake secrets and startup files, and loopback servers to try to reach.
// Everything lives in one TempDir; sandboxes are real bubblewrap sandboxes.

#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/process.h"
#include "sandbox/policy.h"
#include "tests/support/support.h"

namespace para::test {

/// The marker inside every fake secret; it must never be read in a sandbox.
inline constexpr const char* kSecret = "TOP-SECRET-CREDENTIAL";

struct SandboxHost {
  SandboxHost();
  ~SandboxHost();
  SandboxHost(const SandboxHost&) = delete;
  SandboxHost& operator=(const SandboxHost&) = delete;

  TempDir dir{"para-sbx"};
  std::string repo, git_dir, home, state, worktree, other_worktree, runtime;
  std::string session = "agent1", other = "other1";
  std::vector<std::string> env;

  /// Inputs for this host's session (or, with session=false, for `sandbox
  /// run` in the main worktree).
  sandbox::PolicyInputs inputs(const std::string& profile = "standard",
                               bool as_session = true) const;
  /// build_policy + prepare_host; fails the test on error.
  sandbox::Policy policy(const std::string& profile = "standard", bool as_session = true,
                         std::optional<sandbox::NetworkMode> network = std::nullopt) const;
  /// git in the main repository.
  Completed git(const std::vector<std::string>& args, const std::string& cwd = "") const;
  std::string git_out(const std::vector<std::string>& args, const std::string& cwd = "") const;
};

/// The probe program (tests/sandbox/probes/probe.c).
std::string probe_path();

/// Runs argv inside the sandbox, collecting stdout and stderr. `out` holds
/// both. Fails the test if the sandbox cannot be set up.
Completed in_sandbox(const sandbox::Policy& policy, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Runs the probe inside; true when it reported ALLOWED.
bool probe_allowed(const sandbox::Policy& policy, const std::vector<std::string>& args,
                   std::string* output = nullptr);

/// A loopback server (TCP accepting and writing "hello", UDP recording
/// datagrams and answering them, or a Unix socket) on its own thread.
class LoopbackServer {
 public:
  enum class Kind { tcp, udp, unix_path, unix_abstract };
  /// host: "127.0.0.1" / "::1" (tcp, udp), a path or an abstract name (unix).
  LoopbackServer(Kind kind, const std::string& host);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  int port() const { return port_; }
  int hits() const { return hits_.load(); }

 private:
  void serve();
  Kind kind_;
  int fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> hits_{0};
  std::thread thread_;
};

/// The host processes whose command line contains marker.
std::vector<pid_t> host_processes_with(const std::string& marker);

}  // namespace para::test
