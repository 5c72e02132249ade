#include "session/procs.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/fs.h"

namespace para::session {
namespace {

struct Stat {
  char state = '?';
  pid_t ppid = 0;
  uint64_t start = 0;
};

std::optional<Stat> read_stat(pid_t pid) {
  Result<std::string> text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  // The command name is in parentheses and may contain spaces or ')'.
  const size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  Stat st;
  st.state = (*text)[close + 2];
  // Fields after the name: state(3) ppid(4) ... starttime(22).
  size_t pos = close + 2;
  int field = 3;
  while (field < 22 && pos < text->size()) {
    pos = text->find(' ', pos);
    if (pos == std::string::npos) return std::nullopt;
    ++pos;
    ++field;
    if (field == 4) st.ppid = static_cast<pid_t>(std::strtol(text->c_str() + pos, nullptr, 10));
  }
  st.start = std::strtoull(text->c_str() + pos, nullptr, 10);
  return st;
}

}  // namespace

void take_ownership(SessionState& s) {
  s.owner_pid = ::getpid();
  s.owner_start = process_start_time(::getpid());
}

void release_ownership(SessionState& s) {
  s.owner_pid.reset();
  s.owner_start.reset();
}

bool owner_alive(const SessionState& s) {
  return s.owner_pid && process_alive(static_cast<pid_t>(*s.owner_pid), s.owner_start);
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  std::optional<Stat> st = read_stat(pid);
  if (!st) return std::nullopt;
  return st->start;
}

bool process_alive(pid_t pid, std::optional<uint64_t> start) {
  if (pid <= 0) return false;
  std::optional<Stat> st = read_stat(pid);
  if (!st || st->state == 'Z' || st->state == 'X') return false;
  return !start || st->start == *start;
}

std::vector<pid_t> child_processes(pid_t parent) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::optional<Stat> st = read_stat(static_cast<pid_t>(pid));
    if (st && st->ppid == parent) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return out;
}

void stop_process_group(pid_t pgid, std::chrono::milliseconds grace) {
  if (pgid <= 1) return;
  if (::kill(-pgid, SIGTERM) != 0 && errno == ESRCH) return;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(-pgid, 0) != 0 && errno == ESRCH) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pgid, SIGKILL);
  const auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < hard) {
    if (::kill(-pgid, 0) != 0 && errno == ESRCH) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace para::session
