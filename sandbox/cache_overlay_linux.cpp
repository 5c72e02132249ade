// `para __cache-overlays` (cache_overlay.h): a user and mount namespace of
// this process's own, an overlay per tool cache, then exec. It runs in a
// fresh, single-threaded `para` (unshare(CLONE_NEWUSER) requires that)
// started by launch(), before main() marks inherited descriptors
// close-on-exec: bwrap needs the seccomp and status descriptors it passes.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "sandbox/cache_overlay.h"

extern char** environ;

namespace para::sandbox {
namespace {

Result<void> write_proc(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, std::string("open ") + path + ": " + std::strerror(errno));
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return fail(Errc::io, std::string("write ") + path + ": " + std::strerror(saved));
  }
  return {};
}

// Ubuntu 23.10+ lets unconfined programs create a user namespace but takes
// its capabilities away, so no overlay could be mounted, and bwrap nested
// in it might not get its own. Root is not restricted.
bool userns_restricted() {
  if (::getuid() == 0) return false;
  const int fd = ::open("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", O_RDONLY);
  if (fd < 0) return false;
  char c = '0';
  const bool restricted = ::read(fd, &c, 1) == 1 && c == '1';
  ::close(fd);
  return restricted;
}

// After unshare succeeded there is no way back: a failure here is fatal.
Result<void> map_ids(uid_t uid, gid_t gid) {
  if (auto r = write_proc("/proc/self/setgroups", "deny"); !r) return r;
  if (auto r =
          write_proc("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1");
      !r) {
    return r;
  }
  if (auto r =
          write_proc("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
      !r) {
    return r;
  }
  // Nothing mounted here may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fail(Errc::io, std::string("make / private: ") + std::strerror(errno));
  }
  return {};
}

// The layer's upper and work directories: the session's own, or with
// --own-layer (another sandbox of the session holds them: two mounts must
// not share them, overlayfs calls that undefined behaviour) a layer for this
// sandbox alone, upper.<pid>, removed with the session.
struct Layer {
  std::string upper, work;
};

Result<Layer> layer_for(const CacheOverlay& o, bool own) {
  if (!own) return Layer{o.dir + "/upper", o.dir + "/work"};
  const std::string suffix = "." + std::to_string(::getpid());
  Layer layer{o.dir + "/upper" + suffix, o.dir + "/work" + suffix};
  for (const std::string& d : {layer.upper, layer.work}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(Errc::io, "mkdir " + d + ": " + std::strerror(errno));
    }
  }
  struct stat st;
  if (::stat((o.dir + "/upper").c_str(), &st) == 0) {
    ::chmod(layer.upper.c_str(), st.st_mode & 07777);
  }
  return layer;
}

Result<void> mount_overlay(const CacheOverlay& o, bool own_layer) {
  Result<Layer> layer = layer_for(o, own_layer);
  if (!layer) return fail(layer.error());
  const std::string& upper = layer->upper;
  const std::string& work = layer->work;
  // The option string cannot name a path that holds these (the policy
  // refuses such caches; the runtime directory comes from TMPDIR).
  if ((o.cache + upper).find_first_of(",:\\") != std::string::npos) {
    return fail(Errc::invalid_argument, "a path holds ',', ':' or '\\'");
  }
  const std::string options =
      "lowerdir=" + o.cache + ",upperdir=" + upper + ",workdir=" + work + ",userxattr";
  if (::mount("overlay", cache_overlay_merged(o).c_str(), "overlay", MS_NOSUID | MS_NODEV,
              options.c_str()) != 0) {
    return fail(Errc::io, std::string("mount overlay: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace

int cache_overlays_main(const std::vector<std::string>& args) {
  std::vector<CacheOverlay> overlays;
  size_t i = 0;
  const bool own_layer = !args.empty() && args[0] == "--own-layer";
  if (own_layer) ++i;
  for (; i + 2 < args.size() && args[i] == "--cache"; i += 3) {
    overlays.push_back({args[i + 1], args[i + 2]});
  }
  if (i + 1 >= args.size() || args[i] != "--") {
    log::error("sandbox") << kCacheOverlaysCommand
                          << ": usage: [--own-layer] --cache CACHE DIR ... -- COMMAND [ARG...]";
    return 2;
  }
  const auto empty_caches = [](const std::string& which, const std::string& why) {
    log::warn("sandbox") << which << " starts empty in this sandbox (private to this session, "
                         << "not shared with the host): " << why;
  };
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (userns_restricted()) {
    empty_caches("every tool cache",
                 "user namespaces are restricted (kernel.apparmor_restrict_unprivileged_userns)");
  } else if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    empty_caches("every tool cache", std::string("unshare: ") + std::strerror(errno));
  } else if (auto mapped = map_ids(uid, gid); !mapped) {
    log::error("sandbox") << "cannot set up the namespace for the tool caches: "
                          << mapped.error().message << "; nothing ran";
    return 126;
  } else {
    for (const CacheOverlay& o : overlays) {
      if (auto r = mount_overlay(o, own_layer); !r) empty_caches(o.cache, r.error().message);
    }
  }
  std::vector<char*> argv;
  for (size_t k = i + 1; k < args.size(); ++k) argv.push_back(const_cast<char*>(args[k].c_str()));
  argv.push_back(nullptr);
  ::execve(argv[0], argv.data(), environ);
  log::error("sandbox") << "cannot run " << argv[0] << ": " << std::strerror(errno);
  return 126;
}

}  // namespace para::sandbox
