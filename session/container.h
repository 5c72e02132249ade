#pragma once

// Container sessions: the agent of a session runs in a Docker container
// (docker/), created and watched by the session's supervisor.
//
// Layout inside the container (local engines, bind mounts):
//   /workspace               the worktree, read-write, the working directory
//   G (the host path)        the repository's git directory, read-only, with
//                            G/worktrees/<admin> and the session's private
//                            ref directories and object store (as in the
//                            bwrap sandbox) read-write: git works on the
//                            session branch, cannot move any other ref, and
//                            adds objects to its own store
//   /run/para/objects        the repository's objects, read-only (the private
//                            store's alternate)
//   /run/para/session        this session's status directory (PARA_STATUS_FILE)
//   /run/para/prompt         the prompt file, read-only ({prompt_file})
//   /run/para/para-relay     the static relay as the entry point (isolated
//   /run/para/proxy.sock     sessions: listening on 127.0.0.1:<proxy.port>,
//                            forwarding to the session proxy's socket)
//   /run/para/setup.sh       the setup script, run through exec after the
//   /run/para/gate           start; the relay starts the agent only once
//                            the supervisor creates gate/open (local
//                            engines: always, so that the container can be
//                            started while the worktree is checked out)
// Remote engines (tcp://) cannot see host paths: the worktree is copied in
// before the start and copied back out after the agent exits (git inside
// the container is then unavailable); isolated sessions and setup scripts
// are refused (the proxy's socket and the gate cannot reach another machine).
//
// Security: NetworkMode none for isolated sessions, every capability dropped,
// no-new-privileges, docker's init as PID 1, the host user's uid:gid (local
// engines) so that nothing written back is root's. Forwarded API keys go
// into the create body only (docker::ContainerSpec::secret_env).

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "docker/client.h"
#include "docker/containers.h"
#include "docker/spec.h"
#include "session/ops.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

inline constexpr const char* kWorkspaceInside = "/workspace";
inline constexpr const char* kPromptInside = "/run/para/prompt";
inline constexpr const char* kStatusDirInside = "/run/para/session";

/// The container name of a session.
std::string container_name(const std::string& session);

/// Checks a container start before anything exists, without contacting the
/// daemon, and returns what the session stores in SessionState::container:
/// {image, docker_args, forward_keys}. Refuses docker_args outside the
/// supported set, flags that widen an enforced sandbox, a DOCKER_HOST para
/// cannot use and isolated sessions on a remote engine. `local_engine` is
/// set to whether the engine is local (unix://).
Result<nlohmann::json> check_container_request(const Repo& repo, const ContainerFlags& flags,
                                               bool isolated, bool* local_engine);

/// The rest of the check: the daemon answers and has `image`. Errors: an
/// unreachable daemon, a socket without permission, a missing image (with
/// how to build or pull it), as docker::Client and docker::inspect_image say.
Result<void> check_daemon_has_image(const docker::Client& client, const std::string& image);

/// The spec of a session's container. `argv` is the agent command expanded
/// for the container; `remote`: the engine cannot see host paths; `gated`:
/// the relay holds the agent back until the gate opens (also whenever there
/// is a setup script). With `base_to_sync`, the session branch's starting
/// value is written without fsync and its path put there: the caller makes
/// it durable (make_durable) before the agent can run.
Result<docker::ContainerSpec> session_container_spec(const Repo& repo, const SessionState& state,
                                                     const std::vector<std::string>& argv,
                                                     bool remote, bool gated = false,
                                                     std::string* base_to_sync = nullptr);

/// Force-removes the containers labelled with this session of this repo (a
/// supervisor that died leaves its container). Returns how many.
Result<int> remove_session_containers(const Repo& repo, const std::string& session);

/// para's containers of this repository whose session is not live.
Result<std::vector<docker::ContainerSummary>> orphan_containers(
    const Repo& repo, const std::function<bool(const std::string& session)>& live);

/// The agent's container, as the supervisor drives it: created, the
/// worktree copied in (remote engines), started; its output streamed into
/// the session log; its exit observed on a thread.
class ContainerAgent {
 public:
  /// Creates and starts the container. Gated (local engines only), the
  /// agent waits behind the relay's gate until release(): the container can
  /// start while the worktree is still being checked out. Not gated, a
  /// setup script is run and the agent released here. Errors: create/start
  /// errors (image missing, bad spec), the setup script's failure.
  static Result<std::unique_ptr<ContainerAgent>> start(const Repo& repo, const SessionState& state,
                                                       const docker::Client& client,
                                                       const std::vector<std::string>& argv,
                                                       int log_fd, bool gated = false);
  /// For a gated container: opens the gate, or, with a setup script, waits
  /// for the start, runs the script in the container (its output to the
  /// log) and then opens the gate. Errors: the start's, the script's.
  Result<void> release(const Repo& repo, const SessionState& state, int log_fd);
  /// Removes the container if finish() did not.
  ~ContainerAgent();
  ContainerAgent(const ContainerAgent&) = delete;
  ContainerAgent& operator=(const ContainerAgent&) = delete;

  /// The container's main process on the host (0 when not known).
  int pid() const { return pid_; }
  const std::string& id() const { return id_; }
  /// The exit once the container stopped; nullopt while it runs. When it
  /// stops, SIGCHLD is raised in this process, to wake a caller that blocks
  /// SIGCHLD and waits for it (the supervisor).
  std::optional<docker::ContainerExit> poll();
  /// SIGTERM to the container's init (forwarded to the agent), or SIGKILL.
  void signal(const char* name);
  /// Waits for the output stream, copies the workspace back (remote engines)
  /// and removes the container. Returns a sentence on how the agent ended.
  Result<std::string> finish(const docker::ContainerExit& exit);

 private:
  ContainerAgent(docker::Client client, std::string worktree, std::string staging)
      : client_(std::move(client)), worktree_(std::move(worktree)), staging_(std::move(staging)) {}
  Result<void> run_setup(const Repo& repo, const SessionState& state, int log_fd);
  Result<void> open_gate(const Repo& repo, const SessionState& state);
  // Once started: the host pid, the output stream and the exit watcher.
  void watch(int log_fd);
  docker::Client client_;
  std::string worktree_, staging_;
  std::string id_;
  std::string user_;  // the container's user, for exec
  int pid_ = 0;
  nlohmann::json host_config_;
  std::mutex mutex_;
  std::optional<docker::ContainerExit> exit_;
  std::thread waiter_, logs_;
  std::future<Result<void>> starting_;  // a gated container's start request
  bool removed_ = false;
};

}  // namespace para::session
