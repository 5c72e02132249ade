#pragma once

// Decoders for the byte streams the Engine sends back: the multiplexed
// stdout/stderr framing of logs and exec output, and the newline-delimited
// JSON of pull and build progress. Both are push parsers (feed bytes as they
// arrive, in any split) with bounded memory. Pure; not thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace para::docker {

enum class StreamKind { stdin_stream = 0, stdout_stream = 1, stderr_stream = 2, system = 3 };

/// The Engine's multiplexed stream (containers without a TTY): frames of an
/// 8-byte header {kind, 0, 0, 0, big-endian uint32 length} and a payload.
/// Payload bytes reach the sink as they arrive (a frame may come in pieces).
class FrameDemuxer {
 public:
  /// Returns false to stop reading.
  using Sink = std::function<bool(StreamKind kind, std::string_view bytes)>;
  explicit FrameDemuxer(Sink sink) : sink_(std::move(sink)) {}

  /// Feeds bytes. Returns false when the sink asked to stop. Errors:
  /// invalid_argument (a header that is not a frame header: the stream is
  /// not multiplexed, or is corrupt).
  Result<bool> feed(std::string_view data);
  /// Call at the end of the stream. Errors: invalid_argument (a frame cut short).
  Result<void> finish() const;

 private:
  Sink sink_;
  char header_[8] = {};
  size_t header_len_ = 0;
  uint64_t payload_left_ = 0;
  StreamKind kind_ = StreamKind::stdout_stream;
};

/// Splits a byte stream into lines ('\n'; a trailing '\r' is dropped). A line
/// longer than max_line is an error rather than unbounded memory.
class LineSplitter {
 public:
  using Sink = std::function<bool(std::string_view line)>;
  explicit LineSplitter(Sink sink, size_t max_line = size_t(1) << 20)
      : sink_(std::move(sink)), max_line_(max_line) {}
  /// Returns false when the sink asked to stop. Errors: invalid_argument (line too long).
  Result<bool> feed(std::string_view data);
  /// Delivers a last line without a newline. Returns false when the sink stopped.
  bool finish();

 private:
  Sink sink_;
  size_t max_line_;
  std::string partial_;
};

}  // namespace para::docker
