// para cancel and para recover. Cancel records its intent (status Cancelled
// and the archive name) before it acts, so an interrupted cancel is finished
// by para clean; recover records a Starting state first for the same reason.

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/clock.h"
#include "core/fs.h"
#include "core/log.h"
#include "session/internal.h"
#include "session/names.h"
#include "session/ops.h"
#include "session/procs.h"
#include "session/sandboxing.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

using nlohmann::json;

struct Archive {
  std::string branch, name, timestamp;
};

std::vector<Archive> list_archives(const Repo& repo) {
  std::vector<Archive> out;
  Result<std::vector<std::string>> branches = git_branches(repo.main(), repo.archive_prefix());
  if (!branches) return out;
  for (const std::string& b : *branches) {
    const std::string rest = b.substr(repo.archive_prefix().size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    out.push_back(Archive{b, rest.substr(slash + 1), rest.substr(0, slash)});
  }
  std::sort(out.begin(), out.end(),
            [](const Archive& a, const Archive& b) { return a.timestamp > b.timestamp; });
  return out;
}

}  // namespace

std::vector<std::string> expired_archives(const Repo& repo) {
  std::vector<std::string> out;
  std::vector<Archive> archives = list_archives(repo);
  const auto now = std::chrono::system_clock::now();
  for (size_t i = 0; i < archives.size(); ++i) {
    std::optional<SystemTime> t = parse_compact_utc(archives[i].timestamp);
    const bool too_old = t && now - *t > std::chrono::hours(24) * repo.config.auto_cleanup_days;
    if (too_old || i >= static_cast<size_t>(repo.config.max_archives)) {
      out.push_back(archives[i].branch);
    }
  }
  return out;
}

namespace {

// Deletes archives past the retention (age and count), as para's cancel does.
void prune_archives(const Repo& repo) {
  for (const std::string& branch : expired_archives(repo)) {
    (void)git_locked(repo, {"branch", "-D", branch});
  }
}

}  // namespace

json archives_json(const Repo& repo) {
  json out = json::array();
  for (const Archive& a : list_archives(repo)) {
    std::optional<SystemTime> t = parse_compact_utc(a.timestamp);
    out.push_back({{"name", a.name},
                   {"branch", a.branch},
                   {"archived_at", t ? json(rfc3339(*t)) : json(nullptr)}});
  }
  return out;
}

std::string new_archive_name(const Repo& repo, const std::string& name) {
  auto t = std::chrono::system_clock::now();
  for (int i = 0; i < 1000; ++i, t += std::chrono::seconds(1)) {
    const std::string branch = repo.archive_prefix() + compact_utc(t) + "/" + name;
    if (!git_branch_exists(repo.common_dir, branch)) return branch;
  }
  return repo.archive_prefix() + compact_utc(t) + "/" + name;
}

// Finishes a cancel whose intent is recorded in the state (also used by clean).
Result<void> complete_cancel(const Repo& repo, const SessionState& s) {
  if (auto r = stop_agent(repo, s); !r) return fail(r.error());
  // The archive must hold the agent's commits, also those still in the
  // sandbox's private refs.
  if (Result<std::vector<std::string>> notes = settle_sandboxed_git(repo, s); !notes) {
    log::warn("cancel") << notes.error().message;
  } else {
    for (const std::string& note : *notes) log::warn("cancel") << note;
  }
  if (auto r = remove_worktree(repo, s.worktree_path); !r) return fail(r.error());
  Result<std::optional<std::string>> tip = git_resolve(repo.main(), "refs/heads/" + s.branch);
  if (!tip) return fail(tip.error());
  if (*tip && s.archived_branch) {
    if (auto r = git_locked(repo, {"branch", "-m", s.branch, *s.archived_branch}); !r) {
      return fail(r.error());
    }
  }
  remove_session_files(repo, s.name);
  return {};
}

