// The foreground loop (foreground.h): one poll() over the signalfd, a pidfd
// for bwrap (so the exit is seen at once, without polling waitpid), and,
// with a pty, the user's terminal and the pty's master.
//
// Terminal relay: bytes from in_fd are read only when the previous chunk has
// reached the master (the inner program may stop reading; we then stop too,
// instead of buffering without bound); bytes from the master are written to
// out_fd at once. The relay ends when bwrap has exited (everything in its
// PID namespace is dead then) and the master is drained.

#include "sandbox/foreground.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "core/fs.h"
#include "core/log.h"

namespace para::sandbox {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, s);
  return set;
}

void copy_window_size(int from, int to) {
  winsize ws{};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// The user's terminal in raw mode for as long as it lives.
class RawMode {
 public:
  explicit RawMode(int fd) {
    if (fd < 0 || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) == 0) fd_ = fd;
  }
  ~RawMode() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_ = -1;
  termios saved_{};
};

// Everything the master still holds, once the sandbox is gone.
void drain(int master, int out_fd) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      if (!write_all(out_fd, std::string_view(buf, static_cast<size_t>(n)))) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return;  // EAGAIN: empty; EIO: no slave left; 0: closed
  }
}

}  // namespace

ForegroundSignals::ForegroundSignals() {
  const sigset_t set = handled_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

ForegroundSignals::~ForegroundSignals() {
  fd_.reset();
  // Drop what arrived but was not read, so that unblocking does not
  // deliver a stale SIGINT to us.
  const sigset_t set = handled_signals();
  timespec zero{0, 0};
  while (::sigtimedwait(&set, nullptr, &zero) > 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

Result<Pty> Pty::open(int like_fd) {
  Pty pty;
  pty.master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master_.valid()) {
    return fail(Errc::io, std::string("cannot open a pseudo-terminal: ") + std::strerror(errno),
                errno);
  }
  char name[128];
  if (::grantpt(pty.master_.get()) != 0 || ::unlockpt(pty.master_.get()) != 0 ||
      ::ptsname_r(pty.master_.get(), name, sizeof name) != 0) {
    return fail(Errc::io, std::string("cannot set up a pseudo-terminal: ") + std::strerror(errno),
                errno);
  }
  pty.slave_.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave_.valid()) {
    return fail(Errc::io, std::string("cannot open ") + name + ": " + std::strerror(errno), errno);
  }
  termios modes{};
  if (::tcgetattr(like_fd, &modes) == 0) ::tcsetattr(pty.slave_.get(), TCSANOW, &modes);
  copy_window_size(like_fd, pty.master_.get());
  ::fcntl(pty.master_.get(), F_SETFL, ::fcntl(pty.master_.get(), F_GETFL) | O_NONBLOCK);
  return pty;
}

std::vector<std::string> ctty_command(const std::vector<std::string>& command) {
  static const Result<std::string> setsid = find_program("setsid");
  if (!setsid) {
    log::warn("sandbox") << "setsid (util-linux) was not found: the command runs without a "
                            "controlling terminal (no job control, Ctrl-C reaches nothing)";
    return command;
  }
  std::vector<std::string> out = {*setsid, "--ctty", "--wait", "--"};
  out.insert(out.end(), command.begin(), command.end());
  return out;
}

Result<ForegroundExit> run_foreground(Launched& launched, const ForegroundSignals& signals,
                                      const ForegroundOptions& options) {
  // A pidfd wakes poll() when bwrap exits; without one (Linux < 5.3), poll
  // every 20 ms.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, launched.pid, 0)));
  Pty* pty = options.pty;
  std::optional<RawMode> raw;
  if (pty != nullptr) raw.emplace(options.in_fd);
  bool in_open = pty != nullptr, master_open = pty != nullptr, exited = false;
  std::string to_master;
  ForegroundExit result;
  char buf[16384];
  for (;;) {
    if (exited || !pidfd.valid()) {
      Result<ExitStatus> st = wait_sandboxed(launched, std::chrono::milliseconds(0));
      if (st) {
        if (pty != nullptr) drain(pty->master(), options.out_fd);
        result.status = *st;
        return result;
      }
      if (st.error().code != Errc::timeout) return fail(st.error());
    }
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {signals.fd(), POLLIN, 0};
    const int pid_slot = pidfd.valid() ? static_cast<int>(n) : -1;
    if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
    int in_slot = -1, master_slot = -1;
    if (in_open && to_master.empty()) {
      in_slot = static_cast<int>(n);
      fds[n++] = {options.in_fd, POLLIN, 0};
    }
    if (master_open) {
      master_slot = static_cast<int>(n);
      fds[n++] = {pty->master(), static_cast<short>(POLLIN | (to_master.empty() ? 0 : POLLOUT)), 0};
    }
    if (::poll(fds, n, pidfd.valid() ? -1 : 20) < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, std::string("poll: ") + std::strerror(errno), errno);
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (::read(signals.fd(), &info, sizeof info) == sizeof info) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGWINCH) {
          if (pty != nullptr) copy_window_size(options.in_fd, pty->master());
          continue;
        }
        if (result.signal == 0) {
          result.signal = sig;
          kill_sandbox(launched);
        }
      }
    }
    if (pid_slot >= 0 && fds[pid_slot].revents != 0) exited = true;
    if (in_slot >= 0 && fds[in_slot].revents != 0) {
      const ssize_t r = ::read(options.in_fd, buf, sizeof buf);
      if (r > 0) {
        to_master.assign(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_open = false;  // the user's terminal hung up; SIGHUP follows
      }
    }
    if (master_slot >= 0) {
      const short re = fds[master_slot].revents;
      if ((re & POLLOUT) && !to_master.empty()) {
        const ssize_t w = ::write(pty->master(), to_master.data(), to_master.size());
        if (w > 0) to_master.erase(0, static_cast<size_t>(w));
      }
      if (re & POLLIN) {
        const ssize_t r = ::read(pty->master(), buf, sizeof buf);
        if (r > 0) {
          if (!write_all(options.out_fd, std::string_view(buf, static_cast<size_t>(r))))
            in_open = false;
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          master_open = false;  // EIO: no process holds the slave any more
        }
      } else if (re & (POLLHUP | POLLERR)) {
        master_open = false;
      }
    }
  }
}

}  // namespace para::sandbox
