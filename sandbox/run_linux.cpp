// The bubblewrap launcher (declared in launch.h). bwrap gets the policy's
// argv, the seccomp program through a memfd, a pipe for --json-status-fd
// (which tells a failed sandbox set-up from a failing command) and the
// policy's environment; nothing goes through a shell.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/fs.h"
#include "core/log.h"
#include "sandbox/bwrap.h"
#include "sandbox/cache_overlay.h"
#include "sandbox/launch.h"
#include "sandbox/seccomp.h"

namespace para::sandbox {
namespace {

constexpr const char* kInstallHint =
    "install the bubblewrap package (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf "
    "install bubblewrap; Arch: pacman -S bubblewrap)";

Result<std::string> locate_bwrap() {
  Result<std::string> path = find_program("bwrap");
  if (!path) {
    return fail(Errc::unavailable,
                std::string("the sandbox needs bubblewrap, but bwrap was not found in PATH: ") +
                    kInstallHint +
                    ". para does not run agents unsandboxed unless the user config "
                    "sets sandbox.fail_open = true");
  }
  return path;
}

Result<BwrapInfo> probe_bwrap() {
  Result<std::string> path = locate_bwrap();
  if (!path) return fail(path.error());
  Result<Completed> v =
      run(Command{.argv = {*path, "--version"}, .timeout = std::chrono::seconds(10)});
  if (!v || !v->ok()) {
    return fail(Errc::unavailable, *path +
                                       " --version failed; the bubblewrap installation is "
                                       "broken: reinstall it (" +
                                       kInstallHint + ")");
  }
  // "bubblewrap 0.8.0"
  const std::string& out = v->out;
  const size_t space = out.find(' ');
  std::string version = space == std::string::npos ? out : out.substr(space + 1);
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) {
    return fail(Errc::unavailable, "cannot read the bubblewrap version from '" + out + "'");
  }
  if (major == 0 && minor < 8) {
    return fail(Errc::unavailable, "bubblewrap " + version + " at " + *path +
                                       " is too old: para needs 0.8 or newer (for "
                                       "--disable-userns); " +
                                       kInstallHint);
  }
  return BwrapInfo{*path, version};
}

Result<Fd> memfd_with(const std::string& name, const std::string& bytes) {
  Fd fd(::memfd_create(name.c_str(), MFD_CLOEXEC));
  if (!fd.valid())
    return fail(Errc::io, std::string("memfd_create: ") + std::strerror(errno), errno);
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, std::string("write memfd: ") + std::strerror(errno), errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail(Errc::io, "lseek memfd failed", errno);
  return fd;
}

bool is_socket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

bool is_executable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<BwrapInfo> check_available() {
  static std::mutex mutex;
  static std::optional<Result<BwrapInfo>> cached;
  std::lock_guard<std::mutex> lock(mutex);
  if (!cached || !cached->has_value()) cached = probe_bwrap();  // retry after a failure
  return *cached;
}

Result<Launched> launch(const Policy& policy, const std::vector<std::string>& command,
                        const LaunchOptions& options) {
  if (command.empty()) return fail(Errc::invalid_argument, "no command to run in the sandbox");
  // No version probe here (it costs a process per run): a bwrap too old for
  // the argv fails before starting the command, and wait_sandboxed() then
  // probes to say why.
  Result<std::string> bwrap = locate_bwrap();
  if (!bwrap) return fail(bwrap.error());
  if (policy.network == NetworkMode::proxied) {
    if (policy.relay_bin.empty() || !is_executable(policy.relay_bin)) {
      return fail(Errc::unavailable,
                  "the standard-proxied sandbox needs para-relay, which was not found" +
                      (policy.relay_bin.empty() ? std::string() : " at " + policy.relay_bin) +
                      "; reinstall para (para-relay is installed beside para) or set "
                      "PARA_RELAY_BIN");
    }
    if (policy.proxy_socket.empty() || !is_socket(policy.proxy_socket)) {
      return fail(Errc::unavailable,
                  "the standard-proxied sandbox needs the session proxy's "
                  "socket" +
                      (policy.proxy_socket.empty()
                           ? std::string(", and none was given")
                           : " at " + policy.proxy_socket + ", which is not listening") +
                      "; start the proxy first");
    }
  }
  if (!policy.para_bin.empty() && !is_executable(policy.para_bin)) {
    return fail(Errc::unavailable, "para binary " + policy.para_bin + " is not executable");
  }

  const BwrapPlan plan = bwrap_plan(policy, command);
  Result<Fd> seccomp = memfd_with("para-seccomp", sandbox_filter(plan.refuse_unix_sockets));
  if (!seccomp) return fail(seccomp.error());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno), errno);
  }
  Fd status_read(pipe_fds[0]), status_write(pipe_fds[1]);

  // The tool caches' overlays are mounted by para itself, which then execs
  // bwrap (cache_overlay.h). Without para's binary the caches' merged/
  // directories are bound as they are: private and empty.
  std::vector<std::string> argv;
  Fd cache_layers;
  if (!plan.cache_overlays.empty() && !policy.para_bin.empty()) {
    cache_layers = lock_cache_layers(plan.cache_overlays);
    argv = cache_overlay_argv(policy.para_bin, plan.cache_overlays, !cache_layers.valid());
  }
  argv.push_back(*bwrap);
  const std::vector<std::string> rest =
      render_bwrap(plan, BwrapFds{.seccomp = seccomp->get(), .json_status = status_write.get()});
  argv.insert(argv.end(), rest.begin(), rest.end());
  std::vector<int> keep = {status_write.get(), seccomp->get()};

  Result<pid_t> pid = spawn(SpawnOptions{.argv = argv,
                                         .env = final_environment(policy),
                                         .cwd = "/",
                                         .stdin_fd = options.stdin_fd,
                                         .stdout_fd = options.stdout_fd,
                                         .stderr_fd = options.stderr_fd,
                                         .new_group = options.new_group,
                                         .keep_fds = keep});
  if (!pid) return fail(pid.error());
  log::debug("sandbox") << "bwrap pid " << *pid << " for " << command[0];
  return Launched{*pid, std::move(status_read), std::move(cache_layers)};
}

