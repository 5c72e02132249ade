#include "tests/integration/sandbox/fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "sandbox/cache_overlay.h"
#include "sandbox/explain.h"
#include "sandbox/launch.h"

namespace para::test {
namespace {

void write_file(const std::string& path, const std::string& content, int mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_text(path, content, mode);
}

}  // namespace

SandboxHost::SandboxHost() {
  repo = dir / "repo";
  git_dir = repo + "/.git";
  home = dir / "home";
  runtime = dir / "run";
  state = repo + "/.para/state";
  worktree = repo + "/.para/worktrees/" + session;
  other_worktree = repo + "/.para/worktrees/" + other;
  std::filesystem::create_directories(repo);
  std::filesystem::create_directories(home + "/.config");
  env = isolated_env(home);
  // Sanitizer runtimes inside the sandbox must not need ptrace for leak checks.
  env.push_back("ASAN_OPTIONS=detect_leaks=0");

  git_out({"init", "-q", "-b", "main"});
  write_file(repo + "/README.md", "# repository\n");
  write_file(repo + "/.gitignore", ".para/\n");
  git_out({"add", "-A"});
  git_out({"commit", "-q", "-m", "initial"});
  write_file(repo + "/.para/config.toml", "[sandbox]\nenabled = true\n");
  write_file(repo + "/.para/setup.sh", "#!/bin/sh\necho setup\n", 0755);
  for (const std::string& name : {session, other}) {
    git_out({"worktree", "add", "-q", "-b", "para/" + name, repo + "/.para/worktrees/" + name});
    write_file(state + "/" + name + ".state", "{\"name\": \"" + name + "\"}\n");
    write_file(state + "/" + name + ".log", "log of " + name + "\n");
    std::filesystem::create_directories(state + "/" + name);
  }
  // Things inside the session worktree that must stay protected.
  write_file(worktree + "/.claude/commands/deploy.md", "run the tests\n");
  write_file(worktree + "/.envrc", "export A=1\n");
  write_file(worktree + "/.vscode/tasks.json", "{}\n");
  git_out({"init", "-q", "-b", "main", worktree + "/sub/nested"});

  // The fake home: secrets, startup files, Claude Code's state.
  for (const char* secret :
       {".ssh/id_ed25519", ".aws/credentials", ".gnupg/private-keys-v1.d/key",
        ".config/gh/hosts.yml", ".docker/config.json", ".kube/config", ".netrc", ".git-credentials",
        ".local/share/jupyter/runtime/jpserver-4242.json"}) {
    write_file(home + "/" + secret, std::string(kSecret) + " " + secret + "\n", 0600);
  }
  write_file(home + "/.gitconfig", "[user]\n\tname = Para Test\n");
  write_file(home + "/.bashrc", "# bashrc\n");
  write_file(home + "/.profile", "# profile\n");
  write_file(home + "/.claude/settings.json", "{}\n");
  write_file(home + "/.claude/projects/x.jsonl", "{}\n");
  write_file(home + "/.claude.json", "{}\n");
  write_file(home + "/.cache/tool/entry", "cached\n");
}

SandboxHost::~SandboxHost() {
  // `para sandbox run` in a session worktree keeps that session's runtime
  // directory (<tmp>/para-<uid>/<hash>-<name>); the test's sessions end here.
  const char* tmp = std::getenv("TMPDIR");
  for (const std::string& base :
       {std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp"), std::string("/tmp")}) {
    for (const std::string& name : {session, other}) {
      const std::string session_runtime =
          sandbox::default_runtime_dir(base, ::getuid(), repo, name);
      sandbox::make_cache_layers_removable(session_runtime);
      std::error_code ec;
      std::filesystem::remove_all(session_runtime, ec);
    }
  }
}

Completed SandboxHost::git(const std::vector<std::string>& args, const std::string& cwd) const {
  std::vector<std::string> argv = {"git", "-C", cwd.empty() ? repo : cwd};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env, repo);
}

std::string SandboxHost::git_out(const std::vector<std::string>& args,
                                 const std::string& cwd) const {
  Completed c = git(args, cwd);
  if (!c.ok()) throw std::runtime_error("git failed: " + c.err);
  return trim(c.out);
}

sandbox::PolicyInputs SandboxHost::inputs(const std::string& profile, bool as_session) const {
  sandbox::PolicyInputs in;
  in.repo_root = repo;
  in.git_common_dir = git_dir;
  in.worktree = as_session ? worktree : repo;
  if (as_session) {
    in.session = session;
    in.state_dir = state;
  }
  in.runtime_dir = runtime;
  in.home = home;
  in.profile = profile;
  in.environment = env;
  in.para_bin = built_binary("para");
  if (const char* relay = std::getenv("PARA_RELAY_BIN")) in.relay_bin = relay;
  return in;
}

sandbox::Policy SandboxHost::policy(const std::string& profile, bool as_session,
                                    std::optional<sandbox::NetworkMode> network) const {
  sandbox::PolicyInputs in = inputs(profile, as_session);
  in.network_override = network;
  Result<sandbox::Policy> p = sandbox::build_policy(in);
  if (!p) throw std::runtime_error("build_policy: " + p.error().message);
  if (auto r = sandbox::prepare_host(*p); !r) {
    throw std::runtime_error("prepare_host: " + r.error().message);
  }
  return *p;
}

std::string probe_path() {
  const char* root = std::getenv("PARA_BUILD_ROOT");
  if (root == nullptr) throw std::runtime_error("PARA_BUILD_ROOT is not set; use meson test");
  return std::string(root) + "/tests/integration/sandbox/sandbox-probe";
}

Completed in_sandbox(const sandbox::Policy& policy, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout) {
  TempDir io("para-sbx-io");
  const std::string out_path = io / "out", err_path = io / "err";
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Fd err(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Result<sandbox::Launched> launched = sandbox::launch(
      policy, argv, sandbox::LaunchOptions{.stdout_fd = out.get(), .stderr_fd = err.get()});
  if (!launched) throw std::runtime_error("launch: " + launched.error().message);
  Result<ExitStatus> status = sandbox::wait_sandboxed(*launched, timeout);
  if (!status && status.error().code == Errc::timeout) {
    sandbox::kill_sandbox(*launched);
    status = sandbox::wait_sandboxed(*launched);
  }
  Completed c;
  c.out = read_text(out_path);
  c.err = read_text(err_path);
  if (!status) throw std::runtime_error("sandbox: " + status.error().message + "\n" + c.err);
  c.exit_code = status->exit_code;
  c.term_signal = status->term_signal;
  return c;
}

bool probe_allowed(const sandbox::Policy& policy, const std::vector<std::string>& args,
                   std::string* output) {
  std::vector<std::string> argv = {probe_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  Completed c = in_sandbox(policy, argv);
  if (output != nullptr) *output = c.out + c.err;
  if (c.exit_code == 2 || (c.exit_code != 0 && c.out.find("BLOCKED") == std::string::npos)) {
    throw std::runtime_error("probe did not run: exit " + std::to_string(c.exit_code) + ": " +
                             c.out + c.err);
  }
  return c.exit_code == 0;
}

LoopbackServer::LoopbackServer(Kind kind, const std::string& host) : kind_(kind) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  if (kind == Kind::tcp || kind == Kind::udp) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const bool v6 = host.find(':') != std::string::npos;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      ::inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      ::inet_pton(AF_INET, host.c_str(), &a->sin_addr);
      len = sizeof *a;
    }
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET,
                   (kind == Kind::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      throw std::runtime_error("bind " + host + ": " + std::strerror(errno));
    }
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  } else {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const bool abstract = kind == Kind::unix_abstract;
    std::memcpy(a.sun_path + (abstract ? 1 : 0), host.data(), host.size());
    const auto len =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + host.size() + (abstract ? 1 : 0));
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0) {
      throw std::runtime_error("bind unix " + host + ": " + std::strerror(errno));
    }
  }
  if (kind != Kind::udp && ::listen(fd_, 16) != 0) throw std::runtime_error("listen");
  thread_ = std::thread([this] { serve(); });
}

