#include "core/fs.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace para {
namespace {

Error errno_error(const std::string& what, const std::string& path) {
  const int e = errno;
  return fail(e == ENOENT ? Errc::not_found : Errc::io, what + " " + path + ": " + std::strerror(e),
              e);
}

Result<void> write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, std::string("write: ") + std::strerror(errno), errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

namespace {

Result<std::string> read_all(const Fd& fd, const std::string& path, size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error("cannot read", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return fail(Errc::invalid_argument,
                  path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

}  // namespace

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_error("cannot open", path));
  return read_all(fd, path, max_bytes);
}

Result<std::string> read_untrusted_file(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return fail(errno_error("cannot open", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(Errc::invalid_argument, path + " is not a regular file");
  }
  return read_all(fd, path, max_bytes);
}

Result<void> write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                               Sync sync) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + random_hex(4);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return fail(errno_error("cannot create", tmp));
  auto cleanup_fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto r = write_all(fd.get(), content.data(), content.size()); !r) {
    return fail(cleanup_fail(fail(Errc::io, "writing " + path + ": " + r.error().message)));
  }
  if (::fchmod(fd.get(), mode) != 0 || (sync == Sync::durable && ::fsync(fd.get()) != 0)) {
    return fail(cleanup_fail(errno_error("cannot sync", tmp)));
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(cleanup_fail(errno_error("cannot rename into", path)));
  }
  if (sync == Sync::durable) {
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.valid()) ::fsync(dir_fd.get());
  }
  return {};
}

Result<void> make_durable(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return fail(errno_error("cannot sync", path));
  const std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) return fail(errno_error("cannot sync", dir));
  return {};
}

Result<void> make_dirs(const std::string& path, mode_t mode) {
  // Component by component, so that every directory created gets `mode`
  // (create_directories would use 0777 & ~umask).
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    prefix = path.substr(0, end);
    start = end + 1;
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return fail(Errc::io, "cannot create directory " + prefix + ": " + std::strerror(errno),
                  errno);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(Errc::io, "cannot create directory " + path + ": a file is in the way");
  }
  return {};
}

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    Result<std::optional<FileLock>> got = try_acquire(path, mode);
    if (!got) return fail(got.error());
    if (*got) return std::move(**got);
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::timeout, "timed out waiting for the lock " + path +
                                     " (another para command is still running)");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::string& path, Mode mode) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail(errno_error("cannot open lock file", path));
  const int op = (mode == Mode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (::flock(fd.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::optional<FileLock>();
    return fail(errno_error("cannot lock", path));
  }
  return std::optional<FileLock>(FileLock(std::move(fd)));
}

std::string random_hex(size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  size_t got = 0;
  while (got < n_bytes) {
    const ssize_t n = ::getrandom(raw.data() + got, n_bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // the kernel's CSPRNG is not optional
    }
    got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n_bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return "/";
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd out{fd, POLLOUT, 0};
        ::poll(&out, 1, 1000);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace para
