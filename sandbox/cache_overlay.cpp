// The parts of cache_overlay.h every platform builds: names, the argv
// prefix and the host directories. The mounting is in
// cache_overlay_linux.cpp.

#include "sandbox/cache_overlay.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/fs.h"

namespace para::sandbox {

std::string cache_overlay_merged(const CacheOverlay& overlay) {
  return overlay.dir + "/merged";
}

std::vector<std::string> cache_overlay_argv(const std::string& para_bin,
                                            const std::vector<CacheOverlay>& overlays) {
  std::vector<std::string> argv = {para_bin, kCacheOverlaysCommand};
  for (const CacheOverlay& o : overlays) argv.insert(argv.end(), {"--cache", o.cache, o.dir});
  argv.emplace_back("--");
  return argv;
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

void make_cache_layers_removable(const std::string& runtime_dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(runtime_dir + "/caches", ec)) {
    const std::string work = entry.path().string() + "/work/work";
    ::chmod(work.c_str(), 0700);  // missing: nothing to do
  }
}

}  // namespace para::sandbox
