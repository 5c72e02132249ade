#pragma once

// Logging to stderr, one write(2) per line so that lines from threads and
// processes never interleave. Level from PARA_LOG=debug|info|warn|error
// (default info). Never log secrets: callers log names, not values.
//
//   para::log::warn("proxy") << "accept: " << uv_strerror(status);
//   -> "para warn [proxy] accept: ..."

#include <sstream>
#include <string_view>

namespace para::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// The current threshold; read once from PARA_LOG, changeable by set_level.
Level level();
void set_level(Level level);
/// Parses "debug", "info", "warn"/"warning", "error", "off".
bool parse_level(std::string_view text, Level* out);

class Line {
 public:
  Line(Level level, std::string_view tag);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  template <class T>
  Line& operator<<(const T& value) {
    if (enabled_) out_ << value;
    return *this;
  }

 private:
  bool enabled_;
  std::ostringstream out_;
};

inline Line debug(std::string_view tag) {
  return Line(Level::debug, tag);
}
inline Line info(std::string_view tag) {
  return Line(Level::info, tag);
}
inline Line warn(std::string_view tag) {
  return Line(Level::warn, tag);
}
inline Line error(std::string_view tag) {
  return Line(Level::error, tag);
}

}  // namespace para::log
