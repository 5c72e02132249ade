#include "session/container.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "core/fs.h"
#include "core/process.h"
#include "docker/images.h"
#include "sandbox/launch.h"
#include "sandbox/policy.h"
#include "session/sandboxing.h"

namespace para::session {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kProxySocketInside = "/run/para/proxy.sock";
constexpr const char* kRelayInside = "/run/para/para-relay";
constexpr const char* kSetupInside = "/run/para/setup.sh";
constexpr const char* kGateDirInside = "/run/para/gate";
constexpr const char* kGateFile = "open";

std::string gate_dir(const Repo& repo, const SessionState& s) {
  return s.runtime_dir.value_or(repo.runtime_dir(s.name)) + "/gate";
}

std::string configured_image(const Config& config) {
  return config.docker.default_image.value_or(docker::kDefaultImage);
}

// The variables a container gets: docker.forward_env_keys, or by default
// the ones bwrap and SBPL sandboxes keep although they look secret (what the
// agents sign in with). para also forwarded GITHUB_TOKEN and
// PERPLEXITY_API_KEY; those reach a container only when listed, as a
// sandbox's only through sandbox.forward_env (see sandbox/policy.cpp).
std::vector<std::string> forward_keys(const Config& config) {
  return config.docker.forward_env_keys.value_or(sandbox::default_forward_env());
}

docker::Mount bind_mount(const std::string& source, const std::string& target, bool read_only) {
  return docker::Mount{.type = docker::Mount::Type::bind,
                       .source = source,
                       .target = target,
                       .read_only = read_only};
}

// Without docker.pids_limit: enough for builds and test runners, not for a
// fork bomb that would exhaust the host's process table.
constexpr int64_t kDefaultPidsLimit = 4096;

// The config's limits, which docker_args then override.
Result<void> apply_config_limits(const DockerConfig& c, docker::ContainerSpec& spec) {
  if (c.memory) {
    Result<int64_t> bytes = docker::parse_memory(*c.memory);
    if (!bytes) {
      return fail(Errc::invalid_argument, "docker.memory in the config: " + bytes.error().message);
    }
    spec.memory_bytes = *bytes;
  }
  if (c.cpus) spec.nano_cpus = static_cast<int64_t>(*c.cpus * 1e9);
  spec.pids_limit = c.pids_limit.value_or(kDefaultPidsLimit);
  return {};
}

// The mounts that let git work inside on the session branch only (the same
// private-ref design as the bwrap sandbox; see sandbox/launch.h). With
// `base_to_sync`, the branch's starting value is left for the caller to make
// durable (that file's path; empty if none).
Result<void> add_git_mounts(const Repo& repo, const SessionState& s, docker::ContainerSpec& spec,
                            std::string* base_to_sync) {
  Result<sandbox::Policy> policy = session_policy(repo, s, {});
  if (!policy) return fail(policy.error());
  const Sync base = base_to_sync != nullptr ? Sync::replace_only : Sync::durable;
  if (auto r = sandbox::prepare_host(*policy, base); !r) return fail(r.error());
  if (base_to_sync != nullptr) *base_to_sync = sandbox::base_path(*policy);
  if (!policy->git) return {};
  const sandbox::SessionGit& g = *policy->git;
  spec.mounts.push_back(bind_mount(g.common_dir, g.common_dir, true));
  spec.mounts.push_back(bind_mount(g.worktree_gitdir, g.worktree_gitdir, false));
  for (const sandbox::PrivateBind& b : policy->private_binds) {
    spec.mounts.push_back(bind_mount(b.source, b.target, b.read_only));
  }
  // What the bwrap sandbox keeps read-only inside the writable mounts: the
  // worktree's git links (its .git file, commondir, gitdir, config.worktree:
  // each could point the host's next git command at a config the agent
  // wrote, whose filters and fsmonitor run code) and the protected names in
  // the worktree (.envrc, .vscode, nested hooks, ...). Docker applies
  // deeper mounts after their parents.
  for (const sandbox::PathRule& r : policy->protect) {
    if (r.kind != sandbox::PathKind::file && r.kind != sandbox::PathKind::directory) continue;
    if (sandbox::path_within(r.path, s.worktree_path) && r.path != s.worktree_path) {
      spec.mounts.push_back(
          bind_mount(r.path, kWorkspaceInside + r.path.substr(s.worktree_path.size()), true));
    } else if (sandbox::path_within(r.path, g.worktree_gitdir) && r.path != g.worktree_gitdir) {
      spec.mounts.push_back(bind_mount(r.path, r.path, true));
    }
  }
  return {};
}

}  // namespace

