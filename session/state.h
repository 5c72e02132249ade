#pragma once

// Session state files (<name>.state) and agent status files (status.json),
// with para's field names. Unknown fields are kept on rewrite, so files
// written by a newer para survive an older one.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace para::session {

enum class SessionStatus { starting, active, review, finished, cancelled };
const char* status_name(SessionStatus s);  // para's spelling: "Active", "Review", ...

/// What the supervisor records about the agent process.
struct AgentRecord {
  std::string state;  // "", starting, running, exited, failed, stopped
  std::optional<int64_t> supervisor_pid;
  std::optional<uint64_t> supervisor_start;  // /proc/<pid>/stat start time, against pid reuse
  std::optional<int64_t> pid;                // the agent, leader of its process group
  std::optional<uint64_t> pid_start;         // its /proc start time, against pid reuse
  std::optional<std::string> started_at, ended_at;
  std::optional<int> exit_code;
  std::optional<int> term_signal;
  std::optional<bool> oom_killed;
  std::string error;
};

struct SessionState {
  // para's fields
  std::string name, branch, worktree_path, created_at;
  SessionStatus status = SessionStatus::active;
  std::optional<std::string> task_description, last_activity, parent_branch;
  bool is_container = false;
  std::optional<std::string> container_id;
  bool dangerous_skip_permissions = false;
  bool sandbox_enabled = false;
  std::optional<std::string> sandbox_profile;
  // ours
  std::string network_mode = "open";         // open | proxied | none
  std::vector<std::string> allowed_domains;  // the session's own additions
  std::vector<std::string> agent_command;    // the template of the current run
  std::optional<std::string> prompt_file;    // the prompt of the current run
  std::optional<std::string> setup_script;
  nlohmann::json container = nlohmann::json::object();  // image, docker_args, limits, forward_keys
  std::optional<int64_t> owner_pid;                     // the para process starting/cancelling it
  std::optional<uint64_t> owner_start;                  // its /proc start time, against pid reuse
  std::optional<std::string> archived_branch;           // set when a cancel began
  std::optional<std::string> worktree_git_dir;          // <common>/worktrees/<admin name>
  std::optional<std::string> runtime_dir;
  // What the sandbox left that para did not take (sandbox::SyncNotes), as
  // the supervisor found it after each run; finish reports and clears them.
  std::vector<std::string> sandbox_notes;
  AgentRecord agent;
  nlohmann::json extra = nlohmann::json::object();  // fields we do not know, kept verbatim
};

nlohmann::json state_to_json(const SessionState& s);
/// Errors: invalid_argument naming the field that is missing or wrong.
Result<SessionState> state_from_json(const nlohmann::json& doc);

/// Reads a state file. Errors: not_found; invalid_argument when the file is
/// corrupt or truncated, with what to do (para clean moves it aside).
Result<SessionState> load_state(const std::string& path);
/// Writes a state file atomically.
Result<void> save_state(const std::string& path, const SessionState& s);

/// The agent's own progress report (para's Status).
struct AgentStatus {
  std::string session_name, current_task;
  std::string test_status = "unknown";  // passed | failed | unknown
  bool is_blocked = false;
  std::optional<std::string> blocked_reason;
  std::optional<int64_t> todos_completed, todos_total;
  std::optional<int64_t> additions, deletions;  // diff_stats
  std::string last_update;
};

nlohmann::json status_to_json(const AgentStatus& s);
Result<AgentStatus> status_from_json(const nlohmann::json& doc);
/// Reads a status file; nullopt when there is none or it is empty/partial
/// (para treats those as "no status").
std::optional<AgentStatus> load_status(const std::string& path);

}  // namespace para::session
