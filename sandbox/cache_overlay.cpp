// The parts of cache_overlay.h every platform builds: names, the argv
// prefix and the host directories. The mounting is in
// cache_overlay_linux.cpp.

#include "sandbox/cache_overlay.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/fs.h"

namespace para::sandbox {

std::string cache_overlay_merged(const CacheOverlay& overlay) {
  return overlay.dir + "/merged";
}

std::vector<std::string> cache_overlay_argv(const std::string& para_bin,
                                            const std::vector<CacheOverlay>& overlays,
                                            bool own_layer) {
  std::vector<std::string> argv = {para_bin, kCacheOverlaysCommand};
  if (own_layer) argv.emplace_back("--own-layer");
  for (const CacheOverlay& o : overlays) argv.insert(argv.end(), {"--cache", o.cache, o.dir});
  argv.emplace_back("--");
  return argv;
}

Fd lock_cache_layers(const std::vector<CacheOverlay>& overlays) {
  if (overlays.empty()) return Fd();
  const std::string caches = overlays.front().dir.substr(0, overlays.front().dir.rfind('/'));
  Fd fd(::open(caches.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) fd.reset();
  return fd;
}

Result<void> prepare_cache_overlays(const std::vector<CacheOverlay>& overlays) {
  for (const CacheOverlay& o : overlays) {
    for (const char* sub : {"/upper", "/work", "/merged"}) {
      if (auto r = make_dirs(o.dir + sub, 0700); !r) return r;
    }
    // The sandbox sees the top of upper/ (or merged/, without an overlay)
    // as the cache directory itself: give it the cache's mode. T is 0700.
    struct stat st;
    if (::stat(o.cache.c_str(), &st) == 0) {
      for (const char* sub : {"/upper", "/merged"}) {
        ::chmod((o.dir + sub).c_str(), st.st_mode & 07777);
      }
    }
  }
  return {};
}

namespace {

// The entries of a directory; empty if it cannot be read. Never throws
// (callers run in destructors).
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().string());
  }
  return out;
}

}  // namespace

void make_cache_layers_removable(const std::string& runtime_dir) {
  for (const std::string& cache : entries(runtime_dir + "/caches")) {
    for (const std::string& entry : entries(cache)) {
      if (!entry.substr(entry.rfind('/') + 1).starts_with("work")) continue;  // work, work.<pid>
      ::chmod((entry + "/work").c_str(), 0700);  // missing: nothing to do
    }
  }
}

}  // namespace para::sandbox
