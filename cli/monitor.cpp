// para monitor: a full-screen view of the repository's sessions that
// refreshes itself, with keys for the review work (finish, cancel, resume,
// diff, log). Every action is the same session operation the CLI and the MCP
// tools call; the view only draws their results.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "cli/commands.h"
#include "cli/monitor_view.h"
#include "cli/terminal.h"
#include "core/fs.h"
#include "session/ops.h"
#include "session/text.h"

namespace para::cli {
namespace {

using nlohmann::json;
using namespace para::session;
using std::chrono::steady_clock;

constexpr auto kRefreshEvery = std::chrono::seconds(2);

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

std::string base64(const std::string& in) {
  static const char* kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kDigits[(v >> 18) & 63];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < in.size() ? kDigits[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kDigits[v & 63] : '=';
  }
  return out;
}

// While the view owns the screen, the process's own log lines (fd 2) go to
// a pipe and appear as notices; what is left goes to the real stderr after.
// The pipe's writer does not block: past 64 KiB unread, lines are dropped.
class StderrCapture {
 public:
  StderrCapture() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    saved_ = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[1]);
    read_end_ = fds[0];
  }
  ~StderrCapture() {
    if (read_end_ < 0) return;
    const std::string rest = drain();
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(read_end_);
    write_all(STDERR_FILENO, rest);
  }
  std::string drain() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while (read_end_ >= 0 && (n = ::read(read_end_, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int read_end_ = -1, saved_ = -1;
};

// The proxy's decisions, one line each: when, what, where, why, how much.
std::string network_text(const json& r) {
  std::string out;
  for (const json& e : r["entries"]) {
    const std::string time = str(e, "time");
    out += (time.size() >= 19 ? time.substr(11, 8) : time) + "  " + str(e, "decision") + "  " +
           str(e, "host") + ":" + std::to_string(e.value("port", 0)) + "  " + str(e, "reason") +
           "  up " + std::to_string(e.value("bytes_up", 0)) + " B, down " +
           std::to_string(e.value("bytes_down", 0)) + " B\n";
  }
  return out.empty() ? "No network decisions: the session's proxy has logged nothing.\n" : out;
}

enum class Mode { browse, finish_message, confirm_cancel, confirm_force_cancel, detail };

class Monitor {
 public:
  Monitor(const Repo& repo, RawTerminal& term, StderrCapture& log)
      : repo_(repo), term_(term), log_(log) {
    view_.title = repo.root;
  }

  int run() {
    refresh();
    while (!term_.stop_requested() && !quit_) {
      if (steady_clock::now() - loaded_at_ >= kRefreshEvery) refresh();
      term_.refresh_size();
      draw();
      const auto wait = kRefreshEvery - (steady_clock::now() - loaded_at_);
      const int ms =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
      for (const Key& key : term_.read_keys(std::max(ms, 10))) {
        handle(key);
        if (quit_) break;
      }
    }
    return kExitOk;
  }

 private:
  void draw() {
    term_.draw(render_monitor(sessions_, view_, std::chrono::system_clock::now(), term_.width(),
                              term_.height()));
  }

  // The list as `para list --json` gives it; each session also gets
  // "last_seen", the newest of its log's change and its state's times.
  void refresh() {
    loaded_at_ = steady_clock::now();
    Result<json> r = list_sessions(repo_, ListRequest{.verbose = false, .cwd = ""});
    if (std::string logged = log_.drain(); !logged.empty()) view_.notice = split_lines(logged);
    if (!r) {
      view_.notice = split_lines(r.error().message);
      return;
    }
    sessions_ = (*r)["sessions"];
    view_.to_clean = (*r)["orphans"].size() + (*r)["problems"].size();
    for (json& s : sessions_) {
      struct stat st;
      if (::stat(str(s, "log_path").c_str(), &st) == 0) {
        s["last_seen"] = rfc3339(std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec));
      }
    }
    // Keep the selection on the same session when the list changes.
    std::vector<const json*> shown = visible_sessions(sessions_, view_.hide_stale, now());
    for (size_t i = 0; i < shown.size(); ++i) {
      if (str(*shown[i], "name") == selected_name_) view_.selected = i;
    }
    if (!shown.empty()) view_.selected = std::min(view_.selected, shown.size() - 1);
    selected_name_ = shown.empty() ? "" : str(*shown[view_.selected], "name");
  }

  static SystemTime now() { return std::chrono::system_clock::now(); }

  void select(long delta) {
    const size_t n = visible_sessions(sessions_, view_.hide_stale, now()).size();
    if (n == 0) return;
    const long target = static_cast<long>(view_.selected) + delta;
    view_.selected = static_cast<size_t>(std::clamp(target, 0L, static_cast<long>(n) - 1));
    selected_name_ =
        str(*visible_sessions(sessions_, view_.hide_stale, now())[view_.selected], "name");
  }

  // Shows `message` while a slow operation runs, then its outcome.
  void busy(const std::string& message) {
    view_.prompt.clear();
    view_.notice = {message};
    draw();
  }

  void report(const Result<json>& r, const std::function<std::string(const json&)>& text) {
    const std::string logged = log_.drain();
    refresh();
    view_.notice =
        split_lines(logged + log_.drain() + (r ? text(*r) : "para: " + r.error().message));
  }

  void handle(const Key& key) {
    if (key.kind == KeyKind::interrupt) {
      quit_ = true;
      return;
    }
    switch (mode_) {
      case Mode::browse:
        return browse_key(key);
      case Mode::detail:
        view_.detail.clear();
        view_.detail_title.clear();
        mode_ = Mode::browse;
        return;
      case Mode::finish_message:
        return message_key(key);
      case Mode::confirm_cancel:
      case Mode::confirm_force_cancel:
        return confirm_key(key);
    }
  }

  void browse_key(const Key& key) {
    const std::string name = selected_name_;
    switch (key.kind) {
      case KeyKind::up:
        return select(-1);
      case KeyKind::down:
        return select(1);
      case KeyKind::page_up:
        return select(-(term_.height() - 4));
      case KeyKind::page_down:
        return select(term_.height() - 4);
      case KeyKind::home:
        return select(-1000000);
      case KeyKind::end:
        return select(1000000);
      case KeyKind::escape:
        quit_ = true;
        return;
      case KeyKind::enter:
        if (name.empty()) return;
        busy("Resuming " + name + "...");
        return report(resume_session(repo_, ResumeRequest{.session = name, .cwd = repo_.root}),
                      message_text);
      case KeyKind::character:
        break;
      default:
        return;
    }
    switch (key.ch) {
      case 'q':
        quit_ = true;
        return;
      case 'j':
        return select(1);
      case 'k':
        return select(-1);
      case 's':
        view_.hide_stale = !view_.hide_stale;
        return refresh();
      case 'r':
        view_.notice.clear();
        return refresh();
    }
    if (name.empty()) return;
    switch (key.ch) {
      case 'f':
        mode_ = Mode::finish_message;
        typed_.clear();
        target_ = name;
        view_.prompt = finish_prompt();
        return;
      case 'c':
        mode_ = Mode::confirm_cancel;
        target_ = name;
        view_.prompt = "Cancel " + name + "? Its branch is archived (para recover " + name +
                       " restores it). [y/N]";
        return;
      case 'd':
        return show_detail("Changes in " + name + " (any key returns)",
                           session_diff(repo_, name, true),
                           [](const json& r) { return diff_text(r); });
      case 'l':
        return show_detail(
            "Log of " + name + " (any key returns)",
            read_logs(repo_,
                      LogsRequest{.session = name, .lines = static_cast<size_t>(term_.height())}),
            [](const json& r) { return logs_text(r); });
      case 'i':
        return show_detail("Details of " + name + " (any key returns)",
                           json{{"sessions", json::array({describe_session(repo_, name, true)})},
                                {"archived", json::array()},
                                {"orphans", json::array()}},
                           [](const json& r) { return list_text(r, true); });
      case 'n':
        return show_detail(
            "Network decisions of " + name + " (any key returns)",
            read_logs(repo_, LogsRequest{.session = name,
                                         .lines = static_cast<size_t>(term_.height()),
                                         .network = true}),
            network_text);
      case 'y':
        // OSC 52: the terminal itself sets its clipboard, over SSH too.
        term_.write_raw("\x1b]52;c;" + base64(name) + "\x07");
        view_.notice = {"Copied " + name + " to the clipboard (if your terminal allows OSC 52)."};
        return;
    }
  }

  void show_detail(const std::string& title, const Result<json>& r,
                   const std::function<std::string(const json&)>& text) {
    if (!r) {
      view_.notice = split_lines("para: " + r.error().message);
      return;
    }
    view_.detail_title = title;
    view_.detail = split_lines(text(*r));
    if (view_.detail.empty()) view_.detail = {"(nothing)"};
    mode_ = Mode::detail;
  }

  std::string finish_prompt() const {
    return "Commit message for " + target_ + " (Enter finishes, Esc gives up): " + typed_ + "_";
  }

  void message_key(const Key& key) {
    if (key.kind == KeyKind::escape) {
      mode_ = Mode::browse;
      view_.prompt.clear();
      return;
    }
    if (key.kind == KeyKind::backspace) {
      // One character: a UTF-8 sequence's continuation bytes, then its lead.
      while (!typed_.empty() && (static_cast<unsigned char>(typed_.back()) & 0xc0) == 0x80) {
        typed_.pop_back();
      }
      if (!typed_.empty()) typed_.pop_back();
    }
    if (key.kind == KeyKind::character && typed_.size() < 4000) typed_ += key.ch;
    if (key.kind == KeyKind::enter && !typed_.empty()) {
      mode_ = Mode::browse;
      busy("Finishing " + target_ + "...");
      return report(
          finish_session(repo_,
                         FinishRequest{.message = typed_, .session = target_, .cwd = repo_.root}),
          finish_text);
    }
    view_.prompt = finish_prompt();
  }

  void confirm_key(const Key& key) {
    const bool yes = key.kind == KeyKind::character && (key.ch == 'y' || key.ch == 'Y');
    const bool force = mode_ == Mode::confirm_force_cancel;
    mode_ = Mode::browse;
    view_.prompt.clear();
    if (!yes) {
      view_.notice = {"Nothing changed."};
      return;
    }
    busy("Cancelling " + target_ + "...");
    Result<json> r =
        cancel_session(repo_, CancelRequest{.session = target_, .force = force, .cwd = repo_.root});
    if (!r && r.error().code == Errc::conflict && !force) {
      // Uncommitted work (or a worktree off its branch): ask once more.
      view_.notice = split_lines("para: " + r.error().message);
      mode_ = Mode::confirm_force_cancel;
      view_.prompt = "Cancel " + target_ + " anyway and lose that work? [y/N]";
      return;
    }
    report(r, cancel_text);
  }

  const Repo& repo_;
  RawTerminal& term_;
  StderrCapture& log_;
  MonitorView view_;
  json sessions_ = json::array();
  std::string selected_name_;
  steady_clock::time_point loaded_at_;
  Mode mode_ = Mode::browse;
  std::string target_;  // the session a prompt is about
  std::string typed_;   // the commit message being typed
  bool quit_ = false;
};

}  // namespace

int run_monitor(const Args& a) {
  (void)a;
  Result<Repo> repo = open_repo(current_dir());
  if (!repo) return report_error(repo.error());
  StderrCapture log;  // outlives the terminal: what it holds prints after the view
  Result<std::unique_ptr<RawTerminal>> term = RawTerminal::open();
  if (!term) {
    report_error(term.error());
    return kExitUsage;
  }
  return Monitor(*repo, **term, log).run();
}

std::vector<Command> monitor_commands() {
  return {{{.path = {"monitor"},
            .summary = "Watch the sessions in a full-screen view; finish, cancel or resume them",
            .details = "Keys: j/k or arrows select; Enter resumes the agent; f finishes (asks for "
                       "the commit message); c cancels (asks first); i shows the details, d the "
                       "diff, l the log, "
                       "n the proxy's decisions; y copies the name (OSC 52); s hides stale "
                       "sessions; q quits.\n"
                       "Bare 'para' in a terminal opens it too."},
           run_monitor}};
}

}  // namespace para::cli
