#include "core/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/fd.h"

extern char** environ;

namespace para {
namespace {

using Clock = std::chrono::steady_clock;

// posix_spawn's C objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

Result<void> make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno), errno);
  }
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Result<std::string> resolve_program(const std::string& name) {
  if (name.empty()) return fail(Errc::invalid_argument, "empty program name");
  if (name.find('/') != std::string::npos) {
    if (!is_executable_file(name)) {
      return fail(Errc::not_found, "program " + name + " does not exist or is not executable");
    }
    return name;
  }
  return find_program(name);
}

// Common spawn: fills file actions and attributes, then posix_spawn.
Result<pid_t> spawn_with(const std::vector<std::string>& argv,
                         const std::optional<std::vector<std::string>>& env, const std::string& cwd,
                         int in_fd, int out_fd, int err_fd, bool new_session, bool new_group,
                         const std::vector<int>& keep_fds) {
  if (argv.empty()) return fail(Errc::invalid_argument, "empty argv");
  Result<std::string> program = resolve_program(argv[0]);
  if (!program) return fail(program.error());

  SpawnSetup setup;
  Fd devnull;
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull.valid()) return fail(Errc::io, "open /dev/null failed", errno);
  }
  const int fd_in = in_fd >= 0 ? in_fd : devnull.get();
  const int fd_out = out_fd >= 0 ? out_fd : devnull.get();
  const int fd_err = err_fd >= 0 ? err_fd : devnull.get();
  posix_spawn_file_actions_adddup2(&setup.actions, fd_in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, fd_out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, fd_err, STDERR_FILENO);
  for (int fd : keep_fds) {
    // dup2 onto itself clears FD_CLOEXEC in glibc >= 2.29.
    posix_spawn_file_actions_adddup2(&setup.actions, fd, fd);
  }
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&setup.actions, cwd.c_str());

  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (new_session) {
    flags |= POSIX_SPAWN_SETSID;
  } else if (new_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&setup.attr, 0);
  }
  posix_spawnattr_setflags(&setup.attr, flags);
  // We ignore SIGPIPE, and SIG_IGN survives exec: give children the default.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&setup.attr, &empty);

  std::vector<char*> c_argv = c_strings(argv);
  std::vector<std::string> env_copy = env ? *env : std::vector<std::string>{};
  std::vector<char*> c_env = c_strings(env_copy);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program->c_str(), &setup.actions, &setup.attr, c_argv.data(),
                               env ? c_env.data() : environ);
  if (rc != 0) {
    return fail(rc == ENOENT ? Errc::not_found : Errc::io,
                "cannot start " + argv[0] + ": " + std::strerror(rc), rc);
  }
  return pid;
}

ExitStatus decode_status(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.term_signal = WTERMSIG(status);
  return out;
}

}  // namespace

