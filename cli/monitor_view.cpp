#include "cli/monitor_view.h"

#include <algorithm>
#include <optional>

#include "cli/terminal.h"
#include "core/display_text.h"
#include "session/text.h"

namespace para::cli {
namespace {

using nlohmann::json;
using session::str;

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReverse = "\x1b[7m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kCyan = "\x1b[36m";

const char* kKeyHelp =
    "j/k select  Enter resume  f finish  c cancel  i info  d diff  l log  n network  y copy  "
    "s stale  r refresh  q quit";

std::optional<SystemTime> newest_time(const json& session) {
  std::optional<SystemTime> newest;
  auto consider = [&](const json& holder, const char* key) {
    if (!holder.is_object()) return;
    if (auto t = parse_rfc3339(str(holder, key))) newest = std::max(newest.value_or(*t), *t);
  };
  consider(session, "last_seen");
  consider(session, "created_at");
  consider(session, "last_activity");
  if (session.contains("agent")) {
    consider(session["agent"], "started_at");
    consider(session["agent"], "ended_at");
  }
  if (session.contains("agent_status")) consider(session["agent_status"], "last_update");
  return newest;
}

const char* activity_color(const std::string& activity) {
  if (activity == "Active") return kGreen;
  if (activity == "Idle") return kYellow;
  if (activity == "Stale") return kDim;
  if (activity == "Review") return kCyan;
  if (activity == "Interrupted" || activity == "Missing" || activity == "Blocked") return kRed;
  return "";  // the header
}

std::string agent_cell(const json& s) {
  const json& a = s["agent"];
  const std::string state = str(a, "state");
  if (state == "exited" && a["exit_code"].is_number()) {
    return "exited " + std::to_string(a["exit_code"].get<int>());
  }
  if (state == "exited" && a["term_signal"].is_number()) {
    return "killed " + std::to_string(a["term_signal"].get<int>());
  }
  return state;
}

struct Cells {
  std::string name, activity, agent, tests, todos, diff, task;
};

Cells cells_of(const json& s, SystemTime now) {
  Cells c{.name = str(s, "name"),
          .activity = session_activity(s, now),
          .agent = agent_cell(s),
          .tests = "-",
          .todos = "",
          .diff = "",
          .task = str(s, "task")};
  const json& st = s.contains("agent_status") ? s["agent_status"] : json();
  if (st.is_object()) {
    c.tests = str(st, "test_status", "-");
    if (st.contains("todos_completed") && st.contains("todos_total")) {
      c.todos = std::to_string(st.value("todos_completed", 0)) + "/" +
                std::to_string(st.value("todos_total", 0));
    }
    if (st.contains("diff_stats") && st["diff_stats"].is_object()) {
      const json& d = st["diff_stats"];
      c.diff = "+" + std::to_string(d.value("additions", 0)) + " -" +
               std::to_string(d.value("deletions", 0));
    }
    if (!str(st, "current_task").empty()) c.task = str(st, "current_task");
  }
  return c;
}

}  // namespace

std::string session_activity(const json& s, SystemTime now) {
  if (str(s, "status") == "Review") return "Review";
  if (s.value("interrupted", false)) return "Interrupted";
  if (!s.value("worktree_exists", true)) return "Missing";
  if (s.contains("agent_status") && s["agent_status"].is_object() &&
      s["agent_status"].value("is_blocked", false)) {
    return "Blocked";
  }
  std::optional<SystemTime> seen = newest_time(s);
  const auto age = seen ? now - *seen : std::chrono::hours(24);
  if (age < std::chrono::minutes(5)) return "Active";
  if (age < std::chrono::minutes(30)) return "Idle";
  return "Stale";
}

std::vector<const json*> visible_sessions(const json& sessions, bool hide_stale, SystemTime now) {
  std::vector<const json*> out;
  if (!sessions.is_array()) return out;
  for (const json& s : sessions) {
    if (hide_stale && session_activity(s, now) == "Stale") continue;
    out.push_back(&s);
  }
  return out;
}

std::vector<std::string> render_monitor(const json& sessions, const MonitorView& view,
                                        SystemTime now, int width_in, int height_in) {
  const size_t width = static_cast<size_t>(std::max(width_in, 20));
  const size_t height = static_cast<size_t>(std::max(height_in, 6));
  std::vector<const json*> shown = visible_sessions(sessions, view.hide_stale, now);
  std::vector<std::string> lines;

  const size_t total = sessions.is_array() ? sessions.size() : 0;
  std::string title = " para monitor  " + view.title + "  " + std::to_string(shown.size()) +
                      (shown.size() == 1 ? " session" : " sessions");
  if (shown.size() != total)
    title += " (" + std::to_string(total - shown.size()) + " stale hidden)";
  if (view.to_clean > 0) {
    title +=
        "  " + std::to_string(view.to_clean) + " left behind by interrupted commands: para clean";
  }
  lines.push_back(std::string(kReverse) + pad_columns(printable(title), width) + kReset);

  // The bottom: the notice (up to 3 lines), then the prompt or the key help.
  std::vector<std::string> bottom;
  for (size_t i = 0; i < view.notice.size() && i < 3; ++i) {
    bottom.push_back(fit_columns(printable(view.notice[i]), width));
  }
  bottom.push_back(view.prompt.empty()
                       ? std::string(kDim) + fit_columns(kKeyHelp, width) + kReset
                       : std::string(kBold) + fit_columns(printable(view.prompt), width) + kReset);
  const size_t body = height - 1 - bottom.size();

  if (!view.detail_title.empty()) {
    lines.push_back(std::string(kBold) + fit_columns(printable(view.detail_title), width) + kReset);
    const size_t room = body - 1;
    const size_t first = view.detail.size() > room ? view.detail.size() - room : 0;
    for (size_t i = first; i < view.detail.size(); ++i) {
      lines.push_back(fit_columns(printable(view.detail[i]), width));
    }
  } else {
    std::vector<Cells> rows;
    size_t name_w = 4;
    for (const json* s : shown) {
      rows.push_back(cells_of(*s, now));
      name_w = std::max(name_w, display_columns(printable(rows.back().name)));
    }
    name_w = std::min<size_t>(name_w, 24);
    // A row: the mark and the name, the state cell (coloured unless
    // selected), and the rest, cut to the width as a whole.
    auto row_line = [&](const Cells& c, bool selected) {
      const std::string head =
          std::string(selected ? "> " : "  ") + pad_columns(printable(c.name), name_w) + "  ";
      const std::string tail = pad_columns(printable(c.agent), 10) +
                               pad_columns(printable(c.tests), 8) +
                               pad_columns(printable(c.todos), 7) +
                               pad_columns(printable(c.diff), 12) + printable(c.task);
      const size_t fixed = display_columns(head) + 11;
      if (selected || *activity_color(c.activity) == '\0' || fixed > width) {
        std::string plain = fit_columns(head + pad_columns(c.activity, 11) + tail, width);
        return selected ? std::string(kReverse) + pad_columns(plain, width) + kReset : plain;
      }
      return head + activity_color(c.activity) + pad_columns(c.activity, 11) + kReset +
             fit_columns(tail, width - fixed);
    };
    lines.push_back(std::string(kBold) +
                    row_line({"NAME", "STATE", "AGENT", "TESTS", "TODOS", "DIFF", "TASK"}, false) +
                    kReset);
    if (rows.empty()) {
      lines.push_back(total == 0 ? "  No sessions. Start one with: para start NAME -p \"task\""
                                 : "  Only stale sessions: press s to show them.");
    }
    const size_t room = body - 1;
    const size_t selected = std::min(view.selected, rows.empty() ? 0 : rows.size() - 1);
    const size_t first = selected >= room ? selected - room + 1 : 0;
    for (size_t i = first; i < rows.size() && i < first + room; ++i) {
      lines.push_back(row_line(rows[i], i == selected));
    }
  }
  while (lines.size() < height - bottom.size()) lines.push_back("");
  for (std::string& b : bottom) lines.push_back(std::move(b));
  return lines;
}

}  // namespace para::cli