void kill_sandbox(const Launched& launched) {
  if (launched.pid <= 0) return;
  // bwrap's child is in bwrap's process group until it starts the command
  // (in a new session); before it armed PR_SET_PDEATHSIG, killing bwrap
  // alone would orphan it with the sandbox half set up.
  ::kill(-launched.pid, SIGKILL);
  ::kill(launched.pid, SIGKILL);
}

Result<ExitStatus> wait_sandboxed(Launched& launched,
                                  std::optional<std::chrono::milliseconds> timeout) {
  Result<ExitStatus> status = wait_for(launched.pid, timeout);
  if (!status) return status;
  launched.cache_layers.reset();  // bwrap is gone, and with it everything inside
  // bwrap wrote {"child-pid": N} once the command started; without it the
  // sandbox was never set up and the exit status is bwrap's own.
  std::string report;
  if (launched.status.valid()) {
    ::fcntl(launched.status.get(), F_SETFL, O_NONBLOCK);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(launched.status.get(), buf, sizeof buf);
      if (n > 0) {
        report.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    launched.status.reset();
  }
  if (report.find("\"child-pid\"") == std::string::npos && status->exit_code != 0) {
    if (Result<BwrapInfo> usable = check_available(); !usable) return fail(usable.error());
    return fail(Errc::tool_failed,
                "bubblewrap could not set up the sandbox (its message is above); nothing ran. "
                "If user namespaces are disabled on this machine (sysctl "
                "kernel.unprivileged_userns_clone=0, or an AppArmor restriction), enable them "
                "for bwrap");
  }
  return status;
}

}  // namespace para::sandbox
