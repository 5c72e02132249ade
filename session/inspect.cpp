// Read-only operations: list, describe, status show, logs, diff, wait.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "core/display_text.h"
#include "core/fs.h"
#include "core/json_input.h"
#include "docker/spec.h"
#include "session/internal.h"
#include "session/ops.h"
#include "session/procs.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

template <class T>
json opt_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string agent_state(const SessionState& s) {
  if (s.agent.state == "running" || s.agent.state == "starting") {
    return supervisor_running(s) ? "running" : "lost";
  }
  return s.agent.state.empty() ? "none" : s.agent.state;
}

bool interrupted(const SessionState& s) {
  return (s.status == SessionStatus::starting || s.status == SessionStatus::cancelled) &&
         !owner_alive(s);
}

}  // namespace

std::string base_commit(const Repo& repo, const SessionState& s) {
  for (const std::string& ref : {s.parent_branch.value_or(""), std::string("HEAD")}) {
    if (ref.empty()) continue;
    Result<std::string> base = git_out(repo.main(), {"merge-base", ref, "refs/heads/" + s.branch});
    if (base) return *base;
  }
  return "";
}

std::pair<std::vector<std::string>, bool> tail_lines(const std::string& path, size_t n) {
  std::vector<std::string> lines;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {lines, false};
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return {lines, false};
  const off_t window = std::min<off_t>(st.st_size, off_t(4) << 20);
  std::string text(static_cast<size_t>(window), '\0');
  if (::pread(fd.get(), text.data(), text.size(), st.st_size - window) != window) {
    return {lines, false};
  }
  bool truncated = window < st.st_size;
  size_t start = 0;
  if (truncated) start = text.find('\n') == std::string::npos ? 0 : text.find('\n') + 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() > n) {
    lines.erase(lines.begin(), lines.end() - static_cast<long>(n));
    truncated = true;
  }
  return {lines, truncated};
}

json describe_session(const Repo& repo, const std::string& name, bool verbose,
                      const std::string& cwd) {
  Result<SessionState> loaded = read_session(repo, name);
  if (!loaded) {
    return json{{"name", name}, {"status", "Corrupt"}, {"problem", loaded.error().message}};
  }
  const SessionState& s = *loaded;
  std::error_code ec;
  const bool exists = fs::is_directory(s.worktree_path, ec);
  json agent = {{"state", agent_state(s)},
                {"pid", opt_json(s.agent.pid)},
                {"exit_code", opt_json(s.agent.exit_code)},
                {"term_signal", opt_json(s.agent.term_signal)},
                {"started_at", opt_json(s.agent.started_at)},
                {"ended_at", opt_json(s.agent.ended_at)}};
  if (!s.agent.error.empty()) agent["error"] = s.agent.error;
  if (s.agent.oom_killed) agent["oom_killed"] = *s.agent.oom_killed;
  json out = {
      {"name", s.name},
      {"branch", s.branch},
      {"worktree_path", s.worktree_path},
      {"status", status_name(s.status)},
      {"created_at", s.created_at},
      {"parent_branch", opt_json(s.parent_branch)},
      {"task", opt_json(s.task_description)},
      {"session_type", s.is_container ? "container" : "worktree"},
      {"sandbox",
       {{"enabled", s.sandbox_enabled},
        {"profile", opt_json(s.sandbox_profile)},
        {"network_mode", s.network_mode},
        {"allowed_domains", s.allowed_domains}}},
      {"dangerously_skip_permissions", s.dangerous_skip_permissions},
      {"agent", agent},
      {"worktree_exists", exists},
      {"interrupted", interrupted(s)},
      {"current", !cwd.empty() && session_from_cwd(repo, cwd) == s.name},
      {"log_path", repo.log_path(s.name)},
  };
  if (s.task_description && s.task_description->size() > 500) {
    out["task"] = cut_utf8(*s.task_description, 500) + "...";
  }
  if (s.is_container) {
    out["container"] = s.container;
    if (s.container.contains("docker_args") && s.container["docker_args"].is_array()) {
      out["container"]["docker_args"] = docker::docker_args_for_display(
          s.container["docker_args"].get<std::vector<std::string>>());
    }
  }
  std::optional<AgentStatus> status = load_status(repo.status_path(s.name));
  out["agent_status"] = status ? status_to_json(*status) : json(nullptr);
  if (verbose) {
    json dirty = nullptr;
    if (exists) {
      Result<std::vector<std::string>> changes = uncommitted_changes(repo, s);
      if (changes) dirty = !changes->empty();
    }
    out["dirty"] = dirty;
    out["last_activity"] = opt_json(s.last_activity);
  }
  return out;
}