Result<json> cancel_session(const Repo& repo, const CancelRequest& rq) {
  Result<std::string> name = resolve_session(repo, rq.session, rq.cwd, "cancel");
  if (!name) return fail(name.error());
  Result<FileLock> lock = lock_session(repo, *name);
  if (!lock) return fail(lock.error());
  Result<SessionState> s = read_session(repo, *name);
  if (!s) return fail(s.error());
  std::error_code ec;
  if (!rq.force && std::filesystem::is_directory(s->worktree_path, ec)) {
    // Stopped first: what the agent writes while it shuts down is checked
    // too. Its sandboxed commits are settled onto the branch (and its HEAD
    // pointed back), so that they count as committed and reach the archive.
    const bool was_running = s->agent.state == "running";
    if (auto r = stop_agent(repo, *s); !r) return fail(r.error());
    auto refuse = [&](const std::string& why) {
      return fail(
          Errc::conflict,
          why + (was_running ? "\n(Its agent was stopped; para resume runs it again.)" : ""));
    };
    if (Result<std::vector<std::string>> settled = settle_sandboxed_git(repo, *s); !settled) {
      return refuse("cannot bring the agent's commits onto " + s->branch + ": " +
                    settled.error().message +
                    "\n(cancel with --force discards what is not on the branch)");
    }
    Result<std::vector<std::string>> changes = uncommitted_changes(repo, *s);
    // A worktree git cannot read (moved repository, lost registration) may
    // hold work too: refuse rather than remove what could not be checked.
    if (!changes && !std::filesystem::is_empty(s->worktree_path, ec)) {
      return refuse("cannot check session '" + *name +
                    "' for uncommitted changes: " + changes.error().message +
                    "\n(cancel with --force discards the worktree as it is)");
    }
    if (changes && !changes->empty()) {
      std::string list;
      for (size_t i = 0; i < changes->size() && i < 5; ++i) list += "\n  " + (*changes)[i];
      if (changes->size() > 5)
        list += "\n  ... and " + std::to_string(changes->size() - 5) + " more";
      return refuse("session '" + *name + "' has uncommitted changes:" + list +
                    "\nCommit them (para finish), or cancel with --force to discard them.");
    }
    // A worktree elsewhere holds commits the archive would miss.
    if (std::optional<std::string> elsewhere = head_elsewhere(repo, *s)) {
      return refuse("the worktree of session '" + *name + "' is not on its branch " + s->branch +
                    " (HEAD is " + *elsewhere +
                    "); commits made there would not be archived. Switch back (git -C " +
                    s->worktree_path + " switch " + s->branch +
                    ") and merge them, or cancel with --force to discard them.");
    }
    if (holds_submodule_repos(repo, *s)) {
      return refuse("the worktree of session '" + *name +
                    "' holds its initialised submodules' repositories, and commits made in "
                    "them live only there. Push them (or copy the worktree), then cancel with "
                    "--force.");
    }
  }
  const std::string archived = new_archive_name(repo, *name);
  Result<SessionState> marked = update_session(repo, *name, [&](SessionState& st) {
    st.status = SessionStatus::cancelled;
    take_ownership(st);
    if (!st.archived_branch) st.archived_branch = archived;
  });
  if (!marked) return fail(marked.error());
  if (auto r = complete_cancel(repo, *marked); !r) return fail(r.error());
  prune_archives(repo);
  if (!git_branch_exists(repo.common_dir, *marked->archived_branch)) {
    return json{{"session", *name},
                {"archived_branch", nullptr},
                {"message", "session '" + *name + "' cancelled; its branch " + marked->branch +
                                " was already gone, so there is nothing to recover"}};
  }
  return json{
      {"session", *name},
      {"archived_branch", *marked->archived_branch},
      {"message", "session '" + *name + "' cancelled; its branch is archived as " +
                      *marked->archived_branch + " (para recover " + *name + " restores it)"}};
}

Result<json> recover_session(const Repo& repo, const std::optional<std::string>& name) {
  if (!name) return json{{"archives", archives_json(repo)}};
  if (auto v = validate_session_name(*name); !v) return fail(v.error());
  std::vector<Archive> archives = list_archives(repo);
  auto it = std::find_if(archives.begin(), archives.end(),
                         [&](const Archive& a) { return a.name == *name; });
  if (it == archives.end()) {
    return fail(Errc::not_found, "there is no archived session '" + *name +
                                     "'; para recover without a name lists the archives");
  }
  if (auto r = ensure_para_dirs(repo); !r) return fail(r.error());
  Result<FileLock> lock = lock_session(repo, *name);
  if (!lock) return fail(lock.error());
  if (path_exists(repo.state_path(*name))) {
    return fail(Errc::already_exists,
                "session '" + *name + "' exists already; use para resume, or cancel it first");
  }
  if (path_exists(repo.worktree_path(*name))) {
    return fail(Errc::already_exists, "the worktree path " + repo.worktree_path(*name) +
                                          " is in use; run para clean first");
  }
  const std::string branch = repo.branch(*name);
  Result<std::optional<std::string>> taken = git_resolve(repo.main(), "refs/heads/" + branch);
  if (!taken) return fail(taken.error());
  if (*taken) {
    return fail(Errc::already_exists,
                "the branch " + branch + " exists already; rename or delete it before recovering");
  }
  Result<std::optional<std::string>> parent = git_current_branch(repo.main());

  SessionState s;
  s.name = *name;
  s.branch = branch;
  s.worktree_path = repo.worktree_path(*name);
  s.created_at = rfc3339(std::chrono::system_clock::now());
  s.status = SessionStatus::starting;
  take_ownership(s);
  if (parent && *parent) s.parent_branch = **parent;
  s.agent_command = repo.config.agent_command;
  s.runtime_dir = repo.runtime_dir(*name);
  if (auto r = write_session(repo, s); !r) return fail(r.error());
  auto rollback = [&](const Error& e) -> Error {
    (void)remove_worktree(repo, s.worktree_path);
    (void)git_locked(repo, {"branch", "-m", branch, it->branch});
    remove_session_files(repo, *name);
    return e;
  };
  if (auto r = git_locked(repo, {"branch", "-m", it->branch, branch}); !r) {
    remove_session_files(repo, *name);
    return fail(r.error());
  }
  if (auto r = add_worktree(repo, s, false, ""); !r) return fail(rollback(r.error()));
  if (auto r = write_session_files(repo, s); !r) return fail(rollback(r.error()));
  s.status = SessionStatus::active;
  release_ownership(s);
  if (auto r = write_session(repo, s); !r) return fail(rollback(r.error()));
  return json{
      {"session", *name},
      {"branch", branch},
      {"worktree_path", s.worktree_path},
      {"message", "session '" + *name + "' recovered on " + branch + " at " + s.worktree_path +
                      "; para resume " + *name + " starts an agent in it"}};
}

}  // namespace para::session
