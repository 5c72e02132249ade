#pragma once

// The session log between a sandboxed agent and the file. A sandboxed agent
// writes its stdout and stderr into a pipe, and a thread of the supervisor
// appends what arrives to the log. Were the log file the agent's stdout, the
// agent could reopen it through /proc/self/fd/1 (the magic link leads past
// the sandbox's read-only mounts) and truncate or rewrite what the reviewer
// reads, para's own lines included.

#include <memory>
#include <thread>

#include "core/fd.h"
#include "core/result.h"

namespace para::session {

class LogPump {
 public:
  /// Creates the pipe and starts copying into `log_fd`, which must outlive
  /// the pump. Errors: io.
  static Result<std::unique_ptr<LogPump>> start(int log_fd);
  ~LogPump();
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  /// The pipe's write end, for the agent's stdout and stderr (close-on-exec
  /// here; the spawn dups it).
  int write_end() const { return write_.get(); }
  /// Closes the supervisor's copy of the write end once the agent has its own.
  void close_write_end() { write_.reset(); }
  /// Once the agent and everything it started are gone: copies what is left
  /// in the pipe and stops. A writer that somehow survived cannot hold it up.
  void finish();

 private:
  LogPump(Fd read, Fd write, Fd stop_read, Fd stop_write, int log_fd);
  void run();

  Fd read_, write_, stop_read_, stop_write_;
  int log_fd_;
  std::thread thread_;
};

}  // namespace para::session
