#include "proxy/decision_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/log.h"

namespace para::proxy {

namespace {
// The fields in the documented order, so that a line reads time first.
nlohmann::ordered_json ordered(const DecisionRecord& r) {
  return {{"time", rfc3339(r.time)},
          {"session", r.session},
          {"listener", r.listener},
          {"method", r.method},
          {"host", r.host},
          {"port", r.port},
          {"address", r.address},
          {"decision", r.decision},
          {"status", r.status},
          {"reason", r.reason},
          {"bytes_up", r.bytes_up},
          {"bytes_down", r.bytes_down},
          {"duration_ms", std::round(r.duration_ms * 1000) / 1000}};
}
}  // namespace

Result<void> make_private_dirs(const std::string& path) {
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty() || ::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    const int e = errno;
    return fail(Errc::io, "cannot create directory " + prefix + ": " + std::strerror(e), e);
  }
  return {};
}

DecisionLog::DecisionLog(Fd owned, int fd, std::string path)
    : owned_(std::move(owned)), fd_(fd), path_(std::move(path)) {}

Result<std::unique_ptr<DecisionLog>> DecisionLog::open_file(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    if (auto made = make_private_dirs(parent.string()); !made) return fail(made.error());
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    return fail(Errc::io, "cannot open the network log " + path + ": " + std::strerror(e), e);
  }
  return std::unique_ptr<DecisionLog>(new DecisionLog(Fd(fd), fd, path));
}

std::unique_ptr<DecisionLog> DecisionLog::to_fd(int fd) {
  return std::unique_ptr<DecisionLog>(new DecisionLog(Fd(), fd, ""));
}

void DecisionLog::write(const DecisionRecord& record) noexcept {
  std::string line;
  try {
    line = ordered(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } catch (...) {
    return;  // only bad_alloc can get here
  }
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!warned_) {
        warned_ = true;
        log::warn("proxy") << "cannot write the network log " << path_ << ": "
                           << std::strerror(errno);
      }
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

Result<nlohmann::json> read_decisions(const std::string& path, size_t max_entries) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) return fail(Errc::not_found, "no network log at " + path, e);
    return fail(Errc::io, "cannot read the network log " + path + ": " + std::strerror(e), e);
  }
  Fd owner(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    return fail(Errc::io, "cannot stat the network log " + path + ": " + std::strerror(e), e);
  }
  // Read backwards in chunks until max_entries + 1 newlines are in hand.
  constexpr off_t kChunk = 64 * 1024;
  std::string tail;
  off_t end = st.st_size;
  size_t newlines = 0;
  while (end > 0 && newlines <= max_entries) {
    const off_t start = end > kChunk ? end - kChunk : 0;
    std::string chunk(static_cast<size_t>(end - start), '\0');
    size_t got = 0;
    while (got < chunk.size()) {
      const ssize_t n =
          ::pread(fd, chunk.data() + got, chunk.size() - got, start + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        return fail(Errc::io, "cannot read the network log " + path + ": " + std::strerror(e), e);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    chunk.resize(got);
    for (char c : chunk) newlines += c == '\n';
    tail.insert(0, chunk);
    end = start;
  }
  // Reading stopped mid-file: the first line is a fragment, never a record.
  if (end > 0) tail.erase(0, std::min(tail.size(), tail.find('\n') + 1));
  std::vector<nlohmann::json> entries;
  size_t pos = 0;
  while (pos < tail.size()) {
    size_t nl = tail.find('\n', pos);
    if (nl == std::string::npos) nl = tail.size();
    nlohmann::json j = nlohmann::json::parse(tail.begin() + static_cast<long>(pos),
                                             tail.begin() + static_cast<long>(nl), nullptr, false);
    if (!j.is_discarded() && j.is_object()) entries.push_back(std::move(j));
    pos = nl + 1;
  }
  nlohmann::json out = nlohmann::json::array();
  const size_t first = entries.size() > max_entries ? entries.size() - max_entries : 0;
  for (size_t i = first; i < entries.size(); ++i) out.push_back(std::move(entries[i]));
  return out;
}

}  // namespace para::proxy
