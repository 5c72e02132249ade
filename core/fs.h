#pragma once

// Files: whole-file reads, crash-safe writes, advisory locks, random tokens.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/fd.h"
#include "core/result.h"

namespace para {

/// Writes all of `data` to fd, retrying after EINTR and waiting for POLLOUT
/// after EAGAIN (non-blocking fds). Returns false on any other error.
bool write_all(int fd, std::string_view data);

/// Reads a whole file. Errors: not_found, io, invalid_argument (larger than max_bytes).
Result<std::string> read_file(const std::string& path, size_t max_bytes = size_t(64) << 20);

/// read_file for a path a sandboxed agent can write: the last component may
/// not be a symlink, and only a regular file is read (opening a FIFO does not
/// block). Errors: as read_file; invalid_argument when it is not a regular
/// file.
Result<std::string> read_untrusted_file(const std::string& path, size_t max_bytes);

/// Whether write_file_atomic() makes the new content survive a power cut.
/// `replace_only` skips both fsyncs, for files para derives again on the
/// next start (git's own ref updates are not fsynced by default either).
enum class Sync { durable, replace_only };

/// Writes a file so that readers see the old content or the new, never a
/// mix: temp file in the same directory + fsync + rename + fsync of the
/// directory. A crash leaves at most a stray "<path>.tmp.*" file. Errors: io.
Result<void> write_file_atomic(const std::string& path, const std::string& content,
                               mode_t mode = 0644, Sync sync = Sync::durable);

/// Makes a file written with Sync::replace_only durable: fsyncs it and its
/// directory, as write_file_atomic(Sync::durable) would have. Errors: io.
Result<void> make_durable(const std::string& path);

/// Creates a directory and its parents. Errors: io.
Result<void> make_dirs(const std::string& path, mode_t mode = 0755);

/// An advisory flock(2) lock on a lock file, released on destruction or when
/// the process dies (so a kill -9 never leaves a lock behind).
class FileLock {
 public:
  enum class Mode { shared, exclusive };
  /// Waits up to `timeout` for the lock. Errors: timeout, io.
  static Result<FileLock> acquire(const std::string& path, Mode mode,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// Takes the lock only if it is free now; nullopt if another holder has it.
  static Result<std::optional<FileLock>> try_acquire(const std::string& path, Mode mode);

  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

/// n random bytes from the kernel, as 2n lower-case hex characters.
std::string random_hex(size_t n_bytes);

/// Whether a path exists (without following a final symlink).
bool path_exists(const std::string& path);

/// The user's home directory: $HOME, else the passwd entry.
std::string home_directory();

}  // namespace para
