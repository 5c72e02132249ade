// para status: the agent's progress report, written from inside its
// worktree (also inside the sandbox, where only <state>/<name>/ is writable).

#include <cstdlib>

#include "core/clock.h"
#include "core/display_text.h"
#include "core/fs.h"
#include "session/ops.h"
#include "session/store.h"
#include "session/worktree.h"

namespace para::session {
namespace {

using nlohmann::json;

Result<std::pair<int64_t, int64_t>> parse_todos(const std::string& text) {
  const size_t slash = text.find('/');
  auto bad = [&] {
    return fail(Errc::invalid_argument,
                "--todos takes DONE/TOTAL with DONE <= TOTAL (e.g. 3/7), "
                "not '" +
                    text + "'");
  };
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return bad();
  const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
  if (a.find_first_not_of("0123456789") != std::string::npos ||
      b.find_first_not_of("0123456789") != std::string::npos || a.size() > 9 || b.size() > 9) {
    return bad();
  }
  const int64_t done = std::atoll(a.c_str()), total = std::atoll(b.c_str());
  if (done > total) return bad();
  return std::make_pair(done, total);
}

// Lines added and removed since the session branched, untracked files
// counted as added (para's rule).
std::pair<int64_t, int64_t> diff_stats(const Repo& repo, const SessionState& s) {
  Result<GitTarget> wt = worktree_target(repo, s);
  if (!wt) return {0, 0};
  const std::string parent = s.parent_branch.value_or("HEAD");
  Result<std::string> base = git_out(*wt, {"merge-base", parent, "HEAD"});
  if (!base) return {0, 0};
  int64_t add = 0, del = 0;
  if (Result<std::string> numstat =
          git_out(*wt, {"diff", "--numstat", "--ignore-submodules=dirty", *base});
      numstat) {
    size_t start = 0;
    while (start < numstat->size()) {
      size_t end = numstat->find('\n', start);
      if (end == std::string::npos) end = numstat->size();
      const std::string line = numstat->substr(start, end - start);
      if (!line.empty() && line[0] != '-') {
        add += std::atoll(line.c_str());
        del += std::atoll(line.c_str() + line.find('\t') + 1);
      }
      start = end + 1;
    }
  }
  if (Result<std::string> untracked =
          git_out(*wt, {"ls-files", "--others", "--exclude-standard", "-z"});
      untracked) {
    size_t start = 0;
    while (start < untracked->size()) {
      size_t end = untracked->find('\0', start);
      if (end == std::string::npos) end = untracked->size();
      Result<std::string> text =
          read_file(s.worktree_path + "/" + untracked->substr(start, end - start), 8 << 20);
      if (text) add += static_cast<int64_t>(std::count(text->begin(), text->end(), '\n'));
      start = end + 1;
    }
  }
  return {add, del};
}

}  // namespace

Result<json> update_status(const Repo& repo, const StatusUpdate& u) {
  if (!valid_utf8(u.task)) {
    return fail(Errc::invalid_argument,
                "the task text is not UTF-8; say what you are doing in UTF-8");
  }
  if (u.task.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail(Errc::invalid_argument, "the task text is empty; say what you are doing");
  }
  if (u.tests != "passed" && u.tests != "failed" && u.tests != "unknown") {
    return fail(Errc::invalid_argument,
                "--tests takes passed, failed or unknown, not '" + u.tests + "'");
  }
  std::optional<std::pair<int64_t, int64_t>> todos;
  if (u.todos) {
    Result<std::pair<int64_t, int64_t>> t = parse_todos(*u.todos);
    if (!t) return fail(t.error());
    todos = *t;
  }
  Result<std::string> name = resolve_session(repo, u.session, u.cwd, "report on");
  if (!name) return fail(name.error());
  Result<SessionState> s = read_session(repo, *name);
  if (!s) return fail(s.error());
  if (s->status == SessionStatus::review) {
    return fail(Errc::conflict,
                "session '" + *name + "' is in review; para resume reopens it for more work");
  }
  AgentStatus status;
  status.session_name = *name;
  status.current_task = u.task;
  status.test_status = u.tests;
  status.is_blocked = u.blocked;
  if (u.blocked) status.blocked_reason = u.task;
  if (todos) {
    status.todos_completed = todos->first;
    status.todos_total = todos->second;
  }
  auto [add, del] = diff_stats(repo, *s);
  status.additions = add;
  status.deletions = del;
  status.last_update = rfc3339(std::chrono::system_clock::now());
  if (auto r = make_dirs(repo.session_dir(*name)); !r) return fail(r.error());
  if (auto r = write_file_atomic(repo.status_path(*name), status_to_json(status).dump(2) + "\n");
      !r) {
    return fail(r.error());
  }
  return json{{"session", *name}, {"status", status_to_json(status)}};
}

}  // namespace para::session