Result<json> list_sessions(const Repo& repo, const ListRequest& rq) {
  json sessions = json::array(), problems = json::array(), orphans = json::array();
  std::vector<std::string> names = session_names(repo);
  for (const std::string& name : names) {
    json d = describe_session(repo, name, rq.verbose, rq.cwd);
    if (d.contains("problem")) {
      problems.push_back(
          {{"kind", "corrupt_state"}, {"path", repo.state_path(name)}, {"message", d["problem"]}});
      continue;
    }
    if (!rq.archived && d["status"] == "Finished") continue;
    sessions.push_back(std::move(d));
  }
  std::sort(sessions.begin(), sessions.end(), [](const json& a, const json& b) {
    return a["created_at"].get<std::string>() > b["created_at"].get<std::string>();
  });
  // Everything a crash or a hand edit can leave behind is exactly what
  // para clean would repair: list shows that plan.
  if (Result<json> plan = clean_repo(repo, CleanRequest{.dry_run = true}); plan) {
    for (json& action : (*plan)["actions"]) {
      action.erase("done");
      if (action["kind"] != "corrupt_state") orphans.push_back(std::move(action));
    }
  }
  json out = {{"sessions", sessions}, {"orphans", orphans}, {"problems", problems}};
  out["archived"] = rq.archived ? archives_json(repo) : json::array();
  return out;
}

Result<json> show_status(const Repo& repo, const std::optional<std::string>& session) {
  if (session) {
    Result<SessionState> s = read_session(repo, *session);
    if (!s) return fail(s.error());
    std::optional<AgentStatus> status = load_status(repo.status_path(*session));
    return json{{"session", *session},
                {"status", status ? status_to_json(*status) : json(nullptr)}};
  }
  json all = json::array();
  for (const std::string& name : session_names(repo)) {
    if (std::optional<AgentStatus> status = load_status(repo.status_path(name))) {
      all.push_back(status_to_json(*status));
    }
  }
  return json{{"statuses", all}};
}

Result<json> summarize_status(const Repo& repo) {
  const SystemTime now = std::chrono::system_clock::now();
  int64_t total = 0, active = 0, blocked = 0, stale = 0, done = 0, todos = 0;
  json tests = {{"passed", 0}, {"failed", 0}, {"unknown", 0}};
  for (const std::string& name : session_names(repo)) {
    std::optional<AgentStatus> s = load_status(repo.status_path(name));
    if (!s) continue;
    ++total;
    std::optional<SystemTime> at = parse_rfc3339(s->last_update);
    if (!at || now - *at >= std::chrono::hours(24)) {
      ++stale;
    } else {
      ++active;
    }
    blocked += s->is_blocked ? 1 : 0;
    const std::string key = tests.contains(s->test_status) ? s->test_status : "unknown";
    tests[key] = tests[key].get<int64_t>() + 1;
    done += s->todos_completed.value_or(0);
    todos += s->todos_total.value_or(0);
  }
  return json{{"total_sessions", total},
              {"active_sessions", active},
              {"blocked_sessions", blocked},
              {"stale_sessions", stale},
              {"test_summary", tests},
              {"overall_progress", todos > 0 ? json((done * 100 + todos / 2) / todos) : json()}};
}

Result<json> read_logs(const Repo& repo, const LogsRequest& rq) {
  Result<SessionState> s = read_session(repo, rq.session);
  if (!s) return fail(s.error());
  if (rq.network) {
    auto [lines, truncated] = tail_lines(repo.network_log_path(rq.session), rq.lines);
    json entries = json::array();
    for (const std::string& line : lines) {
      json entry = parse_untrusted_json(line);
      if (!entry.is_discarded()) entries.push_back(std::move(entry));
    }
    return json{{"session", rq.session},
                {"log_path", repo.network_log_path(rq.session)},
                {"entries", entries},
                {"truncated", truncated}};
  }
  auto [lines, truncated] = tail_lines(repo.log_path(rq.session), rq.lines);
  return json{{"session", rq.session},
              {"log_path", repo.log_path(rq.session)},
              {"lines", lines},
              {"truncated", truncated}};
}

