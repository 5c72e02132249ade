#pragma once

// Progress of image pulls and builds, decoded from the Engine's JSON lines
// into one callback shape that both the CLI progress bar and MCP progress
// notifications use. Pure decoders; the HTTP side is in images.cpp.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"

namespace para::docker {

struct Progress {
  double fraction = -1;  // 0..1 overall, or -1 while unknown
  std::string message;   // one line of human text: "Step 2/4 : COPY busybox /bin/busybox"
  bool step = false;     // a new phase (build step, layer state) rather than detail output
};

/// Called on the thread that runs the pull or build; must not block for long.
using ProgressFn = std::function<void(const Progress&)>;

/// Aggregates /images/create lines into one fraction: each layer counts
/// equally, downloading is its first half and extracting its second; layers
/// that already exist count as done. Byte-level updates that do not move the
/// overall percentage produce no event, so callers can forward every event.
class PullProgress {
 public:
  /// One decoded line. nullopt: nothing worth reporting. Errors: tool_failed
  /// (the line reports an error; the message is the daemon's).
  Result<std::optional<Progress>> feed(const nlohmann::json& line);
  double fraction() const;

 private:
  std::map<std::string, double> layers_;  // layer id -> 0..1
  bool done_ = false;
  int last_percent_ = -1;
};

/// Decodes /build lines: "Step n/N" sets the fraction to (n-1)/N, the image id
/// comes from the aux message (or "Successfully built"), errors carry the
/// step they happened in.
class BuildProgress {
 public:
  /// Errors: tool_failed ("the build failed at step 2/4 (COPY ...): ...").
  Result<std::optional<Progress>> feed(const nlohmann::json& line);
  /// Marks the build finished (fraction 1).
  Progress finished() const;
  const std::string& image_id() const { return image_id_; }
  const std::string& current_step() const { return step_text_; }

 private:
  Result<std::optional<Progress>> stream_text(const std::string& text);
  std::string image_id_;
  std::string step_text_;
  std::string partial_;  // stream text without its newline yet
  double fraction_ = 0;
};

}  // namespace para::docker
