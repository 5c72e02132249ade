#include "cli/runtime_dir.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/fs.h"
#include "core/log.h"
#include "sandbox/cache_overlay.h"

namespace para::cli {
namespace {

namespace fs = std::filesystem;

// Inside every T this version makes: only such Ts are swept (a T without
// it belongs to a run of an older para, which holds no lock).
constexpr const char* kMarker = ".locked";
constexpr const char* kStaging = ".new-";

bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// "run-<12 hex>" or "shell-<12 hex>".
bool is_run_name(const std::string& name) {
  for (const char* kind : {"run-", "shell-"}) {
    const std::string prefix = kind;
    if (name.size() == prefix.size() + 12 && name.rfind(prefix, 0) == 0 &&
        is_hex(name.substr(prefix.size()))) {
      return true;
    }
  }
  return false;
}

// Opens `path` as a directory of ours (no symlink) and takes its lock.
// An invalid Fd when it is not ours or its run still holds the lock.
Fd lock_if_free(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_uid != ::getuid()) return Fd();
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return Fd();
  return fd;
}

void remove_tree(const std::string& path) {
  sandbox::make_cache_layers_removable(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) log::warn("sandbox") << "cannot remove " << path << ": " << ec.message();
}

// Removes the Ts of runs that died: their lock is free. A staging name is
// removed only when it is a minute old (its run may be about to lock it).
void sweep_dead_runs(const std::string& root) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    const std::string path = e.path().string();
    if (is_run_name(name)) {
      if (!path_exists(path + "/" + kMarker)) continue;
    } else if (name.rfind(kStaging, 0) == 0) {
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0 ||
          std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime) <
              std::chrono::minutes(1)) {
        continue;
      }
    } else {
      continue;
    }
    Fd lock = lock_if_free(path);
    if (!lock.valid()) continue;
    log::info("sandbox") << "removing " << path << ", left by a run that ended without cleaning up";
    remove_tree(path);
  }
}

}  // namespace

std::string tmp_root() {
  const char* t = std::getenv("TMPDIR");
  const std::string dir = t != nullptr && *t != '\0' ? t : "/tmp";
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) != nullptr ? std::string(buf) : dir;
}

std::string user_runtime_root() {
  return tmp_root() + "/para-" + std::to_string(::getuid());
}

RuntimeDir::RuntimeDir(const std::string& kind) : kind_(kind) {
  root_ = user_runtime_root();
  // Room for "/<kind>-<12 hex>/proxy.sock" in sun_path (108 bytes).
  if (root_.size() + kind.size() + 25 > 100) root_ = "/tmp/para-" + std::to_string(::getuid());
  path_ = root_ + "/" + kind + "-" + random_hex(6);
}

RuntimeDir::~RuntimeDir() {
  if (lock_.valid()) remove_tree(path_);
}

Result<void> RuntimeDir::create() {
  if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::io, "cannot create " + root_ + ": " + std::strerror(errno), errno);
  }
  struct stat st;
  if (::lstat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() ||
      (st.st_mode & 022) != 0) {
    return fail(Errc::denied, root_ +
                                  " is not a private directory of this user (another user may "
                                  "have created it); remove it, or set TMPDIR to a private "
                                  "directory");
  }
  sweep_dead_runs(root_);
  // Made under a staging name and locked before it takes its real name, so
  // that no sweep ever sees it unlocked.
  const std::string staging = root_ + "/" + kStaging + path_.substr(root_.size() + 1);
  if (::mkdir(staging.c_str(), 0700) != 0) {
    return fail(Errc::io, "cannot create " + staging + ": " + std::strerror(errno), errno);
  }
  Fd lock = lock_if_free(staging);
  const bool marked =
      lock.valid() &&
      Fd(::open((staging + "/" + kMarker).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)).valid();
  if (!marked || ::rename(staging.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    remove_tree(staging);
    return fail(Errc::io, "cannot create " + path_ + ": " + std::strerror(err), err);
  }
  lock_ = std::move(lock);
  return {};
}

}  // namespace para::cli
