#include "session/log_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fs.h"

namespace para::session {

Result<std::unique_ptr<LogPump>> LogPump::start(int log_fd) {
  int out[2], stop[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno), errno);
  }
  Fd read(out[0]), write(out[1]);
  if (::pipe2(stop, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno), errno);
  }
  // Draining at the end must not block on an empty pipe.
  ::fcntl(read.get(), F_SETFL, O_NONBLOCK);
  return std::unique_ptr<LogPump>(
      new LogPump(std::move(read), std::move(write), Fd(stop[0]), Fd(stop[1]), log_fd));
}

LogPump::LogPump(Fd read, Fd write, Fd stop_read, Fd stop_write, int log_fd)
    : read_(std::move(read)),
      write_(std::move(write)),
      stop_read_(std::move(stop_read)),
      stop_write_(std::move(stop_write)),
      log_fd_(log_fd),
      thread_([this] { run(); }) {}

LogPump::~LogPump() {
  finish();
}

void LogPump::finish() {
  if (!thread_.joinable()) return;
  write_.reset();
  (void)!::write(stop_write_.get(), "x", 1);
  thread_.join();
}

void LogPump::run() {
  char buf[64 * 1024];
  bool stopping = false;
  for (;;) {
    pollfd fds[2] = {{read_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (!stopping && ::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) stopping = true;
    const ssize_t n = ::read(read_.get(), buf, sizeof buf);
    if (n > 0) {
      write_all(log_fd_, std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return;  // every writer is gone
    if (errno == EINTR) continue;
    if (errno != EAGAIN || stopping) return;  // drained, or an error
  }
}

}  // namespace para::session
