#pragma once

// A terminal in raw mode for a full-screen view (para monitor), and the
// decoding of the bytes a terminal sends for keys.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace para::cli {

enum class KeyKind {
  character,
  up,
  down,
  page_up,
  page_down,
  home,
  end,
  enter,
  escape,
  backspace,
  interrupt,
  other
};

struct Key {
  KeyKind kind = KeyKind::other;
  char ch = 0;  // for KeyKind::character: a printable ASCII byte or a byte of UTF-8 text
};

/// Decodes the keys at the front of `pending` and removes their bytes. An
/// escape sequence cut short at the end stays in `pending` unless `flush`
/// is set; then a lone ESC is the Escape key. Bytes of UTF-8 text arrive
/// one by one as characters (a view that takes text reassembles them).
std::vector<Key> decode_keys(std::string& pending, bool flush);

/// The terminal on fds 0 and 1: raw input, alternate screen, hidden cursor.
/// The destructor restores everything, also after an exception. SIGTERM,
/// SIGHUP and SIGINT end the view through `stop_requested` (the caller's
/// loop returns, so the destructor runs); SIGWINCH sets `resized`.
class RawTerminal {
 public:
  /// Errors: invalid_argument when stdin or stdout is not a terminal.
  static Result<std::unique_ptr<RawTerminal>> open();
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  int width() const { return width_; }
  int height() const { return height_; }
  /// Re-reads the size; true when it changed since the last call or a SIGWINCH.
  bool refresh_size();
  bool stop_requested() const;

  /// Waits up to `timeout_ms` for keys. Returns what arrived (maybe nothing).
  std::vector<Key> read_keys(int timeout_ms);
  /// Replaces the screen with `lines` (each already fitted to width()).
  void draw(const std::vector<std::string>& lines);
  /// Writes raw bytes (escape sequences such as OSC 52).
  void write_raw(const std::string& bytes);

 private:
  RawTerminal() = default;
  int width_ = 80, height_ = 24;
  std::string pending_;
  bool restored_ = false;
};

}  // namespace para::cli
