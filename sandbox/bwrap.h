#pragma once

// The Linux renderer: a Policy becomes a plan of mount operations (what
// bubblewrap's own SetupOp list holds), and the plan becomes bwrap's argv.
// Both steps are pure; run_linux.h spawns the result.

#include <string>
#include <vector>

#include "sandbox/policy.h"

namespace para::sandbox {

enum class MountKind {
  ro_bind,    // --ro-bind SRC DEST
  bind,       // --bind SRC DEST (read-write)
  pin,        // --bind P P: an ancestor of a protected path, so it cannot be renamed
  tmpfs,      // --tmpfs DEST: an empty, writable directory (hidden socket dirs)
  hide_dir,   // --tmpfs DEST --remount-ro DEST: an empty, read-only directory
  hide_file,  // --ro-bind /dev/null DEST
  dev,        // --dev /dev
  proc,       // --proc /proc
};
const char* mount_kind_name(MountKind kind);

struct MountOp {
  MountKind kind;
  std::string source;  // host path (binds only)
  std::string target;  // path inside
  std::string reason;
};

/// Everything bwrap will do, in order. Later mounts cover earlier ones, so a
/// path's access is decided by the last op whose target contains it.
struct BwrapPlan {
  std::vector<MountOp> mounts;
  bool share_net = false;  // only NetworkMode::open
  bool refuse_unix_sockets = false;  // in the seccomp filter (seccomp.h); not with the relay
  std::string chdir;
  std::vector<std::string> command;  // what runs inside, relay wrapper included
  // Mounted before bwrap starts (cache_overlay.h): each merged/ is the source
  // of a `bind` op above.
  std::vector<CacheOverlay> cache_overlays;
};

/// Builds the plan. Mount ops are ordered by target depth, then by kind
/// (hide socket dirs, reveal, writable, pins, protect, private, deny), so
/// the most specific rule wins.
BwrapPlan bwrap_plan(const Policy& policy, const std::vector<std::string>& command);

/// File descriptors the launcher passes to bwrap. -1 renders a placeholder
/// ("FD") for explain; the launcher always passes real ones.
struct BwrapFds {
  int seccomp = -1;
  int json_status = -1;  // bwrap reports {"child-pid": N} once the sandbox is up
};

/// The argv after "bwrap" (argv[0] excluded). Starts with
/// --die-with-parent --new-session --unshare-all; the command follows "--"
/// untouched.
std::vector<std::string> render_bwrap(const BwrapPlan& plan, const BwrapFds& fds = {});

/// bwrap_plan + render_bwrap.
std::vector<std::string> bwrap_argv(const Policy& policy, const std::vector<std::string>& command,
                                    const BwrapFds& fds = {});

}  // namespace para::sandbox
