#pragma once

// The network decision log: one JSON object per line, one line per decision
// (a refused request when it is refused; an allowed connection when it ends,
// with its byte counts and duration). Written by the proxy's loop thread with
// one write(2) per line to a file opened O_APPEND, so lines never interleave;
// read by `para logs --network` and the para_network_log tool.
//
// Line fields: time (RFC 3339 UTC, when the request arrived), session,
// listener, method, host (canonical), port, address (dialled or refused
// address, "" when none), decision ("allow" | "deny" | "error"), status (the
// HTTP status sent, 0 when none), reason, bytes_up (client to server),
// bytes_down, duration_ms.

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/fd.h"
#include "core/result.h"

namespace para::proxy {

struct DecisionRecord {
  SystemTime time;
  std::string session, listener, method, host;
  uint16_t port = 0;
  std::string address;
  std::string decision;  // "allow", "deny" or "error"
  int status = 0;
  std::string reason;
  uint64_t bytes_up = 0, bytes_down = 0;
  double duration_ms = 0;
};

class DecisionLog {
 public:
  /// Appends to `path` (created 0600, parent directories 0700 if missing).
  /// Errors: io.
  static Result<std::unique_ptr<DecisionLog>> open_file(const std::string& path);
  /// Writes to a borrowed descriptor (stderr for `para proxy` without --log).
  static std::unique_ptr<DecisionLog> to_fd(int fd);

  /// One line, one write(2). Failures are logged once to stderr, never thrown.
  void write(const DecisionRecord& record) noexcept;
  const std::string& path() const { return path_; }

 private:
  DecisionLog(Fd owned, int fd, std::string path);
  Fd owned_;
  int fd_;
  std::string path_;
  bool warned_ = false;
};

/// Creates a directory and its missing parents with mode 0700 (a session's
/// runtime and log directories); existing directories are left as they are.
/// Errors: io.
Result<void> make_private_dirs(const std::string& path);

/// The last `max_entries` decisions of a log file, oldest first, as a JSON
/// array. Lines that are not JSON objects (a torn last line after a crash)
/// are skipped. Reads only the tail of a large file. Errors: not_found (no
/// log yet), io.
Result<nlohmann::json> read_decisions(const std::string& path, size_t max_entries);

}  // namespace para::proxy
