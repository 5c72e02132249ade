#include "session/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/json_input.h"
#include "core/json_schema.h"
#include "schemas/schemas.h"

namespace para::session {
namespace {

using nlohmann::json;

const char* const kKnownFields[] = {"name",
                                    "branch",
                                    "worktree_path",
                                    "created_at",
                                    "status",
                                    "task_description",
                                    "last_activity",
                                    "git_stats",
                                    "session_type",
                                    "parent_branch",
                                    "is_docker",
                                    "dangerous_skip_permissions",
                                    "sandbox_enabled",
                                    "sandbox_profile",
                                    "network_mode",
                                    "allowed_domains",
                                    "agent_command",
                                    "setup_script",
                                    "container",
                                    "owner_pid",
                                    "owner_start",
                                    "archived_branch",
                                    "worktree_git_dir",
                                    "runtime_dir",
                                    "sandbox_notes",
                                    "agent",
                                    "prompt_file",
                                    "proxy_socket"};

bool known(const std::string& key) {
  for (const char* k : kKnownFields) {
    if (key == k) return true;
  }
  return false;
}

template <class T>
void opt(const json& doc, const char* key, std::optional<T>& out) {
  if (doc.contains(key) && !doc[key].is_null()) out = doc[key].get<T>();
}

template <class T>
void put(json& doc, const char* key, const std::optional<T>& value) {
  if (value) doc[key] = *value;
}

}  // namespace

const char* status_name(SessionStatus s) {
  switch (s) {
    case SessionStatus::starting:
      return "Starting";
    case SessionStatus::active:
      return "Active";
    case SessionStatus::review:
      return "Review";
    case SessionStatus::finished:
      return "Finished";
    case SessionStatus::cancelled:
      return "Cancelled";
  }
  return "Active";
}

json state_to_json(const SessionState& s) {
  json doc = s.extra.is_object() ? s.extra : json::object();
  doc["name"] = s.name;
  doc["branch"] = s.branch;
  doc["worktree_path"] = s.worktree_path;
  doc["created_at"] = s.created_at;
  doc["status"] = status_name(s.status);
  doc["task_description"] = s.task_description ? json(*s.task_description) : json(nullptr);
  doc["last_activity"] = s.last_activity ? json(*s.last_activity) : json(nullptr);
  if (!doc.contains("git_stats")) doc["git_stats"] = nullptr;
  if (s.is_container) {
    doc["session_type"] = {
        {"Container", {{"container_id", s.container_id ? json(*s.container_id) : json(nullptr)}}}};
  } else {
    doc["session_type"] = "Worktree";
  }
  put(doc, "parent_branch", s.parent_branch);
  if (s.dangerous_skip_permissions) doc["dangerous_skip_permissions"] = true;
  if (s.sandbox_enabled) doc["sandbox_enabled"] = true;
  put(doc, "sandbox_profile", s.sandbox_profile);
  doc["network_mode"] = s.network_mode;
  doc["allowed_domains"] = s.allowed_domains;
  doc["agent_command"] = s.agent_command;
  put(doc, "prompt_file", s.prompt_file);
  put(doc, "setup_script", s.setup_script);
  if (!s.container.empty()) doc["container"] = s.container;
  put(doc, "owner_pid", s.owner_pid);
  put(doc, "owner_start", s.owner_start);
  put(doc, "archived_branch", s.archived_branch);
  put(doc, "worktree_git_dir", s.worktree_git_dir);
  put(doc, "runtime_dir", s.runtime_dir);
  if (!s.sandbox_notes.empty()) doc["sandbox_notes"] = s.sandbox_notes;
  json agent = json::object();
  if (!s.agent.state.empty()) agent["state"] = s.agent.state;
  put(agent, "supervisor_pid", s.agent.supervisor_pid);
  put(agent, "supervisor_start", s.agent.supervisor_start);
  put(agent, "pid", s.agent.pid);
  put(agent, "pid_start", s.agent.pid_start);
  put(agent, "started_at", s.agent.started_at);
  put(agent, "ended_at", s.agent.ended_at);
  put(agent, "exit_code", s.agent.exit_code);
  put(agent, "term_signal", s.agent.term_signal);
  put(agent, "oom_killed", s.agent.oom_killed);
  if (!s.agent.error.empty()) agent["error"] = s.agent.error;
  if (!agent.empty()) doc["agent"] = agent;
  return doc;
}

Result<SessionState> state_from_json(const json& doc) {
  const std::vector<std::string> errors = validate_json(schemas::get("state.schema"), doc, "state");
  if (!errors.empty()) return fail(Errc::invalid_argument, errors.front());
  try {
    SessionState s;
    s.name = doc["name"].get<std::string>();
    s.branch = doc["branch"].get<std::string>();
    s.worktree_path = doc["worktree_path"].get<std::string>();
    s.created_at = doc["created_at"].get<std::string>();
    const std::string status = doc["status"].get<std::string>();
    if (status == "Starting")
      s.status = SessionStatus::starting;
    else if (status == "Active")
      s.status = SessionStatus::active;
    else if (status == "Review")
      s.status = SessionStatus::review;
    else if (status == "Finished")
      s.status = SessionStatus::finished;
    else
      s.status = SessionStatus::cancelled;
    opt(doc, "task_description", s.task_description);
    opt(doc, "last_activity", s.last_activity);
    opt(doc, "parent_branch", s.parent_branch);
    if (doc.contains("session_type") && doc["session_type"].is_object()) {
      s.is_container = true;
      const json& c = doc["session_type"]["Container"];
      if (c.is_object()) opt(c, "container_id", s.container_id);
    }
    if (doc.value("is_docker", false)) s.is_container = true;
    s.dangerous_skip_permissions = doc.value("dangerous_skip_permissions", false);
    s.sandbox_enabled = doc.value("sandbox_enabled", false);
    opt(doc, "sandbox_profile", s.sandbox_profile);
    if (doc.contains("network_mode")) s.network_mode = doc["network_mode"].get<std::string>();
    if (doc.contains("allowed_domains")) {
      s.allowed_domains = doc["allowed_domains"].get<std::vector<std::string>>();
    }
    if (doc.contains("agent_command")) {
      s.agent_command = doc["agent_command"].get<std::vector<std::string>>();
    }
    opt(doc, "prompt_file", s.prompt_file);
    opt(doc, "setup_script", s.setup_script);
    if (doc.contains("container") && doc["container"].is_object()) s.container = doc["container"];
    opt(doc, "owner_pid", s.owner_pid);
    opt(doc, "owner_start", s.owner_start);
    opt(doc, "archived_branch", s.archived_branch);
    opt(doc, "worktree_git_dir", s.worktree_git_dir);
    opt(doc, "runtime_dir", s.runtime_dir);
    if (doc.contains("sandbox_notes")) {
      s.sandbox_notes = doc["sandbox_notes"].get<std::vector<std::string>>();
    }
    if (doc.contains("agent") && doc["agent"].is_object()) {
      const json& a = doc["agent"];
      if (a.contains("state")) s.agent.state = a["state"].get<std::string>();
      opt(a, "supervisor_pid", s.agent.supervisor_pid);
      opt(a, "supervisor_start", s.agent.supervisor_start);
      opt(a, "pid", s.agent.pid);
      opt(a, "pid_start", s.agent.pid_start);
      opt(a, "started_at", s.agent.started_at);
      opt(a, "ended_at", s.agent.ended_at);
      opt(a, "exit_code", s.agent.exit_code);
      opt(a, "term_signal", s.agent.term_signal);
      opt(a, "oom_killed", s.agent.oom_killed);
      if (a.contains("error")) s.agent.error = a["error"].get<std::string>();
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (!known(it.key())) s.extra[it.key()] = it.value();
    }
    return s;
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument, std::string("state: ") + e.what());
  }
}