std::string container_name(const std::string& session) {
  return "para-" + session;
}

Result<json> check_container_request(const Repo& repo, const ContainerFlags& flags, bool isolated,
                                     bool* local_engine) {
  Result<docker::DockerArgs> args =
      docker::parse_docker_args(flags.docker_args, docker::process_env());
  if (!args) return fail(args.error());
  if (isolated || repo.config.sandbox.enforce) {
    std::vector<std::string> widen = docker::isolation_weakenings(*args);
    if (repo.config.sandbox.enforce) {
      docker::ContainerSpec limits;
      if (auto r = apply_config_limits(repo.config.docker, limits); !r) return fail(r.error());
      for (std::string& raise : docker::limit_raises(*args, limits)) {
        widen.push_back(std::move(raise));
      }
    }
    if (!widen.empty()) {
      std::string list;
      for (const std::string& w : widen) list += (list.empty() ? "" : "; ") + w;
      return fail(Errc::invalid_argument,
                  std::string("docker_args would widen ") +
                      (isolated ? "the isolated container" : "the enforced sandbox") + ": " + list +
                      ". Remove them" + (isolated ? ", or start without network isolation" : "") +
                      ".");
    }
  }
  const std::string image = flags.image.value_or(configured_image(repo.config));
  if (auto r = docker::check_image_reference(image); !r) return fail(r.error());
  Result<docker::Endpoint> endpoint =
      docker::endpoint_from_env(docker::process_env(), home_directory());
  if (!endpoint) return fail(endpoint.error());
  if (isolated && endpoint->remote()) {
    return fail(Errc::unavailable,
                "network-isolated container sessions need a local Docker Engine: the session "
                "proxy's socket cannot be shared with " +
                    endpoint->display() +
                    ". Unset DOCKER_HOST, or start without --allow-domains/--sandbox-no-network");
  }
  *local_engine = !endpoint->remote();
  return json{{"image", docker::normalize_image_reference(image)},
              {"docker_args", flags.docker_args},
              {"forward_keys", !flags.no_forward_keys}};
}

Result<void> check_daemon_has_image(const docker::Client& client, const std::string& image) {
  if (Result<docker::ImageInfo> info = docker::inspect_image(client, image); !info) {
    return fail(info.error());
  }
  return {};
}

