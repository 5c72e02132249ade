#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace para::log {
namespace {

Level level_from_env() {
  const char* env = std::getenv("PARA_LOG");
  Level parsed = Level::info;
  if (env != nullptr && parse_level(env, &parsed)) return parsed;
  return Level::info;
}

std::atomic<int>& threshold() {
  static std::atomic<int> value{static_cast<int>(level_from_env())};
  return value;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::off:
      return "off";
  }
  return "?";
}

}  // namespace

Level level() {
  return static_cast<Level>(threshold().load(std::memory_order_relaxed));
}

void set_level(Level value) {
  threshold().store(static_cast<int>(value));
}

bool parse_level(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::debug;
  else if (text == "info")
    *out = Level::info;
  else if (text == "warn" || text == "warning")
    *out = Level::warn;
  else if (text == "error")
    *out = Level::error;
  else if (text == "off")
    *out = Level::off;
  else
    return false;
  return true;
}

Line::Line(Level lvl, std::string_view tag) : enabled_(lvl >= level()) {
  if (enabled_) out_ << "para " << level_name(lvl) << " [" << tag << "] ";
}

Line::~Line() {
  if (!enabled_) return;
  out_ << '\n';
  const std::string text = out_.str();
  const char* p = text.data();
  size_t left = text.size();
  const int saved_errno = errno;
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  errno = saved_errno;
}

}  // namespace para::log
