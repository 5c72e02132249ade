#pragma once

// The private runtime directory T of one `para sandbox run` or `para shell`:
// <tmp>/para-<uid>/<kind>-<12 hex>, holding the run's proxy socket (and,
// outside a running agent's sandbox, its TMPDIR, tool cache layers and
// branch copy). Removed with everything in it when the run ends.
//
// A run that is killed (kill -9, a power cut) cannot remove its T. So each T
// is locked (flock) for as long as its run lives, and each new run first
// removes the Ts whose lock is free: the dead runs' leftovers.

#include <string>

#include "core/fd.h"
#include "core/result.h"

namespace para::cli {

/// $TMPDIR (else /tmp), resolved.
std::string tmp_root();
/// <tmp>/para-<uid>: where the runtime directories live.
std::string user_runtime_root();

class RuntimeDir {
 public:
  /// kind: "run" or "shell" (the name's prefix).
  explicit RuntimeDir(const std::string& kind);
  ~RuntimeDir();
  RuntimeDir(const RuntimeDir&) = delete;
  RuntimeDir& operator=(const RuntimeDir&) = delete;

  /// Removes dead runs' directories, then makes and locks this one.
  /// Errors: io; denied when <tmp>/para-<uid> belongs to someone else or
  /// others may write to it.
  Result<void> create();
  const std::string& path() const { return path_; }

 private:
  std::string kind_, root_, path_;
  Fd lock_;  // an open descriptor of path_, flocked while the run lives
};

}  // namespace para::cli