Result<docker::ContainerSpec> session_container_spec(const Repo& repo, const SessionState& s,
                                                     const std::vector<std::string>& argv,
                                                     bool remote, bool gated,
                                                     std::string* base_to_sync) {
  docker::ContainerSpec spec;
  spec.name = container_name(s.name);
  spec.image = s.container.value("image", configured_image(repo.config));
  spec.cmd = argv;
  spec.labels = {{docker::kSessionLabel, s.name}, {docker::kRepoLabel, repo.root}};
  spec.working_dir = kWorkspaceInside;
  spec.init = true;
  spec.stop_timeout_seconds = 5;
  docker::harden(spec);
  spec.env = {{"PARA_SESSION", s.name},
              {"PARA_WORKSPACE", kWorkspaceInside},
              {"PARA_PROMPT_FILE", kPromptInside},
              {"PARA_STATUS_FILE", std::string(kStatusDirInside) + "/status.json"}};
  if (s.container.value("forward_keys", true)) {
    spec.secret_env = docker::forwarded_env(forward_keys(repo.config), docker::process_env());
  }
  if (auto r = apply_config_limits(repo.config.docker, spec); !r) return fail(r.error());

  if (!remote) {
    // Files the agent writes belong to the user who started the session.
    spec.user = std::to_string(::getuid()) + ":" + std::to_string(::getgid());
    spec.mounts.push_back(bind_mount(s.worktree_path, kWorkspaceInside, false));
    if (auto r = add_git_mounts(repo, s, spec, base_to_sync); !r) return fail(r.error());
    if (auto r = make_dirs(repo.session_dir(s.name), 0755); !r) return fail(r.error());
    spec.mounts.push_back(bind_mount(repo.session_dir(s.name), kStatusDirInside, false));
    if (s.prompt_file) spec.mounts.push_back(bind_mount(*s.prompt_file, kPromptInside, true));
  }
  const bool isolated = s.network_mode == "proxied";
  const bool setup = s.setup_script.has_value();
  if (remote && (isolated || setup || gated)) {
    return fail(Errc::unavailable, std::string(isolated ? "network-isolated container sessions"
                                               : setup  ? "setup scripts in container sessions"
                                                        : "a gated container") +
                                       " need a local Docker Engine (DOCKER_HOST is remote)");
  }
  gated = gated || setup;
  if (isolated || gated) {
    // para-relay is the entry point: the loopback listener of an isolated
    // session, and the gate that holds the agent back until setup is done.
    Result<std::string> relay = sibling_program("para-relay");
    if (!relay) {
      return fail(Errc::unavailable, "para-relay is missing beside para (" + relay.error().message +
                                         "); container sessions need it for network isolation "
                                         "and setup scripts");
    }
    spec.mounts.push_back(bind_mount(*relay, kRelayInside, true));
    spec.entrypoint = std::vector<std::string>{kRelayInside};
  }
  if (gated) {
    const std::string gate = gate_dir(repo, s);
    std::error_code ec;
    fs::remove_all(gate, ec);
    if (auto r = make_dirs(gate, 0755); !r) return fail(r.error());
    if (setup) spec.mounts.push_back(bind_mount(*s.setup_script, kSetupInside, true));
    spec.mounts.push_back(bind_mount(gate, kGateDirInside, true));
    spec.entrypoint->insert(spec.entrypoint->end(),
                            {"--wait-for", std::string(kGateDirInside) + "/" + kGateFile});
  }
  if (isolated) {
    const std::string socket = s.runtime_dir.value_or(repo.runtime_dir(s.name)) + "/proxy.sock";
    const std::string port = std::to_string(repo.config.proxy.port);
    spec.network_mode = "none";
    spec.mounts.push_back(bind_mount(socket, kProxySocketInside, false));
    spec.entrypoint->insert(spec.entrypoint->end(), {"--listen", "127.0.0.1:" + port, "--connect",
                                                     std::string("unix:") + kProxySocketInside});
    for (const auto& [name, value] : sandbox::proxy_environment(repo.config.proxy.port, "")) {
      spec.env[name] = value;
    }
  }
  if (spec.entrypoint) spec.entrypoint->push_back("--");

  Result<docker::DockerArgs> args = docker::parse_docker_args(
      s.container.value("docker_args", std::vector<std::string>{}), docker::process_env());
  if (!args) return fail(args.error());
  if (s.network_mode == "proxied" && !docker::isolation_weakenings(*args).empty()) {
    return fail(Errc::invalid_argument, "docker_args would widen the isolated container");
  }
  docker::apply_docker_args(*args, spec);
  return spec;
}

namespace {

Result<int> remove_labelled(const docker::Client& client, const Repo& repo,
                            const std::string& session) {
  Result<std::vector<docker::ContainerSummary>> found = docker::list_containers(
      client, {{docker::kSessionLabel, session}, {docker::kRepoLabel, repo.root}});
  if (!found) return fail(found.error());
  int removed = 0;
  for (const docker::ContainerSummary& c : *found) {
    Result<void> r = docker::remove_container(client, c.id);
    if (!r && r.error().code != Errc::not_found) return fail(r.error());
    ++removed;
  }
  return removed;
}

}  // namespace

Result<int> remove_session_containers(const Repo& repo, const std::string& session) {
  Result<docker::Client> client = docker::Client::from_env();
  if (!client) return fail(client.error());
  return remove_labelled(*client, repo, session);
}

Result<std::vector<docker::ContainerSummary>> orphan_containers(
    const Repo& repo, const std::function<bool(const std::string&)>& live) {
  Result<docker::Client> client = docker::Client::from_env();
  if (!client) return fail(client.error());
  Result<std::vector<docker::ContainerSummary>> ours =
      docker::list_para_containers(*client, repo.root);
  if (!ours) return fail(ours.error());
  std::vector<docker::ContainerSummary> orphans;
  for (const docker::ContainerSummary& c : *ours) {
    auto label = c.labels.find(docker::kSessionLabel);
    if (label == c.labels.end() || !live(label->second)) orphans.push_back(c);
  }
  return orphans;
}