Result<json> session_diff(const Repo& repo, const std::string& name, bool stat) {
  Result<SessionState> s = read_session(repo, name);
  if (!s) return fail(s.error());
  const std::string base = base_commit(repo, *s);
  if (base.empty()) {
    return fail(Errc::not_found, "cannot find where branch " + s->branch + " started");
  }
  std::vector<std::string> args;
  Result<std::string> numstat = fail(Errc::internal, "");
  Result<std::string> text = fail(Errc::internal, "");
  std::error_code ec;
  Result<GitTarget> wt = worktree_target(repo, *s);
  // A missing worktree leaves the branch's diff; a tampered one is an error.
  if (!wt && wt.error().code == Errc::conflict) return fail(wt.error());
  if (wt && fs::is_directory(s->worktree_path, ec)) {
    // Untracked files belong in the diff, but the agent's index must not
    // change: stage everything into a throwaway copy of the index.
    // The agent can replace its index with a symlink to a file it cannot
    // read: copy only a regular file, never through a link.
    const std::string tmp_index = repo.state_dir() + "/." + name + ".diff-index." + random_hex(4);
    Result<std::string> index = read_untrusted_file(wt->git_dir + "/index", size_t(256) << 20);
    if (!index && index.error().code != Errc::not_found) {
      return fail(Errc::invalid_argument, "the index of session '" + name +
                                              "' is not a regular file; run para resume " + name +
                                              " to repair the worktree");
    }
    if (index) {
      if (auto w = write_file_atomic(tmp_index, *index, 0600, Sync::replace_only); !w) {
        return fail(w.error());
      }
    }
    GitOptions opts{.extra_env = {"GIT_INDEX_FILE=" + tmp_index}};
    if (Result<void> added = git_add_all(*wt, opts); !added) {
      fs::remove(tmp_index, ec);
      return fail(Errc::tool_failed,
                  "git add failed while computing the diff: " + added.error().message);
    }
    numstat = git_out(*wt, {"diff", "--cached", "--numstat", base}, opts);
    text = git_out(*wt, {"diff", "--cached", stat ? "--stat" : "--patch", base}, opts);
    fs::remove(tmp_index, ec);
  } else {
    numstat = git_out(repo.main(), {"diff", "--numstat", base, "refs/heads/" + s->branch});
    text = git_out(repo.main(),
                   {"diff", stat ? "--stat" : "--patch", base, "refs/heads/" + s->branch});
  }
  if (!numstat) return fail(numstat.error());
  if (!text) return fail(text.error());
  int64_t files = 0, additions = 0, deletions = 0;
  size_t start = 0;
  while (start < numstat->size()) {
    size_t end = numstat->find('\n', start);
    if (end == std::string::npos) end = numstat->size();
    const std::string line = numstat->substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    ++files;
    if (line[0] != '-') {
      additions += std::atoll(line.c_str());
      deletions += std::atoll(line.c_str() + line.find('\t') + 1);
    }
  }
  constexpr size_t kMaxDiff = 1 << 20;
  const bool truncated = text->size() > kMaxDiff;
  if (truncated) text->resize(kMaxDiff);
  return json{{"session", name},        {"base", base},           {"files_changed", files},
              {"additions", additions}, {"deletions", deletions}, {"diff", *text},
              {"truncated", truncated}};
}

Result<json> wait_for_agent(const Repo& repo, const std::string& name,
                            std::chrono::milliseconds timeout, const Progress& progress) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_report = start - std::chrono::seconds(10);
  for (;;) {
    Result<SessionState> s = read_session(repo, name);
    if (!s) return fail(s.error());
    const std::string state = agent_state(*s);
    const bool done = state != "running";
    const auto elapsed = Clock::now() - start;
    const bool timed_out = !done && elapsed >= timeout;
    const bool cancelled = progress.cancelled && progress.cancelled();
    if (done || timed_out || cancelled) {
      json d = describe_session(repo, name, false);
      return json{{"session", name},        {"finished", done},
                  {"timed_out", timed_out}, {"agent", d["agent"]},
                  {"status", d["status"]},  {"agent_status", d["agent_status"]}};
    }
    if (progress.report && Clock::now() - last_report >= std::chrono::seconds(1)) {
      last_report = Clock::now();
      const double secs = std::chrono::duration<double>(elapsed).count();
      progress.report(secs, std::chrono::duration<double>(timeout).count(),
                      "waiting for the agent of '" + name + "' (" +
                          std::to_string(static_cast<int>(secs)) + " s)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace para::session