Result<Completed> run(const Command& cmd) {
  Fd out_r, out_w, err_r, err_w, in_r, in_w;
  if (auto r = make_pipe(out_r, out_w); !r) return fail(r.error());
  if (auto r = make_pipe(err_r, err_w); !r) return fail(r.error());
  if (cmd.stdin_data) {
    if (auto r = make_pipe(in_r, in_w); !r) return fail(r.error());
  }
  Result<pid_t> pid =
      spawn_with(cmd.argv, cmd.env, cmd.cwd, cmd.stdin_data ? in_r.get() : cmd.stdin_fd,
                 out_w.get(), err_w.get(), false, true, {});
  if (!pid) return fail(pid.error());
  out_w.reset();
  err_w.reset();
  in_r.reset();

  Completed done;
  size_t in_off = 0;
  if (in_w.valid()) {
    ::fcntl(in_w.get(), F_SETFL, ::fcntl(in_w.get(), F_GETFL) | O_NONBLOCK);
    if (cmd.stdin_data->empty()) in_w.reset();
  }
  const auto deadline = Clock::now() + cmd.timeout;
  bool timed_out = false;
  char buf[65536];
  while (out_r.valid() || err_r.valid() || in_w.valid()) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_r.valid()) fds[n++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) fds[n++] = {err_r.get(), POLLIN, 0};
    if (in_w.valid()) fds[n++] = {in_w.get(), POLLOUT, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (in_w.valid() && fds[i].fd == in_w.get()) {
        if (fds[i].revents & (POLLERR | POLLHUP)) {
          in_w.reset();
          continue;
        }
        const std::string& data = *cmd.stdin_data;
        const ssize_t w = ::write(in_w.get(), data.data() + in_off, data.size() - in_off);
        if (w > 0) in_off += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == data.size()) in_w.reset();
        continue;
      }
      Fd& src = (out_r.valid() && fds[i].fd == out_r.get()) ? out_r : err_r;
      std::string& sink = (&src == &out_r) ? done.out : done.err;
      const ssize_t r = ::read(src.get(), buf, sizeof buf);
      if (r > 0) {
        sink.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        src.reset();
      }
    }
  }
  if (timed_out) {
    ::kill(-*pid, SIGKILL);
    (void)wait_for(*pid, std::nullopt);
    return fail(Errc::timeout, cmd.argv[0] + " did not finish within " +
                                   std::to_string(cmd.timeout.count()) + " ms and was killed");
  }
  Result<ExitStatus> status = wait_for(*pid, std::nullopt);
  if (!status) return fail(status.error());
  done.exit_code = status->exit_code;
  done.term_signal = status->term_signal;
  return done;
}

Result<pid_t> spawn(const SpawnOptions& o) {
  return spawn_with(o.argv, o.env, o.cwd, o.stdin_fd, o.stdout_fd, o.stderr_fd, o.new_session,
                    o.new_group, o.keep_fds);
}

Result<ExitStatus> wait_for(pid_t pid, std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, timeout ? WNOHANG : 0);
    if (r == pid) return decode_status(status);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, "waitpid " + std::to_string(pid) + ": " + std::strerror(errno), errno);
    }
    if (Clock::now() >= deadline) {
      return fail(Errc::timeout, "process " + std::to_string(pid) + " is still running");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

bool process_exists(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

Result<std::string> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return fail(Errc::not_found, name + " was not found in PATH");
}

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  unset_env(env, key);
  env.push_back(key + "=" + value);
}

void unset_env(std::vector<std::string>& env, const std::string& key) {
  const std::string prefix = key + "=";
  std::erase_if(env,
                [&](const std::string& kv) { return kv.compare(0, prefix.size(), prefix) == 0; });
}

std::string self_executable() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

Result<std::string> sibling_program(const std::string& name) {
  // para-relay -> PARA_RELAY_BIN, para-mcp-server -> PARA_MCP_SERVER_BIN, para -> PARA_BIN.
  std::string env_name;
  for (char c : name) {
    env_name += static_cast<char>(c == '-' ? '_' : std::toupper(static_cast<unsigned char>(c)));
  }
  env_name += "_BIN";
  if (const char* over = std::getenv(env_name.c_str()); over != nullptr && *over != '\0') {
    if (is_executable_file(over)) return std::string(over);
    return fail(Errc::not_found, env_name + "=" + over + " is not an executable file");
  }
  const std::string self = self_executable();
  const std::string dir = std::filesystem::path(self).parent_path().string();
  const std::string candidate = dir + "/" + name;
  if (is_executable_file(candidate)) return candidate;
  return fail(Errc::not_found,
              name + " was not found beside " + self + "; reinstall para or set " + env_name);
}

void close_inherited_fds_on_exec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: one by one, from the list of open descriptors.
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) {
      const int fd = std::atoi(e->d_name);
      if (fd >= 3 && fd != ::dirfd(dir)) fds.push_back(fd);
    }
    ::closedir(dir);
  }
  for (int fd : fds) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

}  // namespace para
