#pragma once

// The session supervisor: one detached process per running agent.
//
// Theory of operation. start/resume write the session state, then spawn
// `<para binary> __supervise <repo> <session> <fd> <git common dir>`. That
// process forks once more and the middle process exits at once, so the
// supervisor belongs to no one (sessions outlive the CLI and the MCP server)
// and leaves no zombie. It becomes a child subreaper and prepares what does
// not need the worktree (the daemon's connection, the session proxy). Then
// it waits for the spawner's go-ahead: two steps of one byte each on the fd
// (end of file calls the start off). At "registered" a local container
// session creates and starts its container, the agent held behind the
// relay's gate; at "ready" the agent is launched (or released) in its own
// process group with stdout/stderr appended to <state>/<name>.log. The
// supervisor reports (one JSON line) on the fd and records pid, exit status
// and times in the state. SIGTERM (finish, cancel) stops the agent: SIGTERM
// to its group, SIGKILL after a grace period, then SIGKILL to every
// descendant that was re-parented to the supervisor. When the agent exits by
// itself its remaining descendants are stopped the same way. Nothing is left
// behind.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The hidden argv[1] both binaries dispatch to supervisor_main.
inline constexpr const char* kSuperviseCommand = "__supervise";

/// Entry point for `<binary> __supervise <repo-root> <session> <ready-fd> <git-common-dir>`.
int supervisor_main(const std::vector<std::string>& args);

struct SupervisorInfo {
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start = 0;
  pid_t agent_pid = 0;
};

/// A supervisor spawned ahead of the agent, while the session's worktree is
/// still being made: it reads the state, connects to the Docker daemon and
/// starts the session proxy (nothing that needs the worktree), then waits.
/// registered() lets a local container session create and start its
/// container, the agent held behind the relay's gate; go() lets it launch
/// (or release) the agent. abort(), or destroying it before go(), makes it
/// exit having launched nothing (removing a started container) and waits
/// until it has.
class PendingSupervisor {
 public:
  PendingSupervisor(Fd channel, pid_t middle, std::string log_path)
      : channel_(std::move(channel)), middle_(middle), log_path_(std::move(log_path)) {}
  PendingSupervisor(PendingSupervisor&&) = default;
  PendingSupervisor& operator=(PendingSupervisor&&) = delete;
  ~PendingSupervisor() { abort(); }

  /// The worktree is registered (its git files exist), the state records
  /// its admin directory and the prompt file is written.
  void registered();
  /// The files are checked out: the agent may run. Waits for the report.
  /// Errors: the launch error the supervisor reported (e.g. the agent
  /// program is missing, or the session proxy could not start), timeout.
  Result<SupervisorInfo> go(std::chrono::seconds timeout = std::chrono::seconds(120));
  /// A no-op after go().
  void abort();

 private:
  void reap();
  void send_step(char step);
  Fd channel_;  // our end of a socketpair: the steps out, the report back
  bool registered_ = false;
  pid_t middle_;
  std::string log_path_;
};

/// Spawns the supervisor of a session whose state is written (status
/// Starting), without waiting for it. Errors: io.
Result<PendingSupervisor> spawn_supervisor(const Repo& repo, const std::string& name);

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