Result<std::unique_ptr<ContainerAgent>> ContainerAgent::start(const Repo& repo,
                                                              const SessionState& s,
                                                              const docker::Client& client,
                                                              const std::vector<std::string>& argv,
                                                              int log_fd, bool gated) {
  const bool remote = client.remote();
  // The branch's starting value is made durable while the daemon works (it
  // must be before the agent runs).
  std::string base;
  Result<docker::ContainerSpec> spec = session_container_spec(repo, s, argv, remote, gated, &base);
  if (!spec) return fail(spec.error());
  std::unique_ptr<ContainerAgent> agent(
      new ContainerAgent(client, s.worktree_path, repo.session_dir(s.name) + "/incoming"));
  agent->user_ = spec->user;
  std::future<Result<void>> durable = std::async(std::launch::async, [&base]() -> Result<void> {
    return base.empty() ? Result<void>() : make_durable(base);
  });
  Result<std::string> id = docker::create_container(agent->client_, *spec);
  if (!id && id.error().code == Errc::conflict) {
    // A container left by a supervisor that died holds the name: remove
    // the session's own (by label; never a foreign container) and retry.
    Result<int> removed = remove_labelled(agent->client_, repo, s.name);
    if (!removed) return fail(removed.error());
    if (*removed > 0) id = docker::create_container(agent->client_, *spec);
  }
  if (!id) return fail(id.error());
  agent->id_ = *id;
  if (auto r = durable.get(); !r) return fail(r.error());
  if (remote) {
    if (auto r = docker::copy_into(agent->client_, *id, s.worktree_path, "/",
                                   docker::TarOptions{.prefix = "workspace"});
        !r) {
      return fail(r.error());
    }
  }
  if (gated) {
    // The daemon takes most of a start's time; the gate may open meanwhile.
    ContainerAgent* self = agent.get();
    agent->starting_ = std::async(
        std::launch::async, [self] { return docker::start_container(self->client_, self->id_); });
    return agent;
  }
  if (auto r = docker::start_container(agent->client_, *id); !r) return fail(r.error());
  if (s.setup_script) {
    if (auto r = agent->run_setup(repo, s, log_fd); !r) return fail(r.error());
  }
  agent->watch(log_fd);
  return agent;
}

void ContainerAgent::watch(int log_fd) {
  if (Result<docker::ContainerState> st = docker::inspect_container(client_, id_); st) {
    pid_ = st->pid;
    host_config_ = st->host_config;
  }
  logs_ = std::thread(
      [this, log_fd] { (void)docker::follow_logs(client_, id_, docker::fd_output(log_fd)); });
  waiter_ = std::thread([this] {
    Result<docker::ContainerExit> exit = docker::wait_container(client_, id_);
    {
      std::lock_guard lock(mutex_);
      exit_ = exit ? *exit : docker::ContainerExit{.exit_code = 127, .error = exit.error().message};
    }
    ::kill(::getpid(), SIGCHLD);  // wakes a caller waiting for signals (poll())
  });
}

ContainerAgent::~ContainerAgent() {
  if (starting_.valid()) starting_.wait();
  if (!removed_ && !id_.empty()) (void)docker::remove_container(client_, id_);
  if (waiter_.joinable()) waiter_.join();
  if (logs_.joinable()) logs_.join();
}

Result<void> ContainerAgent::release(const Repo& repo, const SessionState& s, int log_fd) {
  // Without a setup script the gate opens at once, while the daemon may
  // still be starting the container.
  if (!s.setup_script) {
    if (auto r = open_gate(repo, s); !r) return r;
  }
  Result<void> started = starting_.valid() ? starting_.get() : Result<void>();
  if (!started) return fail(started.error());
  if (s.setup_script) {
    if (auto r = run_setup(repo, s, log_fd); !r) return r;
  }
  watch(log_fd);
  return {};
}