Result<SessionState> load_state(const std::string& path) {
  Result<std::string> text = read_file(path, 16 << 20);
  if (!text) return fail(text.error());
  auto corrupt = [&](const std::string& why) {
    return fail(Errc::invalid_argument,
                "the session state file " + path + " is corrupt (" + why +
                    "). Run 'para clean' to move it aside, or remove it by hand.");
  };
  json doc = parse_untrusted_json(*text);
  if (doc.is_discarded()) {
    return corrupt(text->empty() ? "it is empty" : "it is not valid JSON; it may be truncated");
  }
  Result<SessionState> s = state_from_json(doc);
  if (!s) return corrupt(s.error().message);
  return s;
}

Result<void> save_state(const std::string& path, const SessionState& s) {
  // Owner-only, like the task file: docker_args may carry -e NAME=VALUE.
  return write_file_atomic(path, state_to_json(s).dump(2) + "\n", 0600);
}

json status_to_json(const AgentStatus& s) {
  json doc = {{"session_name", s.session_name},
              {"current_task", s.current_task},
              {"test_status", s.test_status},
              {"is_blocked", s.is_blocked},
              {"blocked_reason", s.blocked_reason ? json(*s.blocked_reason) : json(nullptr)},
              {"last_update", s.last_update}};
  put(doc, "todos_completed", s.todos_completed);
  put(doc, "todos_total", s.todos_total);
  if (s.additions && s.deletions) {
    doc["diff_stats"] = {{"additions", *s.additions}, {"deletions", *s.deletions}};
  }
  return doc;
}

Result<AgentStatus> status_from_json(const json& doc) {
  const std::vector<std::string> errors =
      validate_json(schemas::get("status.schema"), doc, "status");
  if (!errors.empty()) return fail(Errc::invalid_argument, errors.front());
  AgentStatus s;
  s.session_name = doc["session_name"].get<std::string>();
  s.current_task = doc["current_task"].get<std::string>();
  s.test_status = doc["test_status"].get<std::string>();
  s.is_blocked = doc["is_blocked"].get<bool>();
  opt(doc, "blocked_reason", s.blocked_reason);
  opt(doc, "todos_completed", s.todos_completed);
  opt(doc, "todos_total", s.todos_total);
  if (doc.contains("diff_stats") && doc["diff_stats"].is_object()) {
    s.additions = doc["diff_stats"]["additions"].get<int64_t>();
    s.deletions = doc["diff_stats"]["deletions"].get<int64_t>();
  }
  s.last_update = doc["last_update"].get<std::string>();
  return s;
}

std::optional<AgentStatus> load_status(const std::string& path) {
  // O_NOFOLLOW: the status file sits in the one directory the agent may
  // write; it must not be able to point para's reads at other files (nor
  // block them with a FIFO: O_NONBLOCK, then regular files only).
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  if (::read(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return std::nullopt;
  }
  json doc = parse_untrusted_json(text);
  if (doc.is_discarded()) return std::nullopt;
  Result<AgentStatus> s = status_from_json(doc);
  if (!s) return std::nullopt;
  return *s;
}

}  // namespace para::session
