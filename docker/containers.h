#pragma once

// Container operations on a Client: the life of a session container.
//
// How the session layer uses this (all calls block; see client.h):
//
//   ContainerSpec spec = ...;                      // docker/spec.h; harden(spec)
//   Result<std::string> id = create_container(client, spec);
//   if (client.remote()) copy_into(client, *id, worktree, "/", {.prefix = "workspace"});
//   start_container(client, *id);
//   std::thread logs([&] { follow_logs(client, *id, fd_output(log_fd)); });
//   Result<ContainerExit> exit = wait_container(client, *id);   // code + OOMKilled
//   logs.join();
//   if (client.remote()) copy_out(client, *id, "/workspace", staging_dir);
//   remove_container(client, *id);
//
//   // cancel/finish from another thread: stop_container(client, id) makes
//   // wait_container and follow_logs return.
//   // setup scripts: exec(client, id, {.cmd = {"/bin/sh", "/tmp/setup.sh"}}, fd_output(log_fd))
//   // para clean --containers: remove_orphans(client, repo, is_live_session)
//
// Nothing here logs environment values; errors from calls that carry secrets
// (create, exec) are redacted.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "docker/client.h"
#include "docker/spec.h"
#include "docker/stream.h"
#include "docker/tar.h"

namespace para::docker {

/// What /containers/{id}/json says, minus the environment (never copied out).
struct ContainerState {
  std::string id;
  std::string name;    // without the leading '/'
  std::string image;   // as asked for ("para-agent:latest")
  std::string status;  // "created", "running", "exited", "dead", ...
  bool running = false;
  int exit_code = 0;
  bool oom_killed = false;
  int pid = 0;
  std::string error;  // the daemon's error from starting it, if any
  std::string started_at, finished_at;
  std::map<std::string, std::string> labels;
  nlohmann::json host_config;  // HostConfig as the daemon applied it: limits, mounts, caps
};

struct ContainerExit {
  int exit_code = 0;
  bool oom_killed = false;  // the kernel's OOM killer hit the container's memory limit
  std::string error;        // the daemon's wait error, if any
};

struct ContainerSummary {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::string state;  // "running", "exited", ...
  std::map<std::string, std::string> labels;
};

/// Creates (does not start) a container. Returns its id. Errors:
/// invalid_argument (the spec), not_found (the image is missing: the message
/// says how to build or pull it), conflict (the name is taken), and the
/// client's transport errors. Error texts are redacted of the spec's secrets.
Result<std::string> create_container(const Client& client, const ContainerSpec& spec);

/// Starts a created container; starting a running one is not an error.
/// Errors: not_found, tool_failed (the daemon could not start it: its reason).
Result<void> start_container(const Client& client, const std::string& id);

/// Errors: not_found.
Result<ContainerState> inspect_container(const Client& client, const std::string& id);

/// Blocks until the container is not running (returns at once if it already
/// exited; call it after start_container), then reports exit code and whether
/// the OOM killer stopped it. nullopt timeout = no limit. Errors: not_found,
/// timeout.
Result<ContainerExit> wait_container(const Client& client, const std::string& id,
                                     std::optional<std::chrono::milliseconds> timeout = {});

/// SIGTERM, then SIGKILL after `grace`. Stopping a stopped container is not an
/// error. Errors: not_found.
Result<void> stop_container(const Client& client, const std::string& id,
                            std::chrono::seconds grace = std::chrono::seconds(10));

/// Sends a signal ("SIGKILL", "SIGTERM", ...). Errors: not_found, conflict (not running).
Result<void> kill_container(const Client& client, const std::string& id,
                            const std::string& signal = "SIGKILL");

/// Removes a container (force: running or not) and its anonymous volumes.
/// Errors: not_found (callers that do not care check the code).
Result<void> remove_container(const Client& client, const std::string& id, bool force = true);

/// Containers (running or not) that carry every label in `labels`; an empty
/// value matches any value of that key. Errors: transport.
Result<std::vector<ContainerSummary>> list_containers(
    const Client& client, const std::map<std::string, std::string>& labels);

/// para's containers: those with a dev.para.session label, and with
/// dev.para.repo == repo unless repo is empty. Matched by label, never by name.
Result<std::vector<ContainerSummary>> list_para_containers(const Client& client,
                                                           const std::string& repo = "");

/// Force-removes para's containers of `repo` (all repos if empty) for which
/// keep() is false, e.g. keep = "the session named by its dev.para.session
/// label is live". Returns the removed ones. A container that vanished
/// meanwhile is not an error. Errors: transport, and removal failures.
Result<std::vector<ContainerSummary>> remove_orphans(
    const Client& client, const std::string& repo,
    const std::function<bool(const ContainerSummary&)>& keep);

/// Receives output; return false to stop reading.
using OutputFn = std::function<bool(StreamKind kind, std::string_view bytes)>;

/// Writes stdout and stderr bytes to one file descriptor (the session log).
/// The fd must stay open while the returned function is used.
OutputFn fd_output(int fd);

/// Streams the container's output from its start (nothing is missed however
/// late this is called) until it exits (follow) or up to now. `tty`: the
/// container was created with a TTY (raw stream, no stdout/stderr split).
/// Errors: not_found, transport, invalid_argument (an undecodable stream).
Result<void> follow_logs(const Client& client, const std::string& id, const OutputFn& output,
                         bool follow = true, bool tty = false);

struct ExecSpec {
  std::vector<std::string> cmd;                      // argv, never a shell string
  std::map<std::string, std::string> env;            // plain variables
  std::map<std::string, std::string> secret_env;     // values never logged; redacted from errors
  std::string working_dir;                           // absolute; empty = the container's
  std::string user;                                  // empty = the container's
  std::optional<std::chrono::milliseconds> timeout;  // longest silence; nullopt = none
};

/// Runs a command in a running container, streaming its output, and returns
/// its exit code. Errors: not_found, conflict (container not running),
/// invalid_argument (empty cmd), timeout, transport.
Result<int> exec(const Client& client, const std::string& id, const ExecSpec& spec,
                 const OutputFn& output);

/// Uploads a tar stream into the container, extracted at container_dir (which
/// must exist). Works on created and stopped containers too. Errors:
/// not_found (container or directory), denied (read-only target), transport,
/// and errors from `writer`.
Result<void> put_archive(const Client& client, const std::string& id,
                         const std::string& container_dir,
                         const std::function<Result<void>(const BodyWrite& write)>& writer);

/// Copies a host directory's contents into the container (put_archive of
/// write_tar(host_dir, options)). With options.prefix = "workspace" and
/// container_dir "/", the files land in /workspace.
Result<void> copy_into(const Client& client, const std::string& id, const std::string& host_dir,
                       const std::string& container_dir, const TarOptions& options = {});

/// Downloads container_path as a tar stream (its top entry is the path's base
/// name). Errors: not_found, transport, and errors from on_data.
Result<void> get_archive(const Client& client, const std::string& id,
                         const std::string& container_path,
                         const std::function<Result<void>(std::string_view bytes)>& on_data);

/// Extracts container_path's contents into host_dir (an existing directory),
/// safely (see tar.h). With the default strip_components = 1 the contents of
/// /workspace land directly in host_dir.
Result<void> copy_out(const Client& client, const std::string& id,
                      const std::string& container_path, const std::string& host_dir,
                      ExtractOptions options = {.strip_components = 1});

struct ContainerStats {
  int64_t pids_current = 0, pids_limit = 0;
  int64_t memory_usage = 0, memory_limit = 0;
};

/// One snapshot of /containers/{id}/stats. Errors: not_found, transport.
Result<ContainerStats> container_stats(const Client& client, const std::string& id);

/// A sentence for the session's report: "exited with code 0", "was killed
/// by the out-of-memory killer (memory limit 16 MiB)", ... `limits` is the
/// container's HostConfig (ContainerState::host_config), for naming the limit.
std::string describe_exit(const ContainerExit& exit, const nlohmann::json& limits = {});

}  // namespace para::docker
