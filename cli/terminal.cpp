#include "cli/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "core/fs.h"

namespace para::cli {
namespace {

// One terminal per process: the saved settings and the signal flags are
// process-wide, as the signals are.
termios g_saved_termios;
volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_resized = 0;
struct sigaction g_saved_actions[4];
constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

void on_signal(int sig) {
  if (sig == SIGWINCH) {
    g_resized = 1;
  } else {
    g_stop = 1;
  }
}

// The key an escape sequence's final byte (and its number, for "5~") names.
KeyKind csi_key(const std::string& params, char final_byte) {
  switch (final_byte) {
    case 'A':
      return KeyKind::up;
    case 'B':
      return KeyKind::down;
    case 'H':
      return KeyKind::home;
    case 'F':
      return KeyKind::end;
    case '~':
      if (params == "5") return KeyKind::page_up;
      if (params == "6") return KeyKind::page_down;
      if (params == "1" || params == "7") return KeyKind::home;
      if (params == "4" || params == "8") return KeyKind::end;
      return KeyKind::other;
    default:
      return KeyKind::other;
  }
}

}  // namespace

std::vector<Key> decode_keys(std::string& pending, bool flush) {
  std::vector<Key> keys;
  size_t i = 0;
  while (i < pending.size()) {
    const auto c = static_cast<unsigned char>(pending[i]);
    if (c != 0x1b) {
      ++i;
      if (c == 0x03) {
        keys.push_back({KeyKind::interrupt});
      } else if (c == '\r' || c == '\n') {
        keys.push_back({KeyKind::enter});
      } else if (c == 0x7f || c == 0x08) {
        keys.push_back({KeyKind::backspace});
      } else if (c >= 0x20 && c != 0x7f) {
        keys.push_back({KeyKind::character, static_cast<char>(c)});  // UTF-8 bytes included
      } else {
        keys.push_back({KeyKind::other});
      }
      continue;
    }
    // ESC: a CSI ("ESC [") or SS3 ("ESC O") sequence, or the Escape key.
    if (i + 1 >= pending.size()) {
      if (!flush) break;
      keys.push_back({KeyKind::escape});
      ++i;
      continue;
    }
    const char intro = pending[i + 1];
    if (intro != '[' && intro != 'O') {
      keys.push_back({KeyKind::escape});  // ESC then a key: Alt+key, read as Escape
      ++i;
      continue;
    }
    size_t j = i + 2;
    while (j < pending.size() && pending[j] >= 0x20 && pending[j] <= 0x3f) ++j;
    if (j >= pending.size()) {
      if (!flush) break;
      keys.push_back({KeyKind::escape});  // cut short for good: drop it
      i = pending.size();
      continue;
    }
    keys.push_back({csi_key(pending.substr(i + 2, j - i - 2), pending[j])});
    i = j + 1;
  }
  pending.erase(0, i);
  return keys;
}

Result<std::unique_ptr<RawTerminal>> RawTerminal::open() {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
    return fail(Errc::invalid_argument,
                "para monitor needs a terminal on stdin and stdout; for scripts use "
                "para list --json");
  }
  if (::tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) {
    return fail(Errc::io, "cannot read the terminal's settings", errno);
  }
  termios raw = g_saved_termios;
  ::cfmakeraw(&raw);
  raw.c_oflag |= OPOST | ONLCR;  // "\n" still returns the carriage
  if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) {
    return fail(Errc::io, "cannot put the terminal in raw mode", errno);
  }
  std::unique_ptr<RawTerminal> t(new RawTerminal());
  g_stop = 0;
  g_resized = 0;
  for (int i = 0; i < 4; ++i) {
    struct sigaction sa = {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll returns EINTR
    sigemptyset(&sa.sa_mask);
    ::sigaction(kSignals[i], &sa, &g_saved_actions[i]);
  }
  t->refresh_size();
  // Alternate screen, hidden cursor.
  t->write_raw("\x1b[?1049h\x1b[?25l");
  return t;
}

RawTerminal::~RawTerminal() {
  write_raw("\x1b[0m\x1b[?25h\x1b[?1049l");
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &g_saved_actions[i], nullptr);
}

bool RawTerminal::refresh_size() {
  winsize ws = {};
  const bool signalled = g_resized != 0;
  g_resized = 0;
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) {
    return signalled;
  }
  const bool changed = ws.ws_col != width_ || ws.ws_row != height_;
  width_ = ws.ws_col;
  height_ = ws.ws_row;
  return changed || signalled;
}

bool RawTerminal::stop_requested() const {
  return g_stop != 0;
}

std::vector<Key> RawTerminal::read_keys(int timeout_ms) {
  auto read_some = [this](int wait_ms) {
    pollfd p = {STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return false;  // timeout or a signal
    if ((p.revents & (POLLHUP | POLLERR)) != 0 && (p.revents & POLLIN) == 0) {
      g_stop = 1;  // the terminal went away
      return false;
    }
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) g_stop = 1;
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  };
  read_some(timeout_ms);
  std::vector<Key> keys = decode_keys(pending_, false);
  if (!pending_.empty()) {
    // A sequence cut short: its rest follows at once, or it was the Escape key.
    read_some(30);
    for (const Key& k : decode_keys(pending_, true)) keys.push_back(k);
  }
  return keys;
}

void RawTerminal::draw(const std::vector<std::string>& lines) {
  std::string frame = "\x1b[H";
  for (size_t i = 0; i < lines.size(); ++i) {
    frame += lines[i] + "\x1b[0m\x1b[K";
    if (i + 1 < lines.size()) frame += "\r\n";
  }
  frame += "\x1b[J";
  write_raw(frame);
}

void RawTerminal::write_raw(const std::string& bytes) {
  write_all(STDOUT_FILENO, bytes);
}

}  // namespace para::cli
