// para monitor's pure half: key decoding and the screen it draws from
// `para list --json`'s sessions. The terminal half runs in a real pty in
// tests/integration/sessions/monitor_test.cpp.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <regex>

#include "cli/monitor_view.h"
#include "cli/terminal.h"
#include "core/display_text.h"

namespace para::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const SystemTime kNow = *parse_rfc3339("2026-11-29T12:00:00Z");

std::string at(std::chrono::minutes ago) {
  return rfc3339(kNow - ago);
}

json session(const std::string& name, std::chrono::minutes ago,
             const std::string& status = "Active") {
  return {{"name", name},
          {"status", status},
          {"created_at", at(600min)},
          {"last_seen", at(ago)},
          {"task", "the task of " + name},
          {"interrupted", false},
          {"worktree_exists", true},
          {"agent", {{"state", "running"}, {"pid", 7}}},
          {"agent_status", nullptr}};
}

// The text a terminal shows: SGR sequences removed.
std::string plain(const std::string& line) {
  return std::regex_replace(line, std::regex("\x1b\\[[0-9;]*m"), "");
}

std::string screen(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += plain(l) + "\n";
  return out;
}

TEST_CASE("decode_keys: characters, arrows, page keys, Enter, Backspace and Ctrl-C") {
  std::string in = "jk\x1b[A\x1b[B\x1bOA\x1b[5~\x1b[6~\x1b[H\x1b[4~\r\x7f\x03";
  std::vector<Key> keys = decode_keys(in, false);
  std::vector<KeyKind> kinds;
  for (const Key& k : keys) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<KeyKind>{KeyKind::character, KeyKind::character, KeyKind::up,
                                      KeyKind::down, KeyKind::up, KeyKind::page_up,
                                      KeyKind::page_down, KeyKind::home, KeyKind::end,
                                      KeyKind::enter, KeyKind::backspace, KeyKind::interrupt});
  CHECK(keys[0].ch == 'j');
  CHECK(in.empty());
}

TEST_CASE("decode_keys: a sequence cut short waits for its rest; a lone ESC is Escape") {
  std::string in = "q\x1b[";
  std::vector<Key> keys = decode_keys(in, false);
  REQUIRE(keys.size() == 1);
  CHECK(in == "\x1b[");
  in += "B";
  keys = decode_keys(in, false);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].kind == KeyKind::down);

  in = "\x1b";
  CHECK(decode_keys(in, false).empty());
  keys = decode_keys(in, true);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].kind == KeyKind::escape);
  CHECK(in.empty());

  in = "\x1b[12";  // never completed
  keys = decode_keys(in, true);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].kind == KeyKind::escape);
  CHECK(in.empty());
}

TEST_CASE("decode_keys: unknown sequences and control bytes are not characters; UTF-8 is") {
  std::string in = "\x1b[99Z\x01x\xc3\xa9";
  std::vector<Key> keys = decode_keys(in, true);
  REQUIRE(keys.size() == 5);
  CHECK(keys[0].kind == KeyKind::other);
  CHECK(keys[1].kind == KeyKind::other);  // Ctrl-A
  CHECK(keys[2].ch == 'x');
  CHECK(keys[3].kind == KeyKind::character);  // é, byte by byte
  CHECK(std::string{keys[3].ch, keys[4].ch} == "\xc3\xa9");
}

TEST_CASE("session_activity: para's thresholds, and the states that override them") {
  CHECK(session_activity(session("a", 1min), kNow) == "Active");
  CHECK(session_activity(session("a", 6min), kNow) == "Idle");
  CHECK(session_activity(session("a", 31min), kNow) == "Stale");
  CHECK(session_activity(session("a", 1min, "Review"), kNow) == "Review");
  json s = session("a", 1min);
  s["interrupted"] = true;
  CHECK(session_activity(s, kNow) == "Interrupted");
  s = session("a", 1min);
  s["worktree_exists"] = false;
  CHECK(session_activity(s, kNow) == "Missing");
  s = session("a", 1min);
  s["agent_status"] = {{"is_blocked", true}, {"last_update", at(1min)}};
  CHECK(session_activity(s, kNow) == "Blocked");
  // Without last_seen, the newest of the other times counts.
  s = session("a", 100min);
  s["agent_status"] = {{"last_update", at(2min)}};
  CHECK(session_activity(s, kNow) == "Active");
}