LoopbackServer::~LoopbackServer() {
  (void)!::write(stop_pipe_[1], "x", 1);
  thread_.join();
  ::close(fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void LoopbackServer::serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    if (kind_ == Kind::udp) {
      char buf[512];
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n >= 0) {
        ++hits_;
        ::sendto(fd_, "hello", 5, 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      continue;
    }
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      ++hits_;
      (void)!::write(c, "hello", 5);
      ::close(c);
    }
  }
}

std::vector<LoopbackTargets::Target> LoopbackTargets::all() const {
  return {
      {"tcp4", "TCP over IPv4", {"tcp", "127.0.0.1", std::to_string(tcp4.port())}, &tcp4},
      {"tcp6", "TCP over IPv6", {"tcp", "::1", std::to_string(tcp6.port())}, &tcp6},
      {"udp4", "UDP over IPv4", {"udp", "127.0.0.1", std::to_string(udp4.port())}, &udp4},
      {"udp6", "UDP over IPv6", {"udp", "::1", std::to_string(udp6.port())}, &udp6},
      {"dns", "a DNS query", {"dns", "127.0.0.1", std::to_string(dns.port())}, &dns},
  };
}

int LoopbackTargets::hits() const {
  return tcp4.hits() + tcp6.hits() + udp4.hits() + udp6.hits() + dns.hits();
}

std::vector<pid_t> host_processes_with(const std::string& marker) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmdline = read_text(e.path().string() + "/cmdline");
    for (char& ch : cmdline) {
      if (ch == '\0') ch = ' ';
    }
    if (cmdline.find(marker) != std::string::npos && std::stoi(name) != ::getpid()) {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

}  // namespace para::test
