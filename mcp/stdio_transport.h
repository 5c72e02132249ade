#pragma once

// The stdio transport: newline-delimited JSON-RPC on a pair of file
// descriptors, one session. The TypeScript SDK's ReadBuffer +
// StdioServerTransport. Only this transport writes to `out_fd` (main()
// points fd 1 at stderr and hands us a dup of the real stdout).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mcp/server.h"

namespace para::mcp {

/// Splits a byte stream into lines. Pure; not thread-safe.
/// A trailing CR is stripped; empty and whitespace-only lines are skipped.
/// A line longer than the cap yields one `oversize` frame (without its
/// text) and is discarded up to its newline, so the stream stays in sync.
class LineFramer {
 public:
  struct Frame {
    std::string text;
    bool oversize = false;
  };

  explicit LineFramer(size_t max_message_bytes) : max_(max_message_bytes) {}
  std::vector<Frame> feed(std::string_view bytes);
  /// At end of input: the last line if it had no newline.
  std::optional<Frame> finish();

 private:
  void emit(std::vector<Frame>& out);
  const size_t max_;
  std::string line_;
  bool discarding_ = false;
};

/// Writes whole messages, one line each, with a write-all loop under a
/// mutex, so that lines from different threads never interleave.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  /// False once the peer is gone (EPIPE etc.); later writes are dropped.
  bool write(const nlohmann::json& message);
  /// The same for a message already serialized (one line, no newline).
  bool write_text(std::string message);

 private:
  std::mutex mutex_;
  const int fd_;
  bool broken_ = false;
};

struct StdioOptions {
  size_t max_message_bytes = size_t(10) << 20;  // the TypeScript SDK's cap
  /// After EOF, how long in-flight requests may run before they are cancelled.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(2)};
  /// When this descriptor becomes readable (a signal handler's pipe), the
  /// session ends as at EOF. -1: none.
  int stop_fd = -1;
};

/// Serves one session: reads `in_fd` until EOF, answers on `out_fd`.
/// Unparseable lines get -32700 without an id; oversize lines -32600; the
/// session keeps serving. At EOF, requests in flight may finish and answer
/// within `shutdown_grace`; then they are cancelled and serve_stdio returns.
/// Errors: io (read failed).
Result<void> serve_stdio(Server& server, int in_fd, int out_fd, const StdioOptions& options = {});

/// Reserves stdout for the protocol: returns a private duplicate of fd 1
/// (close-on-exec, so children never inherit it) for the transport and
/// points fd 1 at stderr, so that a stray print from us, a library or a
/// child process cannot corrupt the JSON-RPC stream. Call once in main(),
/// before any thread starts. Errors: io.
Result<int> protect_stdout();

/// Answers one framed line on `session` (parse, error replies): the part of
/// serve_stdio shared with the fuzz target. Replies go to `writer`.
void dispatch_line(Session& session, const LineFramer::Frame& frame, size_t max_message_bytes,
                   const std::shared_ptr<Outbound>& reply);

}  // namespace para::mcp
