// Text renderings of the session operations' JSON results, shared by the
// para CLI (its default output) and the MCP tools (their readable content
// block). Pure functions of the result objects described in ops.h.

#include "session/text.h"

#include <algorithm>
#include <optional>

#include "core/display_text.h"

namespace para::session {

using nlohmann::json;

std::string str(const json& j, const char* key, const std::string& fallback) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
}

namespace {

// A field of a result, for a terminal: state files and status reports are
// written by agents, so their text may hold escape sequences.
std::string shown(const json& j, const char* key, const std::string& fallback = "") {
  return printable(str(j, key, fallback));
}

}  // namespace

std::string agent_summary(const json& session) {
  // A session described as Corrupt (its state unreadable) has no agent.
  const json a = session.is_object() ? session.value("agent", json::object()) : json::object();
  if (!a.is_object()) return "unknown";
  const std::string state = str(a, "state");
  const auto number = [&](const char* key) -> std::optional<int64_t> {
    const auto it = a.find(key);
    if (it == a.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  if (state == "running" && number("pid"))
    return "running (pid " + std::to_string(*number("pid")) + ")";
  if (state == "exited" && number("exit_code")) {
    return "exited (code " + std::to_string(*number("exit_code")) + ")";
  }
  if (state == "exited" && number("term_signal")) {
    return "killed (signal " + std::to_string(*number("term_signal")) + ")";
  }
  return state.empty() ? "unknown" : state;
}

std::string start_text(const json& r) {
  const json& s = r["session"];
  std::string out = "Session '" + shown(s, "name") +
                    "' started\n  Branch:   " + shown(s, "branch") +
                    "\n  Worktree: " + shown(s, "worktree_path") + "\n";
  if (r["agent_launched"].get<bool>()) {
    out += "  Agent:    " + agent_summary(s) + "\n  Log:      " + shown(r, "log_path") + "\n";
  } else {
    out += "  Agent:    none (no prompt); work in the worktree, then para finish\n";
  }
  return out;
}

std::string finish_text(const json& r) {
  std::string out = "Session '" + shown(r, "session") +
                    "' finished\n  Branch: " + shown(r, "final_branch") +
                    "\n  Commit: " + shown(r, "commit") +
                    (r["committed"].get<bool>() ? "" : " (nothing new to commit)") + "\n";
  if (!r["worktree_removed"].get<bool>()) {
    out += "  " + shown(r, "message") + "\n";  // why it was kept; names the files below too
  } else if (r.contains("review_first")) {
    out +=
        "  Review before merging: the branch changes files that programs on your machine run "
        "or obey:\n";
    for (const json& f : r["review_first"]) out += "    " + printable(f.get<std::string>()) + "\n";
  }
  return out;
}

std::string cancel_text(const json& r) {
  if (!r["archived_branch"].is_string()) return shown(r, "message") + "\n";
  return "Session '" + shown(r, "session") +
         "' cancelled\n  Archived as: " + shown(r, "archived_branch") +
         "\n  To recover it: para recover " + shown(r, "session") + "\n";
}

std::string recover_text(const json& r) {
  if (r.contains("archives")) {
    if (r["archives"].empty()) return std::string("No archived sessions.\n");
    std::string out = "Archived sessions (para recover NAME restores one):\n";
    for (const json& x : r["archives"]) {
      out += "  " + shown(x, "name") + "  (archived " + shown(x, "archived_at", "?") + ", " +
             shown(x, "branch") + ")\n";
    }
    return out;
  }
  return shown(r, "message") + "\n";
}

std::string status_text(const json& r) {
  return "Status updated for session '" + shown(r, "session") + "'\n";
}

std::string status_show_text(const json& r) {
  json list = r.contains("statuses") ? r["statuses"] : json::array();
  if (r.contains("status")) {
    if (r["status"].is_null())
      return "Session '" + shown(r, "session") + "' has not reported yet\n";
    list.push_back(r["status"]);
  }
  if (list.empty()) return std::string("No status reports yet.\n");
  std::string out =
      "Session                 Task                            Tests    Progress  Blocked\n";
  for (const json& s : list) {
    const std::string line = pad_columns(shown(s, "session_name"), 23) + " ";
    const std::string task = pad_columns(shown(s, "current_task"), 30) + "  ";
    const std::string tests = pad_columns(shown(s, "test_status"), 8) + " ";
    std::string progress = "-";
    if (s.contains("todos_total") && s["todos_total"].get<int64_t>() > 0) {
      progress = std::to_string(s["todos_completed"].get<int64_t>() * 100 /
                                s["todos_total"].get<int64_t>()) +
                 "%";
    }
    progress = pad_columns(progress, 10);
    out += line + task + tests + progress + (s["is_blocked"].get<bool>() ? "yes" : "no") + "\n";
  }
  return out;
}

std::string diff_text(const json& r) {
  return str(r, "diff") + (str(r, "diff").empty() ? "" : "\n");
}

namespace {

// "standard-proxied", "off", or "container para-agent:latest (network: proxy only)".
std::string isolation_summary(const json& s) {
  const json& sb = s["sandbox"];
  const bool proxied = sb.value("network_mode", std::string()) == "proxied";
  if (s.value("session_type", std::string()) == "container") {
    std::string image = "?";
    if (s.contains("container") && s["container"].is_object()) {
      image = s["container"].value("image", image);
    }
    return "container " + image + (proxied ? " (network: proxy only)" : " (network: Docker's)");
  }
  return sb["enabled"].get<bool>() ? shown(sb, "profile", "standard") : std::string("off");
}

}  // namespace

std::string list_text(const json& r, bool verbose) {
  std::string out;
  if (r["sessions"].empty()) out += "No sessions. Start one with: para start [NAME] -p \"task\"\n";
  for (const json& s : r["sessions"]) {
    std::string mark = s["current"].get<bool>() ? "*" : " ";
    std::string status = shown(s, "status");
    if (s["interrupted"].get<bool>()) status += " (interrupted; run para clean)";
    if (!s["worktree_exists"].get<bool>() && status == "Active") status += " (worktree missing)";
    if (verbose) {
      out += mark + " " + shown(s, "name") + "\n    Status:   " + status +
             "\n    Branch:   " + shown(s, "branch") + " (from " + shown(s, "parent_branch", "?") +
             ")\n    Worktree: " + shown(s, "worktree_path") +
             "\n    Agent:    " + agent_summary(s) + "\n    Sandbox:  " + isolation_summary(s) +
             "\n";
      if (s.contains("dirty") && s["dirty"].is_boolean()) {
        out += std::string("    Changes:  ") + (s["dirty"].get<bool>() ? "uncommitted" : "none") +
               "\n";
      }
    } else {
      std::string line = mark + " " + shown(s, "name");
      line += std::string(28 - std::min<size_t>(28, display_columns(line)), ' ');
      line += " " + shown(s, "branch");
      line += std::string(56 - std::min<size_t>(56, display_columns(line)), ' ');
      out += line + " " + status + "  agent: " + agent_summary(s) + "\n";
    }
  }
  if (!r["archived"].empty()) {
    out += "\nArchived (para recover NAME):\n";
    for (const json& x : r["archived"])
      out += "  " + shown(x, "name") + "  " + shown(x, "branch") + "\n";
  }
  if (!r["orphans"].empty()) {
    out += "\nLeft behind by interrupted commands (para clean repairs them):\n";
    for (const json& o : r["orphans"])
      out += "  " + shown(o, "kind") + ": " + shown(o, "target") + "\n";
  }
  return out;
}

std::string status_summary_text(const json& r) {
  const json& t = r["test_summary"];
  auto n = [](const json& v) { return std::to_string(v.get<int64_t>()); };
  return "Sessions reporting: " + n(r["total_sessions"]) + " (" + n(r["active_sessions"]) +
         " active, " + n(r["stale_sessions"]) + " stale for 24 h or more, " +
         n(r["blocked_sessions"]) + " blocked)\nTests: " + n(t["passed"]) + " passed, " +
         n(t["failed"]) + " failed, " + n(t["unknown"]) + " unknown\nProgress: " +
         (r["overall_progress"].is_null() ? std::string("no todo lists reported")
                                          : n(r["overall_progress"]) + "% of all todos done") +
         "\n";
}

std::string clean_text(const json& res) {
  const bool dry = res.value("dry_run", false);

  std::string out;
  for (const json& act : res["actions"]) {
    out += std::string(dry                       ? "  would "
                       : act["done"].get<bool>() ? "  done: "
                                                 : "  FAILED: ") +
           shown(act, "kind") + ": " + shown(act, "target") +
           (act.contains("error") ? " (" + shown(act, "error") + ")" : "") + "\n";
  }
  return out + shown(res, "message") + "\n";
}

std::string wait_text(const json& r) {
  if (str(r["agent"], "state").empty()) {
    return "Session '" + shown(r, "session") +
           "' has no agent (it was started without a prompt); para resume starts one\n";
  }
  return std::string(r["finished"].get<bool>() ? "The agent is done: " : "Still running: ") +
         agent_summary(r) + "\n";
}

std::string logs_text(const json& r) {
  std::string out;
  if (r.contains("entries")) {
    for (const json& e : r["entries"]) out += e.dump() + "\n";
  } else {
    for (const json& l : r["lines"]) out += l.get<std::string>() + "\n";
  }
  return out;
}

std::string message_text(const json& r) {
  return str(r, "message") + "\n";
}

}  // namespace para::session