Result<void> ContainerAgent::open_gate(const Repo& repo, const SessionState& s) {
  return write_file_atomic(gate_dir(repo, s) + "/" + kGateFile, "", 0644, Sync::replace_only);
}

Result<void> ContainerAgent::run_setup(const Repo& repo, const SessionState& s, int log_fd) {
  Result<int> code = docker::exec(
      client_, id_,
      docker::ExecSpec{.cmd = {"/bin/sh", kSetupInside},
                       .env = {{"PARA_WORKSPACE", kWorkspaceInside}, {"PARA_SESSION", s.name}},
                       .working_dir = kWorkspaceInside,
                       .user = user_},
      docker::fd_output(log_fd));
  if (!code) return fail(code.error());
  if (*code != 0) {
    return fail(Errc::tool_failed, "the setup script " + *s.setup_script + " exited with code " +
                                       std::to_string(*code) +
                                       " in the container; its output is in " +
                                       repo.log_path(s.name));
  }
  return open_gate(repo, s);
}

std::optional<docker::ContainerExit> ContainerAgent::poll() {
  std::lock_guard lock(mutex_);
  return exit_;
}

void ContainerAgent::signal(const char* name) {
  (void)docker::kill_container(client_, id_, name);
}

Result<std::string> ContainerAgent::finish(const docker::ContainerExit& exit) {
  if (waiter_.joinable()) waiter_.join();
  if (logs_.joinable()) logs_.join();
  if (client_.remote()) {
    // Into a staging directory first: the worktree is replaced only once the
    // whole workspace has arrived.
    std::error_code ec;
    fs::remove_all(staging_, ec);
    if (auto r = make_dirs(staging_, 0700); !r) return fail(r.error());
    if (auto r = docker::copy_out(client_, id_, kWorkspaceInside, staging_); !r) {
      removed_ = true;  // keep the container: the work is still in it
      return fail(Errc::io, "could not copy the workspace out of the container (it is kept as " +
                                container_name(fs::path(worktree_).filename()) +
                                "): " + r.error().message);
    }
    for (const fs::directory_entry& e : fs::directory_iterator(worktree_)) {
      if (e.path().filename() != ".git") fs::remove_all(e.path(), ec);
    }
    for (const fs::directory_entry& e : fs::directory_iterator(staging_)) {
      if (e.path().filename() == ".git") continue;
      fs::rename(e.path(), fs::path(worktree_) / e.path().filename(), ec);
      if (ec) return fail(Errc::io, "could not move " + e.path().string() + ": " + ec.message());
    }
    fs::remove_all(staging_, ec);
  }
  if (auto r = docker::remove_container(client_, id_); !r && r.error().code != Errc::not_found) {
    return fail(r.error());
  }
  removed_ = true;
  return "the agent's container " + docker::describe_exit(exit, host_config_);
}

Result<json> build_agent_image(const BuildImageRequest& rq, const Progress& progress) {
  docker::BuildOptions options;
  options.context_dir = fs::path(rq.cwd).empty() || rq.context.starts_with("/")
                            ? rq.context
                            : (fs::path(rq.cwd) / rq.context).lexically_normal().string();
  options.tag = rq.tag.value_or(docker::kDefaultImage);
  options.no_cache = rq.no_cache;
  for (const std::string& add : rq.add_files) {
    const size_t colon = add.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == add.size()) {
      return fail(Errc::invalid_argument,
                  "add_files entry '" + add + "': expected HOST_PATH:NAME_IN_CONTEXT");
    }
    options.extra_files.emplace_back(add.substr(0, colon), add.substr(colon + 1));
  }
  Result<docker::Client> client = docker::Client::from_env();
  if (!client) return fail(client.error());
  double last = 0;
  Result<docker::BuildResult> built =
      docker::build_image(*client, options, [&](const docker::Progress& p) {
        if (!progress.report || (!p.step && p.fraction < 0)) return;
        if (p.fraction >= 0) last = p.fraction * 100;
        progress.report(last, 100.0, p.message);
      });
  if (!built) return fail(built.error());
  return json{{"image_id", built->image_id},
              {"tag", built->tag},
              {"context", options.context_dir},
              {"message", "built " + built->tag + " (" + built->image_id + ")"}};
}

}  // namespace para::session