TEST_CASE("render_monitor: every line fits the width, the height is exact") {
  json sessions = json::array();
  for (int i = 0; i < 30; ++i) {
    json s = session("session-with-a-rather-long-name-" + std::to_string(i), 1min);
    s["task"] = std::string(300, 'x') + "é";
    sessions.push_back(s);
  }
  // Wide characters (two columns each) in every column that holds text.
  for (int i = 0; i < 5; ++i) {
    json s = session("セッション" + std::to_string(i), 1min);
    s["task"] = "修正する🙂" + std::string(i, 'x') + std::string(40, 'y') + "漢字漢字漢字";
    sessions.push_back(s);
  }
  for (int width : {20, 40, 80, 200}) {
    for (int height : {6, 10, 40}) {
      MonitorView view{.title = "/repo", .selected = 25};
      view.notice = {"a notice " + std::string(500, 'n')};
      std::vector<std::string> lines = render_monitor(sessions, view, kNow, width, height);
      CHECK(lines.size() == static_cast<size_t>(height));
      for (const std::string& l : lines) {
        CHECK(display_columns(plain(l)) <= static_cast<size_t>(width));
      }
      for (int selected : {25, 31}) {  // the reverse-video bar spans the whole width
        view.selected = selected;
        bool found = false;
        for (const std::string& l : render_monitor(sessions, view, kNow, width, height)) {
          if (plain(l).rfind("> ", 0) != 0) continue;
          found = true;
          CHECK(display_columns(plain(l)) == static_cast<size_t>(width));
        }
        CHECK(found);
      }
    }
  }
}

TEST_CASE("render_monitor: the selected session stays on screen and is marked") {
  json sessions = json::array();
  for (int i = 0; i < 30; ++i) sessions.push_back(session("s" + std::to_string(i), 1min));
  MonitorView view{.title = "/repo", .selected = 27};
  std::string text = screen(render_monitor(sessions, view, kNow, 100, 12));
  CHECK(text.find("> s27 ") != std::string::npos);
  CHECK(text.find("  s26 ") != std::string::npos);
  CHECK(text.find(" s0 ") == std::string::npos);  // scrolled past
  view.selected = 0;
  text = screen(render_monitor(sessions, view, kNow, 100, 12));
  CHECK(text.find("> s0 ") != std::string::npos);
  CHECK(text.find(" s27 ") == std::string::npos);
}

TEST_CASE("render_monitor: columns come from the agent's status report") {
  json s = session("alpha", 1min);
  s["agent"] = {{"state", "exited"}, {"exit_code", 3}};
  s["agent_status"] = {{"current_task", "writing tests"},
                       {"test_status", "failed"},
                       {"is_blocked", false},
                       {"todos_completed", 2},
                       {"todos_total", 5},
                       {"diff_stats", {{"additions", 10}, {"deletions", 4}}},
                       {"last_update", at(1min)}};
  const std::string text =
      screen(render_monitor(json::array({s}), MonitorView{.title = "/r"}, kNow, 120, 8));
  CHECK(text.find("NAME") != std::string::npos);
  CHECK(text.find("exited 3") != std::string::npos);
  CHECK(text.find("failed") != std::string::npos);
  CHECK(text.find("2/5") != std::string::npos);
  CHECK(text.find("+10 -4") != std::string::npos);
  CHECK(text.find("writing tests") != std::string::npos);
  CHECK(text.find("the task of alpha") == std::string::npos);  // the report's task wins
}

TEST_CASE("render_monitor: stale sessions can be hidden; empty lists say what to do") {
  json sessions = json::array({session("fresh", 1min), session("old", 90min)});
  MonitorView view{.title = "/r", .hide_stale = true};
  std::string text = screen(render_monitor(sessions, view, kNow, 100, 10));
  CHECK(text.find("fresh") != std::string::npos);
  CHECK(text.find(" old") == std::string::npos);
  CHECK(text.find("1 stale hidden") != std::string::npos);
  CHECK(visible_sessions(sessions, true, kNow).size() == 1);

  view.to_clean = 2;
  text = screen(render_monitor(json::array({session("old", 90min)}), view, kNow, 120, 10));
  CHECK(text.find("2 left behind by interrupted commands: para clean") != std::string::npos);
  CHECK(text.find("press s to show them") != std::string::npos);
  text = screen(render_monitor(json::array(), MonitorView{.title = "/r"}, kNow, 100, 10));
  CHECK(text.find("No sessions. Start one with") != std::string::npos);
}

TEST_CASE("render_monitor: text from state files cannot send escape sequences") {
  json s = session("evil", 1min);
  s["task"] = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\rtask";
  s["agent_status"] = {{"current_task", "\x1b[31mred"}, {"last_update", at(1min)}};
  MonitorView view{.title = "/r\x1b[H", .selected = 5};
  view.notice = {"\x1b[2Jnotice"};
  for (const std::string& line : render_monitor(json::array({s}), view, kNow, 120, 8)) {
    // Only the view's own SGR attributes remain.
    CHECK(plain(line).find('\x1b') == std::string::npos);
    CHECK(line.find('\x07') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
  }
}

TEST_CASE("render_monitor: a detail view shows the newest lines that fit") {
  MonitorView view{.title = "/r", .detail_title = "Log of a"};
  for (int i = 0; i < 50; ++i) view.detail.push_back("line " + std::to_string(i));
  const std::string text = screen(render_monitor(json::array(), view, kNow, 80, 10));
  CHECK(text.find("Log of a") != std::string::npos);
  CHECK(text.find("line 49") != std::string::npos);
  CHECK(text.find("line 10\n") == std::string::npos);
  CHECK(text.find("NAME") == std::string::npos);
}

}  // namespace
}  // namespace para::cli
