#pragma once

// The session supervisor: one detached process per running agent.
//
// Theory of operation. start and resume spawn `<para binary> __supervise
// <repo> <session> <fd> <git common dir> [container [image]]`. That process forks
// once more and the middle process exits at once, so the supervisor belongs
// to no one (sessions outlive the CLI and the MCP server) and leaves no
// zombie. It becomes a child subreaper (and, for a container, connects to
// the daemon; given an image, it also checks that the daemon has it and
// reports that as its first JSON line on the fd, so that `para start` need
// not connect itself), then waits for the spawner's go-ahead, one byte per
// step on the fd (end of file calls the start off): "state written" (it reads the
// state, opens the log, starts the session proxy), "registered" (a local
// container session creates and starts its container, the agent held
// behind the relay's gate) and "ready" (the agent is launched, or released,
// in its own process group with stdout/stderr appended to
// <state>/<name>.log; a sandboxed agent's through a pipe, log_pump.h). It reports the launch (one
// JSON line on the fd) and records pid, exit status and times in the state. SIGTERM (finish,
// cancel) stops the agent: SIGTERM to its group, SIGKILL after a grace period, then SIGKILL to
// every descendant that was re-parented to the supervisor. When the agent exits by itself its
// remaining descendants are stopped the same way. Nothing is left behind.

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The hidden argv[1] both binaries dispatch to supervisor_main.
inline constexpr const char* kSuperviseCommand = "__supervise";

/// Entry point for `<binary> __supervise <repo-root> <session> <ready-fd> <git-common-dir>
/// [container [image]]`.
int supervisor_main(const std::vector<std::string>& args);

struct SupervisorInfo {
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start = 0;
  pid_t agent_pid = 0;
};

/// A supervisor spawned ahead of the agent, so that its own start overlaps
/// the spawner's work. It goes through the steps below in order; abort(),
/// or destroying it before go(), makes it exit having launched nothing
/// (removing a container it started) and waits until it has. Before
/// state_written() it touches nothing on disk.
class PendingSupervisor {
 public:
  PendingSupervisor(Fd channel, pid_t middle, std::string log_path)
      : channel_(std::move(channel)), middle_(middle), log_path_(std::move(log_path)) {}
  PendingSupervisor(PendingSupervisor&&) = default;
  PendingSupervisor& operator=(PendingSupervisor&&) = delete;
  ~PendingSupervisor() { abort(); }

  /// The session's state is written (status Starting): it reads it, opens
  /// the log, connects to the daemon and starts the session proxy.
  void state_written();
  /// Waits for the daemon check of a supervisor spawned with an image to
  /// check (its first report). Errors: the daemon's or the image's, with the
  /// code and message docker::Client and docker::inspect_image give; timeout.
  Result<void> daemon_checked(std::chrono::seconds timeout = std::chrono::seconds(120));
  /// The worktree is registered and checked out and the prompt file is
  /// written: a local container session creates and starts its container
  /// (whose read-only mounts need the files), the agent held behind the
  /// relay's gate.
  void registered();
  /// The files are checked out: the agent may run (or is released from
  /// the gate). Sends any step not sent yet, then waits for the report.
  /// Errors: the launch error the supervisor reported (e.g. the agent
  /// program is missing, or the session proxy could not start), timeout.
  Result<SupervisorInfo> go(std::chrono::seconds timeout = std::chrono::seconds(120));
  /// A no-op after go().
  void abort();

 private:
  void reap();
  void wait_gone();
  void send_step(char step);
  void advance(char step);
  Result<nlohmann::json> read_message(std::chrono::seconds timeout);
  Fd channel_;           // our end of a socketpair: the steps out, JSON lines back
  size_t sent_ = 0;      // steps sent so far
  std::string pending_;  // what was read past the last line
  pid_t middle_;
  std::string log_path_;
};

/// Spawns the supervisor of a session, without waiting for it, possibly
/// before the session's state exists. `container`: it connects to the
/// Docker daemon at once; `check_image`: and checks that the daemon has this
/// image (daemon_checked() waits for the answer). Errors: io.
Result<PendingSupervisor> spawn_supervisor(const Repo& repo, const std::string& name,
                                           bool container = false,
                                           const std::optional<std::string>& check_image = {});

/// spawn_supervisor, then go(): for sessions whose worktree exists.
Result<SupervisorInfo> launch_supervisor(const Repo& repo, const std::string& name,
                                         std::chrono::seconds timeout = std::chrono::seconds(120));

/// Whether the session's supervisor (as recorded in the state) is running.
bool supervisor_running(const SessionState& state);

/// Stops a session's supervisor and everything it started, waiting until it
/// is gone. A no-op when nothing runs. Errors: timeout (it could not be
/// stopped, with the pid to look at).
Result<void> stop_supervisor(const SessionState& state,
                             std::chrono::milliseconds grace = std::chrono::seconds(5));

/// stop_supervisor, then, for container sessions, removes any container
/// still labelled with the session (its supervisor may have died before it
/// could). What finish, cancel and clean call.
Result<void> stop_agent(const Repo& repo, const SessionState& state);

}  // namespace para::session
