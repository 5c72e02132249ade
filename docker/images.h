#pragma once

// Image operations: inspect, pull and build, with progress for the CLI bar
// and MCP progress notifications (docker/progress.h). All calls block.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "docker/client.h"
#include "docker/progress.h"

namespace para::docker {

struct ImageInfo {
  std::string id;  // "sha256:..."
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;
  int64_t size = 0;
};

/// Refuses what cannot be an image reference before it goes into a URL: an
/// empty or over-long one, a character outside [A-Za-z0-9._-/:@], an empty
/// path component or one that does not start and end with a letter or
/// digit ("..", "-x"), a bad tag. Errors: invalid_argument (the message does
/// not repeat a reference that holds control bytes).
Result<void> check_image_reference(const std::string& reference);

/// "busybox" -> "busybox:latest"; references with a tag or digest are kept.
/// (The Engine pulls every tag of a repository when none is given.)
std::string normalize_image_reference(const std::string& reference);

/// The not_found error for an image the engine does not have: says how to
/// build it (para docker build-image) or pull it (para docker pull).
Error missing_image_error(const std::string& reference, const Endpoint& endpoint);

/// Errors: not_found (missing_image_error), transport.
Result<ImageInfo> inspect_image(const Client& client, const std::string& reference);

/// Errors: transport only.
Result<bool> image_exists(const Client& client, const std::string& reference);

/// Pulls an image, reporting progress (layers aggregated into one fraction).
/// Returns the image id. Errors: unavailable (the registry cannot be reached:
/// the message names it and says how to build the image locally instead),
/// not_found (no such image or tag, or no access), transport.
Result<std::string> pull_image(const Client& client, const std::string& reference,
                               const ProgressFn& progress = nullptr);

struct BuildOptions {
  std::string context_dir;                // sent as a tar stream
  std::string tag;                        // "para-agent:latest"; empty = untagged
  std::string dockerfile = "Dockerfile";  // relative to the context
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> build_args;
  /// Host files added to the context under a name ({"/bin/busybox", "busybox"}),
  /// for contexts that need a host binary without copying it into the directory.
  std::vector<std::pair<std::string, std::string>> extra_files;
  bool no_cache = false;
};

struct BuildResult {
  std::string image_id;
  std::string tag;
};

/// Builds an image with the classic builder from a directory (the whole
/// directory is the context; .dockerignore is not applied). Progress events
/// carry "Step n/N" lines and build output. Errors: not_found (no context or
/// no Dockerfile in it), tool_failed ("the image build failed at Step 2/4
/// ...: <error>"), transport, and tar errors from the context.
Result<BuildResult> build_image(const Client& client, const BuildOptions& options,
                                const ProgressFn& progress = nullptr);

/// Removes an image by reference or id. Errors: not_found, conflict (in use).
Result<void> remove_image(const Client& client, const std::string& reference, bool force = false);

}  // namespace para::docker
