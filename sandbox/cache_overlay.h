#pragma once

// Copy-on-write tool caches on Linux (Policy::cache_overlays).
//
// A writable cache shared with the host lets an agent plant code that the
// user later runs outside any sandbox (an npx package, a pre-commit hook
// environment, a crate's build.rs, a ccache object). So the sandbox sees
// each cache as an overlay: the host's cache read-only below, the session's
// own layer (T/caches/<name>/upper) above.
//
// bubblewrap 0.8 (Debian 12) has no overlay option, so para mounts them
// itself, just before bwrap: launch() runs
//   para __cache-overlays --cache CACHE DIR ... -- bwrap ARGS
// which enters a user and mount namespace of its own, mounts each overlay on
// DIR/merged, and execs bwrap there; bwrap binds DIR/merged at CACHE like any
// writable root. Nothing is mounted in the host's namespace, and the mounts
// go away with the sandbox.
//
// When the namespace or a mount cannot be made (user namespaces restricted,
// an upper directory overlayfs refuses), DIR/merged stays a plain directory:
// the sandbox gets a private cache that starts empty (slower, never shared),
// and a line on stderr says so.

#include <string>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "sandbox/policy.h"

namespace para::sandbox {

/// The hidden `para` subcommand that runs cache_overlays_main().
inline constexpr const char* kCacheOverlaysCommand = "__cache-overlays";

/// DIR/merged: what the sandbox binds at the cache's path.
std::string cache_overlay_merged(const CacheOverlay& overlay);

/// The argv prefix that makes `para_bin` mount the overlays, then run what
/// follows it: {para_bin, kCacheOverlaysCommand, ["--own-layer",] "--cache",
/// CACHE, DIR, ..., "--"}. With own_layer the sandbox writes to a layer of
/// its own (DIR/upper.<pid>) instead of the session's DIR/upper.
std::vector<std::string> cache_overlay_argv(const std::string& para_bin,
                                            const std::vector<CacheOverlay>& overlays,
                                            bool own_layer = false);

/// The session's layers (DIR/upper) serve one sandbox at a time: two
/// overlay mounts must not share an upper directory. The launcher takes
/// this lock (flock on the caches' directory, close-on-exec, so never inside
/// the sandbox) and holds it while the sandbox runs; an invalid Fd means
/// another sandbox of the session holds it, so this one gets own_layer.
Fd lock_cache_layers(const std::vector<CacheOverlay>& overlays);

/// Creates DIR/upper, DIR/work and DIR/merged (0700). Idempotent: a resumed
/// session keeps its layer. Errors: io.
Result<void> prepare_cache_overlays(const std::vector<CacheOverlay>& overlays);

/// overlayfs leaves DIR/work/work (and DIR/work.<pid>/work) with mode 000;
/// this makes every such directory under `runtime_dir`/caches removable
/// again (best effort).
void make_cache_layers_removable(const std::string& runtime_dir);

/// `para __cache-overlays`: mounts the overlays, then execs the command
/// with this process's environment. Returns only on failure: 2 for bad
/// arguments, 126 when the namespace is half made or exec fails.
int cache_overlays_main(const std::vector<std::string>& args);

}  // namespace para::sandbox
