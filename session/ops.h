#pragma once

// The session operations: one implementation, called by the para CLI and by
// the MCP tools. Each returns a JSON object whose shape is the output schema
// of the matching MCP tool (schemas/tools/<tool>.output.json), so the CLI's
// --json output and the tools' structuredContent are the same thing.
//
// Every operation validates its input before it changes anything; a failure
// after the first change is rolled back, and what cannot be rolled back
// (a kill -9) is left in a state that `list` shows and `clean` repairs.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "session/repo.h"

namespace para::session {

/// Progress of a long operation (image pulls, waiting for an agent).
struct Progress {
  std::function<void(double done, std::optional<double> total, const std::string& message)> report;
  std::function<bool()> cancelled;  // true once the caller gave up
};

struct SandboxFlags {
  bool sandbox = false;     // --sandbox
  bool no_sandbox = false;  // --no-sandbox
  std::optional<std::string> profile;
  bool no_network = false;  // --sandbox-no-network
  std::vector<std::string> allowed_domains;
};

struct ContainerFlags {
  bool container = false;
  std::optional<std::string> image;
  std::vector<std::string> allow_domains;  // docker network isolation
  std::vector<std::string> docker_args;
  bool no_forward_keys = false;
};

struct StartRequest {
  std::optional<std::string> name;
  std::optional<std::string> prompt;       // text (-p)
  std::optional<std::string> prompt_file;  // path (-f); "-" is stdin (CLI only)
  bool dangerously_skip_permissions = false;
  SandboxFlags sandbox;
  ContainerFlags container;
  std::optional<std::string> setup_script;
  std::string cwd;  // where para was invoked (relative paths resolve here)
};
/// {session, agent_launched, log_path, message}
Result<nlohmann::json> start_session(const Repo& repo, const StartRequest& request,
                                     const Progress& progress = {});

struct FinishRequest {
  std::string message;
  std::optional<std::string> session;  // default: the worktree containing cwd
  std::optional<std::string> branch;   // final branch name (a copy of para/<name>)
  std::string cwd;
};
/// {session, branch, final_branch, committed, commit, worktree_removed, message}
Result<nlohmann::json> finish_session(const Repo& repo, const FinishRequest& request);

struct CancelRequest {
  std::optional<std::string> session;
  bool force = false;
  std::string cwd;
};
/// {session, archived_branch, message}
Result<nlohmann::json> cancel_session(const Repo& repo, const CancelRequest& request);

/// Without a name: {archives: [...]}; with one: {session, branch, worktree_path, message}.
Result<nlohmann::json> recover_session(const Repo& repo, const std::optional<std::string>& name);

struct ResumeRequest {
  std::optional<std::string> session;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_file;
  bool dangerously_skip_permissions = false;
  SandboxFlags sandbox;
  std::string cwd;
};
/// {session, repaired_worktree, agent_launched, resume_context, message}
Result<nlohmann::json> resume_session(const Repo& repo, const ResumeRequest& request);

struct ListRequest {
  bool verbose = false;
  bool archived = false;
  std::string cwd;
};
/// {sessions: [...], archived: [...], orphans: [...], problems: [...]}; orphans are
/// the repairs para clean would make ({kind, target, detail}).
Result<nlohmann::json> list_sessions(const Repo& repo, const ListRequest& request);
/// One session as `list` shows it.
nlohmann::json describe_session(const Repo& repo, const std::string& name, bool verbose,
                                const std::string& cwd = "");

struct StatusUpdate {
  std::string task;
  std::string tests;                 // passed | failed | unknown
  std::optional<std::string> todos;  // "C/T"
  bool blocked = false;
  std::optional<std::string> session;
  std::string cwd;
};
/// {session, status}
Result<nlohmann::json> update_status(const Repo& repo, const StatusUpdate& update);
/// {statuses: [...]} or, for one session, {session, status (null if none)}
Result<nlohmann::json> show_status(const Repo& repo, const std::optional<std::string>& session);
/// para's StatusSummary over the status reports: {total_sessions, active_sessions,
/// blocked_sessions, stale_sessions (no report for 24 h), test_summary {passed, failed,
/// unknown}, overall_progress (percent of all todos done, or null)}.
Result<nlohmann::json> summarize_status(const Repo& repo);

struct CleanRequest {
  bool dry_run = false;
  bool containers = false;
};
/// {dry_run, actions: [{kind, target, detail, done}], message}
Result<nlohmann::json> clean_repo(const Repo& repo, const CleanRequest& request);

struct BuildImageRequest {
  std::string context;                 // a directory; relative to `cwd`
  std::optional<std::string> tag;      // default docker::kDefaultImage
  std::vector<std::string> add_files;  // "HOST_PATH:NAME_IN_CONTEXT"
  bool no_cache = false;
  std::string cwd;
};
/// Builds an image for container sessions through the Engine API, with
/// progress (the build's step fraction). {image_id, tag, context, message}
Result<nlohmann::json> build_agent_image(const BuildImageRequest& request,
                                         const Progress& progress = {});

struct LogsRequest {
  std::string session;
  size_t lines = 100;
  bool network = false;
};
/// {session, log_path, lines: [...], truncated} (network: {session, entries: [...]})
Result<nlohmann::json> read_logs(const Repo& repo, const LogsRequest& request);

/// {session, base, diff (text) | stat (text), files_changed, additions, deletions}
Result<nlohmann::json> session_diff(const Repo& repo, const std::string& name, bool stat);

/// Blocks until the session's agent is not running or `timeout` passes.
/// {session, finished, timed_out, agent: {...}}
Result<nlohmann::json> wait_for_agent(const Repo& repo, const std::string& name,
                                      std::chrono::milliseconds timeout,
                                      const Progress& progress = {});

/// Resolves an optional session argument: the name, or the worktree that
/// contains cwd. Errors: invalid_argument (no session given and cwd is not in
/// a session worktree), not_found.
Result<std::string> resolve_session(const Repo& repo, const std::optional<std::string>& name,
                                    const std::string& cwd, const char* verb);

}  // namespace para::session
