#pragma once

// What `para monitor` draws: pure functions from `para list --json`'s
// sessions to screen lines, so that the layout is testable without a
// terminal.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/clock.h"

namespace para::cli {

struct MonitorView {
  std::string title;                // the repository
  size_t selected = 0;              // index into visible_sessions()
  bool hide_stale = false;          // `s` toggles it
  std::vector<std::string> detail;  // when set, shown instead of the table (diff, log)
  std::string detail_title;
  std::vector<std::string> notice;  // the last action's result, above the key help
  std::string prompt;               // a question or text being typed; replaces the key help
  size_t to_clean = 0;              // list's orphans and problems: what para clean repairs
};

/// Review, Interrupted, Missing (worktree), Blocked, or by the time since
/// the session's "last_seen" (else its newest timestamp): Active under 5
/// minutes, Idle under 30, Stale after (para's thresholds).
std::string session_activity(const nlohmann::json& session, SystemTime now);

/// The sessions shown, in list order.
std::vector<const nlohmann::json*> visible_sessions(const nlohmann::json& sessions, bool hide_stale,
                                                    SystemTime now);

/// The whole screen: `height` lines, each at most `width` columns of text
/// (plus SGR attributes). Text from state files is made printable.
std::vector<std::string> render_monitor(const nlohmann::json& sessions, const MonitorView& view,
                                        SystemTime now, int width, int height);

}  // namespace para::cli
