#include "session/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "core/clock.h"
#include "core/fd.h"
#include "core/fs.h"
#include "core/json_input.h"
#include "core/log.h"
#include "core/process.h"
#include "sandbox/launch.h"
#include "session/agent.h"
#include "session/container.h"
#include "session/log_pump.h"
#include "session/procs.h"
#include "session/sandboxing.h"
#include "session/session_proxy.h"
#include "session/store.h"

namespace para::session {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The steps of the go-ahead on the supervisor's socket (supervisor.h).
constexpr char kStepState = 's';
constexpr char kStepRegistered = 'r';
constexpr char kStepReady = 'g';

// "[para] ..." marker lines in the session log, between the agent's output.
void log_line(int log_fd, const std::string& text) {
  write_all(log_fd, "[para " + rfc3339(std::chrono::system_clock::now()) + "] " + text + "\n");
}

std::string now() {
  return rfc3339(std::chrono::system_clock::now());
}

// Kills every process that is (transitively) our child except `keep`, and
// reaps them. As a child subreaper we inherit every orphan the agent left.
void kill_descendants(pid_t self) {
  for (int round = 0; round < 50; ++round) {
    std::vector<pid_t> kids = child_processes(self);
    if (kids.empty()) return;
    for (pid_t kid : kids) {
      for (pid_t grandchild : child_processes(kid)) ::kill(grandchild, SIGKILL);
      ::kill(kid, SIGKILL);
    }
    const auto until = Clock::now() + std::chrono::milliseconds(200);
    while (Clock::now() < until) {
      int status;
      const pid_t r = ::waitpid(-1, &status, WNOHANG);
      if (r < 0 && errno == ECHILD) break;
      if (r <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

// The agent as the supervisor sees it: a plain process group, a bwrap
// sandbox (whose pid namespace dies with bwrap), or a Docker container.
class AgentProcess {
 public:
  pid_t pid() const { return pid_; }

  // The exit status once the agent has exited; nullopt while it runs.
  std::optional<ExitStatus> poll() {
    if (container_) {
      std::optional<docker::ContainerExit> done = container_->poll();
      if (!done) return std::nullopt;
      container_exit_ = *done;
      return ExitStatus{.exit_code = done->exit_code};
    }
    if (sandbox_) {
      Result<ExitStatus> st = sandbox::wait_sandboxed(*sandbox_, std::chrono::milliseconds(0));
      if (st) return *st;
      if (st.error().code == Errc::timeout) return std::nullopt;
      error_ = st.error().message;
      return ExitStatus{.exit_code = 127};
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) return std::nullopt;
    ExitStatus out;
    if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) out.term_signal = WTERMSIG(status);
    return out;
  }

  // A graceful stop: SIGTERM to a plain agent's group. A sandbox has no
  // graceful path (bwrap forwards no signals), so it is ended at once.
  void terminate() {
    if (container_)
      container_->signal("SIGTERM");
    else if (sandbox_)
      sandbox::kill_sandbox(*sandbox_);
    else
      ::kill(-pid_, SIGTERM);
  }
  void kill() {
    if (container_)
      container_->signal("SIGKILL");
    else if (sandbox_)
      sandbox::kill_sandbox(*sandbox_);
    else
      ::kill(-pid_, SIGKILL);
  }
  const std::string& error() const { return error_; }

  // After the agent exited: the container's output flushed, the workspace
  // copied back (remote engines), the container removed. Returns how the
  // agent ended, or nullopt for agents that are not containers.
  std::optional<std::string> finish_container() {
    if (!container_) return std::nullopt;
    Result<std::string> done = container_->finish(container_exit_);
    if (!done) {
      error_ = done.error().message;
      return std::nullopt;
    }
    return *done;
  }
  // After the agent and its descendants are gone: the last of a sandboxed
  // agent's output is in the log, before para's closing lines.
  void finish_output() {
    if (output_) output_->finish();
  }
  bool oom_killed() const { return container_exit_.oom_killed; }
  std::optional<std::string> container_id() const {
    return container_ ? std::optional<std::string>(container_->id()) : std::nullopt;
  }

  static Result<AgentProcess> plain(pid_t pid) {
    AgentProcess a;
    a.pid_ = pid;
    return a;
  }
  static Result<AgentProcess> in_sandbox(sandbox::Launched launched,
                                         std::unique_ptr<LogPump> output) {
    AgentProcess a;
    a.pid_ = launched.pid;
    a.sandbox_ = std::move(launched);
    a.output_ = std::move(output);
    return a;
  }
  static Result<AgentProcess> in_container(std::unique_ptr<ContainerAgent> container) {
    AgentProcess a;
    a.pid_ = container->pid();
    a.container_ = std::move(container);
    return a;
  }

 private:
  pid_t pid_ = -1;
  std::optional<sandbox::Launched> sandbox_;
  std::unique_ptr<LogPump> output_;  // a sandboxed agent's stdout and stderr
  std::unique_ptr<ContainerAgent> container_;
  docker::ContainerExit container_exit_;
  std::string error_;
};

// The agent command expanded for inside a container.
Result<std::vector<std::string>> container_argv(const Repo& repo, const SessionState& s) {
  Result<std::string> prompt =
      read_file(s.prompt_file.value_or(repo.task_path(s.name)), size_t(64) << 20);
  return expand_agent_command(s.agent_command, AgentValues{.prompt = prompt ? *prompt : "",
                                                           .prompt_file = kPromptInside,
                                                           .session = s.name,
                                                           .worktree = kWorkspaceInside});
}

// Builds the agent's argv and environment from the state and starts it, in
// the session's sandbox or container when it has one. A container session
// passes its connection to the daemon, and the container when it was
// started already, behind its gate, while the worktree was checked out.
Result<AgentProcess> launch_agent(const Repo& repo, const SessionState& s, int log_fd,
                                  const docker::Client* client,
                                  std::unique_ptr<ContainerAgent> started) {
  if (s.is_container) {
    if (!started) {
      Result<std::vector<std::string>> inside = container_argv(repo, s);
      if (!inside) return fail(inside.error());
      Result<std::unique_ptr<ContainerAgent>> c =
          ContainerAgent::start(repo, s, *client, *inside, log_fd);
      if (!c) return fail(c.error());
      return AgentProcess::in_container(std::move(*c));
    }
    if (auto r = started->release(repo, s, log_fd); !r) return fail(r.error());
    return AgentProcess::in_container(std::move(started));
  }
  const std::string prompt_file = s.prompt_file.value_or(repo.task_path(s.name));
  Result<std::string> prompt = read_file(prompt_file, size_t(64) << 20);
  AgentValues values{.prompt = prompt ? *prompt : std::string(),
                     .prompt_file = prompt_file,
                     .session = s.name,
                     .worktree = s.worktree_path};
  Result<std::vector<std::string>> argv = expand_agent_command(s.agent_command, values);
  if (!argv) return fail(argv.error());
  std::vector<std::string> env = current_environment();
  // The MCP server's token would let the agent call para's tools itself.
  std::erase_if(env, [](const std::string& kv) { return kv.rfind("PARA_MCP_", 0) == 0; });
  set_env(env, "PARA_SESSION", s.name);
  set_env(env, "PARA_WORKSPACE", s.worktree_path);
  set_env(env, "PARA_PROMPT_FILE", values.prompt_file);
  if (Result<std::string> para = sibling_program("para"); para) set_env(env, "PARA_BIN", *para);
  if (s.sandbox_enabled) {
    Result<sandbox::Policy> policy = session_policy(repo, s, env);
    if (!policy) return fail(policy.error());
    if (auto r = sandbox::prepare_host(*policy); !r) return fail(r.error());
    Result<std::unique_ptr<LogPump>> output = LogPump::start(log_fd);
    if (!output) return fail(output.error());
    const int out = (*output)->write_end();
    Result<sandbox::Launched> launched =
        sandbox::launch(*policy, *argv, sandbox::LaunchOptions{.stdout_fd = out, .stderr_fd = out});
    if (!launched) return fail(launched.error());
    (*output)->close_write_end();
    return AgentProcess::in_sandbox(std::move(*launched), std::move(*output));
  }
  Result<pid_t> pid = spawn(SpawnOptions{.argv = *argv,
                                         .env = env,
                                         .cwd = s.worktree_path,
                                         .stdout_fd = log_fd,
                                         .stderr_fd = log_fd,
                                         .new_group = true});
  if (!pid) {
    return fail(Errc::unavailable, "cannot start the agent " + (*argv)[0] + ": " +
                                       pid.error().message +
                                       ". Check [agent] command in the config (para config show).");
  }
  return AgentProcess::plain(*pid);
}

// Reads the next step of the spawner's go-ahead; false at end of file or
// on anything but `step`.
bool await_step(int fd, char step) {
  char got = 0;
  ssize_t n;
  do {
    n = ::read(fd, &got, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1 && got == step;
}

// Reaps zombies the agent left to us (we are a subreaper), never the agent:
// its status is AgentProcess::poll()'s. Looks only at exited children, so it
// costs nothing while none has exited.
void reap_orphans(pid_t agent) {
  for (;;) {
    siginfo_t exited{};
    if (::waitid(P_ALL, 0, &exited, WEXITED | WNOHANG | WNOWAIT) != 0) return;
    if (exited.si_pid == 0 || exited.si_pid == agent) return;
    ::waitpid(exited.si_pid, nullptr, WNOHANG);
  }
}

// How long the wait for the agent may sleep: until the stop's deadline, or
// until a signal. Every end of an agent is one: a plain or sandboxed agent
// is our child (SIGCHLD), a container's waiter raises SIGCHLD.
std::optional<timespec> time_left(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return std::nullopt;
  const auto left = std::max(Clock::duration::zero(), deadline - Clock::now());
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

// Returns with `ready` still open unless the agent was launched: the
// caller then exits without closing it first, so that the spawner, waiting
// for end of file, knows this process is gone (abort(), go()).
int run_supervisor(const Repo& repo, const std::string& name, Fd& ready, bool connect_now,
                   const std::optional<std::string>& check_image) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals, sig);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A container session connects to the daemon (loading the HTTP module,
  // /_ping) while the state, the proxy and the mounts are prepared. Asked
  // to, it checks the image too and reports (the first line on `ready`).
  std::future<Result<docker::Client>> daemon;
  auto connect = [&, channel = ready.get()] {
    daemon = std::async(std::launch::async, [channel, check_image] {
      Result<docker::Client> client = docker::Client::from_env();
      if (check_image) {
        Result<void> checked =
            client ? check_daemon_has_image(*client, *check_image) : Result<void>(client.error());
        write_all(channel, (checked ? json{{"daemon", "ready"}}
                                    : json{{"ok", false},
                                           {"code", errc_name(checked.error().code)},
                                           {"error", checked.error().message}})
                                   .dump() +
                               "\n");
      }
      return client;
    });
  };
  auto report = [&](const json& j) {
    if (daemon.valid()) daemon.wait();  // its report comes first
    if (ready.valid()) write_all(ready.get(), j.dump() + "\n");
    if (j.value("ok", false)) ready.reset();
  };
  if (connect_now) connect();
  if (!await_step(ready.get(), kStepState)) return 0;

  Result<SessionState> state = read_session(repo, name);
  if (!state) {
    report({{"ok", false}, {"error", state.error().message}});
    return 1;
  }
  Fd log(::open(repo.log_path(name).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) {
    report({{"ok", false},
            {"error",
             "cannot open the session log " + repo.log_path(name) + ": " + std::strerror(errno)}});
    return 1;
  }
  const pid_t self = ::getpid();
  const uint64_t self_start = process_start_time(self).value_or(0);
  auto failed = [&](const std::string& error) {
    log_line(log.get(), "agent failed to start: " + error);
    (void)update_session(repo, name, [&](SessionState& st) {
      st.agent.state = "failed";
      st.agent.error = error;
      st.agent.supervisor_pid.reset();
    });
    report({{"ok", false}, {"error", error}});
    return 1;
  };

  if (state->is_container && !daemon.valid()) connect();

  // Network-isolated sessions reach the world only through their proxy.
  std::unique_ptr<SessionProxy> session_proxy;
  if ((state->sandbox_enabled || state->is_container) && state->network_mode == "proxied") {
    Result<std::unique_ptr<SessionProxy>> started = SessionProxy::start(repo, *state);
    if (!started) return failed(started.error().message);
    session_proxy = std::move(*started);
    log_line(log.get(), "session proxy listening on " + session_proxy->endpoint());
  }

  // The rest of the go-ahead (end of file calls the start off: the spawner
  // failed or died). Registered: the worktree, its git files and the prompt
  // exist, so a local container can be created and started, its agent held
  // behind the relay's gate. Ready: the files are checked out, so the agent
  // may run.
  if (!await_step(ready.get(), kStepRegistered)) return 0;
  state = read_session(repo, name);
  if (!state) return failed(state.error().message);
  if (!state->worktree_git_dir) {
    // A start records it only once Active: git's files name it.
    state->worktree_git_dir = repo.worktree_admin_dir(state->worktree_path);
  }
  std::string where;
  if (state->is_container) {
    where = " in the container " + container_name(name) + " (" +
            state->container.value("image", std::string("the configured image")) + ")";
  } else if (state->sandbox_enabled) {
    where = " in the sandbox (" + state->sandbox_profile.value_or("standard") + ")";
  }
  std::optional<docker::Client> client;
  std::unique_ptr<ContainerAgent> container;
  if (state->is_container) {
    Result<docker::Client> connected = daemon.get();
    if (!connected) return failed(connected.error().message);
    client = std::move(*connected);
    if (!client->remote()) {
      log_line(log.get(), "starting the container" + where);
      Result<std::vector<std::string>> inside = container_argv(repo, *state);
      if (!inside) return failed(inside.error().message);
      Result<std::unique_ptr<ContainerAgent>> started =
          ContainerAgent::start(repo, *state, *client, *inside, log.get(), /*gated=*/true);
      if (!started) return failed(started.error().message);
      container = std::move(*started);
    }
  }
  // Returning now removes a container started above.
  if (!await_step(ready.get(), kStepReady)) return 0;

  log_line(log.get(), "starting the agent" + where);
  Result<AgentProcess> agent =
      launch_agent(repo, *state, log.get(), client ? &*client : nullptr, std::move(container));
  if (!agent) return failed(agent.error().message);
  (void)update_session(repo, name, [&](SessionState& st) {
    st.agent = AgentRecord{};
    st.agent.state = "running";
    st.agent.supervisor_pid = self;
    st.agent.supervisor_start = self_start;
    st.agent.pid = agent->pid();
    st.agent.pid_start = process_start_time(agent->pid());
    st.agent.started_at = now();
    if (std::optional<std::string> id = agent->container_id()) st.container_id = *id;
  });
  report({{"ok", true},
          {"supervisor_pid", self},
          {"supervisor_start", self_start},
          {"agent_pid", agent->pid()}});

  // Wait for the agent, or for a stop request.
  bool stopping = false;
  Clock::time_point kill_at = Clock::time_point::max();
  ExitStatus exit;
  for (;;) {
    if (std::optional<ExitStatus> done = agent->poll()) {
      exit = *done;
      break;
    }
    reap_orphans(agent->pid());
    if (stopping && Clock::now() >= kill_at) {
      agent->kill();
      kill_at = Clock::time_point::max();
    }
    std::optional<timespec> wait = time_left(kill_at);
    const int sig = ::sigtimedwait(&signals, nullptr, wait ? &*wait : nullptr);
    if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !stopping) {
      stopping = true;
      log_line(log.get(), "stopping the agent");
      agent->terminate();
      kill_at = Clock::now() + std::chrono::seconds(5);
    }
  }
  kill_descendants(self);
  agent->finish_output();
  std::optional<std::string> container_end = agent->finish_container();
  session_proxy.reset();
  if (!agent->error().empty()) log_line(log.get(), agent->error());
  if (container_end) log_line(log.get(), *container_end);
  if (stopping) {
    log_line(log.get(), "agent stopped");
  } else if (exit.term_signal != 0) {
    log_line(log.get(), "agent killed by signal " + std::to_string(exit.term_signal));
  } else {
    log_line(log.get(), "agent exited with code " + std::to_string(exit.exit_code));
  }
  std::vector<std::string> left_out;  // kept in the state for finish to report
  if (Result<SessionState> now_state = read_session(repo, name); now_state) {
    if (!now_state->worktree_git_dir) now_state->worktree_git_dir = state->worktree_git_dir;
    if (Result<std::vector<std::string>> notes = settle_sandboxed_git(repo, *now_state); !notes) {
      log_line(log.get(),
               "could not copy the session branch out of the sandbox: " + notes.error().message);
    } else {
      for (const std::string& note : *notes) log_line(log.get(), note);
      left_out = std::move(*notes);
    }
  }
  (void)update_session(repo, name, [&](SessionState& st) {
    st.sandbox_notes.insert(st.sandbox_notes.end(), left_out.begin(), left_out.end());
    st.agent.state = stopping ? "stopped" : "exited";
    if (exit.exit_code >= 0) st.agent.exit_code = exit.exit_code;
    if (exit.term_signal != 0) st.agent.term_signal = exit.term_signal;
    if (!agent->error().empty()) st.agent.error = agent->error();
    if (agent->oom_killed()) st.agent.oom_killed = true;
    st.agent.ended_at = now();
    st.last_activity = now();
  });
  return 0;
}

}  // namespace

int supervisor_main(const std::vector<std::string>& args) {
  const bool container = (args.size() == 5 || args.size() == 6) && args[4] == "container" &&
                         (args.size() == 5 || !args[5].empty());
  if (args.size() != 4 && !container) {
    log::error("supervisor") << "usage: " << kSuperviseCommand
                             << " REPO SESSION READY_FD GIT_COMMON_DIR [container [IMAGE]]";
    return 2;
  }
  Fd ready(std::atoi(args[2].c_str()));
  ::fcntl(ready.get(), F_SETFD, FD_CLOEXEC);
  // Detach: the middle process exits now so the spawner reaps it at once.
  const pid_t child = ::fork();
  if (child < 0) return 1;
  if (child > 0) {
    (void)ready.release();
    ::_exit(0);
  }
  ::setsid();
  Result<Repo> repo = open_known_repo(args[0], args[3]);
  int rc = 1;
  if (!repo) {
    write_all(ready.get(), json{{"ok", false}, {"error", repo.error().message}}.dump() + "\n");
  } else {
    rc = run_supervisor(*repo, args[1], ready, container,
                        args.size() == 6 ? std::optional<std::string>(args[5]) : std::nullopt);
  }
  if (ready.valid()) {
    // Not launched (called off, or failed): everything is cleaned up, and
    // the kernel closes the fd only once this process has let go of its
    // memory, so end of file means it is gone.
    (void)ready.release();
    ::_exit(rc);
  }
  return rc;
}

Result<PendingSupervisor> spawn_supervisor(const Repo& repo, const std::string& name,
                                           bool container,
                                           const std::optional<std::string>& check_image) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return fail(Errc::io, "socketpair failed", errno);
  }
  Fd ours(fds[0]), theirs(fds[1]);
  std::vector<std::string> argv = {
      self_executable(), kSuperviseCommand, repo.root, name, std::to_string(theirs.get()),
      repo.common_dir};
  if (container || check_image) argv.push_back("container");
  if (check_image) argv.push_back(*check_image);
  Result<pid_t> pid = spawn(SpawnOptions{
      .argv = std::move(argv), .cwd = repo.root, .new_session = true, .keep_fds = {theirs.get()}});
  if (!pid) return fail(pid.error());
  return PendingSupervisor(std::move(ours), *pid, repo.log_path(name));
}

void PendingSupervisor::reap() {
  if (middle_ > 0) (void)wait_for(middle_, std::chrono::seconds(10));
  middle_ = -1;
}

void PendingSupervisor::abort() {
  if (!channel_.valid()) return;
  ::shutdown(channel_.get(), SHUT_WR);
  wait_gone();
}

void PendingSupervisor::wait_gone() {
  // Its end closes when it has exited, after removing what it made (the
  // proxy socket, a container).
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  char buf[256];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{channel_.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) < 0) break;
    if (::read(channel_.get(), buf, sizeof buf) <= 0) break;
  }
  channel_.reset();
  reap();
}

void PendingSupervisor::send_step(char step) {
  // A supervisor that already gave up has reported why: go() reads that.
  (void)::send(channel_.get(), &step, 1, MSG_NOSIGNAL);
}

Result<json> PendingSupervisor::read_message(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  size_t nl;
  while ((nl = pending_.find('\n')) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      abort();
      return fail(Errc::timeout, "the session supervisor did not report within " +
                                     std::to_string(timeout.count()) + " s");
    }
    pollfd p{channel_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(channel_.get(), buf, sizeof buf);
    if (n <= 0) {
      channel_.reset();
      reap();
      return fail(Errc::internal,
                  "the session supervisor exited without reporting; see " + log_path_);
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
  json message = parse_untrusted_json(pending_.substr(0, nl));
  pending_.erase(0, nl + 1);
  if (message.is_discarded() || !message.is_object()) {
    return fail(Errc::internal, "the session supervisor sent a malformed report");
  }
  if (!message.value("ok", true)) {
    return fail(errc_from_name(message.value("code", std::string("tool_failed"))),
                message.value("error", std::string("the agent did not start")));
  }
  return message;
}

void PendingSupervisor::advance(char step) {
  // Every step up to `step` that was not sent yet, in order.
  static constexpr char kOrder[] = {kStepState, kStepRegistered, kStepReady};
  const size_t upto = static_cast<size_t>(std::find(kOrder, kOrder + 3, step) - kOrder);
  for (; sent_ <= upto && sent_ < 3; ++sent_) send_step(kOrder[sent_]);
}

void PendingSupervisor::state_written() {
  advance(kStepState);
}

Result<void> PendingSupervisor::daemon_checked(std::chrono::seconds timeout) {
  if (!channel_.valid()) return fail(Errc::internal, "the session supervisor is gone");
  Result<json> report = read_message(timeout);
  if (!report) return fail(report.error());
  return {};
}

void PendingSupervisor::registered() {
  advance(kStepRegistered);
}

Result<SupervisorInfo> PendingSupervisor::go(std::chrono::seconds timeout) {
  advance(kStepReady);
  Result<json> report = read_message(timeout);
  if (!report) {
    // It failed: the rollback may start once it is gone.
    if (channel_.valid()) wait_gone();
    return fail(report.error());
  }
  channel_.reset();
  reap();
  return SupervisorInfo{report->value("supervisor_pid", 0), report->value("supervisor_start", 0ull),
                        report->value("agent_pid", 0)};
}

Result<SupervisorInfo> launch_supervisor(const Repo& repo, const std::string& name,
                                         std::chrono::seconds timeout) {
  Result<PendingSupervisor> pending = spawn_supervisor(repo, name);
  if (!pending) return fail(pending.error());
  return pending->go(timeout);
}

namespace {

// Whether the process group named by the recorded agent pid is still the
// agent's: its leader is the recorded process (same start time), or the
// leader is gone while members remain (a pid is not reused while a group
// of that id exists). A pid reused by an unrelated process is never ours.
bool agent_group_is_ours(const AgentRecord& agent) {
  if (!agent.pid || *agent.pid <= 1) return false;
  const pid_t pid = static_cast<pid_t>(*agent.pid);
  if (::kill(-pid, 0) != 0) return false;
  const std::optional<uint64_t> start = process_start_time(pid);
  if (!start) return true;
  return agent.pid_start && *start == *agent.pid_start;
}

}  // namespace

bool supervisor_running(const SessionState& state) {
  if (!state.agent.supervisor_pid) return false;
  return process_alive(static_cast<pid_t>(*state.agent.supervisor_pid),
                       state.agent.supervisor_start);
}

Result<void> stop_supervisor(const SessionState& state, std::chrono::milliseconds grace) {
  if (!supervisor_running(state)) {
    // No supervisor (it crashed or was killed): stop an agent group it left.
    if (state.agent.state == "running" && agent_group_is_ours(state.agent)) {
      stop_process_group(static_cast<pid_t>(*state.agent.pid), grace);
    }
    return {};
  }
  const pid_t pid = static_cast<pid_t>(*state.agent.supervisor_pid);
  ::kill(pid, SIGTERM);
  const auto deadline = Clock::now() + grace + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (!process_alive(pid, state.agent.supervisor_start)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  if (agent_group_is_ours(state.agent)) ::kill(-static_cast<pid_t>(*state.agent.pid), SIGKILL);
  const auto hard = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < hard) {
    if (!process_alive(pid, state.agent.supervisor_start)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(Errc::timeout, "the supervisor of session '" + state.name + "' (pid " +
                                 std::to_string(pid) + ") did not stop");
}

Result<void> stop_agent(const Repo& repo, const SessionState& state) {
  if (auto r = stop_supervisor(state); !r) return r;
  if (!state.is_container) return {};
  Result<int> removed = remove_session_containers(repo, state.name);
  if (!removed) {
    return fail(removed.error().code,
                "could not remove the container of session '" + state.name +
                    "': " + removed.error().message +
                    ". Start the Docker Engine and run para clean --containers");
  }
  return {};
}

}  // namespace para::session
