// para clean: the janitor (para's meaning, not "remove all sessions"). It
// repairs everything an interrupted command or a crash can leave, and never
// deletes work: branches with commits are archived, not deleted.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "core/fs.h"
#include "session/container.h"
#include "session/internal.h"
#include "session/names.h"
#include "session/ops.h"
#include "session/procs.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Action {
  std::string kind, target, detail;
  std::function<Result<void>()> apply;
};

// Whether removing the session's worktree could lose work: changes git
// sees (or git cannot look), commits on a HEAD away from the branch, or
// submodule repositories that live only there.
bool worktree_may_hold_work(const Repo& repo, const SessionState& s) {
  std::error_code ec;
  if (!fs::exists(s.worktree_path, ec)) return false;
  Result<std::vector<std::string>> changes = uncommitted_changes(repo, s);
  return !changes || !changes->empty() || head_elsewhere(repo, s).has_value() ||
         holds_submodule_repos(repo, s);
}

// Whether an interrupted start got as far as a checked-out worktree (the
// start writes CLAUDE.local.md right after the checkout). Before that point
// nobody could have worked in it: the start never reported it.
bool checked_out(const SessionState& s) {
  std::error_code ec;
  return fs::exists(s.worktree_path + "/CLAUDE.local.md", ec);
}

// A detached HEAD (in a worktree's admin directory) at a commit that no
// branch or tag contains: removing the worktree would leave it unreachable.
bool detached_commits(const Repo& repo, const std::string& admin) {
  Result<std::string> head = read_untrusted_file(admin + "/HEAD", 4096);
  if (!head) return true;  // cannot tell: keep
  if (head->rfind("ref: ", 0) == 0) return false;
  std::string sha = *head;
  while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r')) sha.pop_back();
  if ((sha.size() != 40 && sha.size() != 64) ||
      sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return true;  // not an object name: cannot tell, keep
  }
  // No commit at all (a `git worktree add` cut short leaves zeros): nothing to lose.
  Result<Completed> exists = git_run(repo.main(), {"cat-file", "-e", sha + "^{commit}"});
  if (exists && exists->exit_code != 0) return false;
  Result<std::string> containing =
      git_out(repo.main(), {"for-each-ref", "--count=1", "--contains", sha, "--format=%(refname)",
                            "refs/heads/", "refs/tags/"});
  return !containing || containing->empty();
}

bool owner_gone(const SessionState& s) {
  return !owner_alive(s);
}

// A branch with commits of its own is archived; one without is deleted.
Result<void> retire_branch(const Repo& repo, const std::string& branch, const std::string& name,
                           const std::optional<std::string>& parent) {
  Result<std::optional<std::string>> tip = git_resolve(repo.main(), "refs/heads/" + branch);
  if (!tip || !*tip) return {};
  bool has_work = true;
  if (parent) {
    Result<std::string> count =
        git_out(repo.main(), {"rev-list", "--count", *parent + ".." + "refs/heads/" + branch});
    has_work = !count || *count != "0";
  }
  if (has_work) return git_locked(repo, {"branch", "-m", branch, new_archive_name(repo, name)});
  return git_locked(repo, {"branch", "-D", branch});
}

void plan_sessions(const Repo& repo, std::vector<Action>& plan, std::vector<std::string>& names) {
  for (const std::string& name : session_names(repo)) {
    Result<SessionState> loaded = read_session(repo, name);
    if (!loaded) {
      if (loaded.error().code != Errc::invalid_argument) continue;
      const std::string path = repo.state_path(name);
      plan.push_back({"corrupt_state", path, "moved to " + repo.state_dir() + "/corrupt/",
                      [&repo, path, name] {
                        const std::string dir = repo.state_dir() + "/corrupt";
                        if (auto r = make_dirs(dir); !r) return r;
                        std::error_code ec;
                        fs::rename(path,
                                   dir + "/" + name + ".state." +
                                       compact_utc(std::chrono::system_clock::now()),
                                   ec);
                        if (ec) return Result<void>(fail(Errc::io, "cannot move " + path));
                        return Result<void>();
                      }});
      continue;
    }
    names.push_back(name);
    const SessionState s = *loaded;
    std::error_code ec;
    if (fs::is_directory(s.worktree_path, ec) && !fs::is_empty(s.worktree_path, ec) &&
        !repo.worktree_admin_dir(s.worktree_path)) {
      // Files git lost track of, as after moving the repository: reconnect
      // them before the prune below would drop the old registration.
      plan.push_back(
          {"lost_registration", s.worktree_path,
           "the worktree is registered with git again (git worktree repair)", [&repo, s] {
             if (auto r = git_locked(repo, {"worktree", "repair", s.worktree_path}); !r) {
               return r;
             }
             if (repo.worktree_admin_dir(s.worktree_path)) return Result<void>();
             return Result<void>(fail(Errc::conflict, "git cannot reconnect " + s.worktree_path +
                                                          "; para resume " + s.name +
                                                          " says what to do"));
           }});
    }
    if (s.status == SessionStatus::starting && owner_gone(s) && s.agent.pid) {
      // Killed after its agent launched: the agent may have worked already
      // (a container's starts ~300 ms before the start returns).
      plan.push_back({"interrupted_start", name,
                      "a start interrupted after its agent launched is completed", [&repo, s] {
                        Result<SessionState> u = update_session(repo, s.name, [](SessionState& st) {
                          st.status = SessionStatus::active;
                          release_ownership(st);
                        });
                        return u ? Result<void>() : Result<void>(fail(u.error()));
                      }});
    } else if (s.status == SessionStatus::starting && owner_gone(s) &&
               !(checked_out(s) && worktree_may_hold_work(repo, s))) {
      plan.push_back({"interrupted_start", name, "an interrupted start is undone", [&repo, s] {
                        if (auto r = stop_agent(repo, s); !r) return r;
                        if (auto r = remove_worktree(repo, s.worktree_path); !r) return r;
                        if (auto r = retire_branch(repo, s.branch, s.name, s.parent_branch); !r) {
                          return r;
                        }
                        remove_session_files(repo, s.name);
                        return Result<void>();
                      }});
    } else if (s.status == SessionStatus::starting && owner_gone(s)) {
      // Someone worked in the worktree of a start that never finished.
      plan.push_back({"interrupted_start", name,
                      "an interrupted start whose worktree has changes is kept as a session "
                      "(finish or cancel it)",
                      [&repo, s] {
                        Result<SessionState> u = update_session(repo, s.name, [](SessionState& st) {
                          st.status = SessionStatus::active;
                          release_ownership(st);
                        });
                        return u ? Result<void>() : Result<void>(fail(u.error()));
                      }});
    } else if (s.status == SessionStatus::cancelled && owner_gone(s)) {
      plan.push_back({"interrupted_cancel", name, "an interrupted cancel is completed",
                      [&repo, s] { return complete_cancel(repo, s); }});
    } else if (s.status == SessionStatus::review && !repo.config.preserve_on_finish &&
               fs::exists(s.worktree_path, ec)) {
      // Removed only when git can tell it holds nothing uncommitted.
      if (!worktree_may_hold_work(repo, s)) {
        plan.push_back({"leftover_worktree", s.worktree_path,
                        "the worktree of a finished session is removed", [&repo, s] {
                          if (auto r = remove_worktree(repo, s.worktree_path); !r) return r;
                          remove_session_scratch(repo, s.name);
                          return Result<void>();
                        }});
      }
    } else if (s.agent.state == "running" && !supervisor_running(s)) {
      plan.push_back({"lost_agent", name, "the supervisor died; the agent is stopped", [&repo, s] {
                        if (auto r = stop_agent(repo, s); !r) return r;
                        Result<SessionState> u = update_session(repo, s.name, [](SessionState& st) {
                          st.agent.state = "stopped";
                          st.agent.error = "the session supervisor was killed";
                        });
                        if (!u) return Result<void>(fail(u.error()));
                        return Result<void>();
                      }});
    }
  }
}

void plan_orphans(const Repo& repo, std::vector<Action>& plan,
                  const std::vector<std::string>& names) {
  auto has_state = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end() ||
           path_exists(repo.state_path(n));
  };
  std::error_code ec;
  std::vector<std::string> kept_branches;  // checked out in a worktree that stays
  std::vector<std::string> kept_names;     // and those worktrees' names (their logs stay)
  const bool own_subtrees = repo.inside_para_dir(repo.subtrees_dir());
  for (const auto& e : fs::directory_iterator(repo.subtrees_dir(), ec)) {
    const std::string n = e.path().filename().string();
    std::error_code type;
    // Only directories: a file or symlink here is not para's.
    if (has_state(n) || !e.is_directory(type) || e.is_symlink(type)) continue;
    const std::string path = e.path().string();
    if (n.starts_with(kRemovingPrefix)) {  // remove_worktree's, cut short
      plan.push_back({"interrupted_removal", path,
                      "the rest of a worktree whose removal was cut short is removed", [path] {
                        std::error_code rm;
                        fs::remove_all(path, rm);
                        if (rm) return Result<void>(fail(Errc::io, "cannot remove " + path));
                        return Result<void>();
                      }});
      continue;
    }
    if (fs::is_empty(path, type)) {
      plan.push_back(
          {"orphan_worktree", path, "an empty directory a crash left is removed", [path] {
             std::error_code rm;
             fs::remove(path, rm);
             return Result<void>();
           }});
      continue;
    }
    // A directory git has no worktree registration for is not ours to
    // delete; it is reported, since it blocks a session of that name.
    const std::optional<std::string> admin = repo.worktree_admin_dir(path);
    if (!admin && !own_subtrees) continue;
    if (!admin) {
      plan.push_back({"unowned_directory_kept", path,
                      "a directory that is neither a session's nor a git worktree is kept", [path] {
                        return Result<void>(fail(
                            Errc::conflict,
                            path + " is not a git worktree and no session owns it; move what you "
                                   "want to keep out of it and remove it"));
                      }});
      continue;
    }
    Result<std::vector<StatusEntry>> changes = git_status(GitTarget::worktree(*admin, path));
    if (!changes || !changes->empty() || detached_commits(repo, *admin)) {
      if (Result<std::string> head = read_untrusted_file(*admin + "/HEAD", 4096);
          head && head->rfind("ref: refs/heads/", 0) == 0) {
        std::string branch = head->substr(16);
        while (!branch.empty() && (branch.back() == '\n' || branch.back() == '\r')) {
          branch.pop_back();
        }
        kept_branches.push_back(branch);
      }
      kept_names.push_back(n);
      plan.push_back(
          {"orphan_worktree_kept", path,
           "a worktree no session owns has uncommitted changes or commits on no branch and "
           "is kept",
           [path, changes] {
             const bool dirty = !changes || !changes->empty();
             return Result<void>(
                 fail(Errc::conflict,
                      path +
                          (dirty ? " has uncommitted changes" +
                                       (changes ? " (" + std::to_string(changes->size()) + " paths)"
                                                : std::string())
                                 : std::string(" has commits on a detached HEAD that no branch "
                                               "holds")) +
                          "; commit, branch or copy them, then remove it with git worktree "
                          "remove --force " +
                          path));
           }});
      continue;
    }
    plan.push_back({"orphan_worktree", path, "a worktree no session owns is removed",
                    [&repo, path] { return remove_worktree(repo, path); }});
  }
  if (Result<std::vector<std::string>> branches =
          git_branches(repo.main(), repo.config.branch_prefix + "/");
      branches) {
    for (const std::string& b : *branches) {
      if (b.rfind(repo.archive_prefix(), 0) == 0) continue;
      const std::string n = b.substr(repo.config.branch_prefix.size() + 1);
      // Not a session's name (para/x/y): not para's; checked out in a kept
      // worktree: git refuses to move it, and that worktree is reported.
      if (has_state(n) || !validate_session_name(n) ||
          std::find(kept_branches.begin(), kept_branches.end(), b) != kept_branches.end()) {
        continue;
      }
      plan.push_back({"orphan_branch", b,
                      "a branch no session owns is archived (or deleted when "
                      "it has no commits of its own)",
                      [&repo, b, n] {
                        Result<std::optional<std::string>> head = git_current_branch(repo.main());
                        std::optional<std::string> parent;
                        if (head && *head) parent = **head;
                        return retire_branch(repo, b, n, parent);
                      }});
    }
  }
  // In a directory of the user's (directories.state_dir), a file named like
  // para's may be theirs: only para's own directory is swept.
  if (!repo.owns_state_dir()) return;
  for (const auto& e : fs::directory_iterator(repo.state_dir(), ec)) {
    const std::string file = e.path().filename().string();
    const std::string path = e.path().string();
    std::string owner;
    for (const char* suffix : {".network.log", ".log", ".task", ".status.json"}) {
      const std::string sfx = suffix;
      if (file.size() > sfx.size() &&
          file.compare(file.size() - sfx.size(), sfx.size(), sfx) == 0) {
        owner = file.substr(0, file.size() - sfx.size());
        break;
      }
    }
    const bool temp =
        file.find(".tmp.") != std::string::npos || file.find(".diff-index.") != std::string::npos;
    const bool stray = !owner.empty() && owner[0] != '.' && !has_state(owner) &&
                       std::find(kept_names.begin(), kept_names.end(), owner) == kept_names.end() &&
                       (e.is_regular_file(ec) || e.is_symlink(ec));
    if (!temp && !stray) continue;
    plan.push_back({"stale_file", path, "a file left by an interrupted command is removed", [path] {
                      std::error_code rm;
                      fs::remove(path, rm);
                      return Result<void>();
                    }});
  }
}

Result<void> prune_registrations(const Repo& repo) {
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  prune_para_registrations(repo);
  return {};
}

// "1 thing", "3 things".
std::string count(size_t n) {
  return std::to_string(n) + (n == 1 ? " thing" : " things");
}

}  // namespace

Result<json> clean_repo(const Repo& repo, const CleanRequest& rq) {
  std::vector<Action> plan;
  std::vector<std::string> names;
  std::error_code ec;
  if (fs::is_directory(repo.state_dir(), ec)) {
    plan_sessions(repo, plan, names);
    plan_orphans(repo, plan, names);
  }
  for (const std::string& branch : expired_archives(repo)) {
    plan.push_back(
        {"old_archive", branch, "an archive past the retention is deleted", [&repo, branch] {
           return git_locked(repo, {"branch", "-D", branch});
         }});
  }
  Result<std::vector<WorktreeEntry>> wts = [&]() -> Result<std::vector<WorktreeEntry>> {
    // git worktree list reads every worktree's HEAD, and blocks on a FIFO
    // an agent put there (worktree_target refuses that session).
    for (const auto& e : fs::directory_iterator(repo.common_dir + "/worktrees", ec)) {
      struct stat st;
      const std::string head = (e.path() / "HEAD").string();
      if (::lstat(head.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        return fail(Errc::conflict, head + " is not a regular file");
      }
    }
    if (!fs::is_directory(repo.locks_dir(), ec)) return git_worktrees(repo.main());
    Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::shared);
    if (!lock) return fail(lock.error());
    return git_worktrees(repo.main());
  }();
  if (wts) {
    for (const WorktreeEntry& w : *wts) {
      // Only para's: a user's worktree on an unmounted disk keeps its own.
      if (w.prunable && inside_subtrees_dir(repo, w.path)) {
        plan.push_back({"stale_registration", w.path,
                        "git's registration of a removed session worktree is dropped",
                        [&repo] { return prune_registrations(repo); }});
        break;
      }
    }
  }
  if (rq.containers) {
    // Containers with this repo's labels whose session has no running
    // supervisor. Matched by label, never by name.
    Result<std::vector<docker::ContainerSummary>> orphans =
        orphan_containers(repo, [&repo](const std::string& session) {
          Result<SessionState> s = read_session(repo, session);
          return s && supervisor_running(*s);
        });
    if (!orphans) return fail(orphans.error());
    for (const docker::ContainerSummary& c : *orphans) {
      plan.push_back(
          {"orphan_container", c.name, "a para container without a running session", [c] {
             Result<docker::Client> client = docker::Client::from_env();
             if (!client) return Result<void>(fail(client.error()));
             Result<void> r = docker::remove_container(*client, c.id);
             if (!r && r.error().code != Errc::not_found) return r;
             return Result<void>();
           }});
    }
  }
  json actions = json::array();
  size_t failed = 0;
  for (Action& a : plan) {
    json entry = {{"kind", a.kind}, {"target", a.target}, {"detail", a.detail}, {"done", false}};
    if (!rq.dry_run) {
      Result<void> r = a.apply();
      entry["done"] = r.has_value();
      if (!r) {
        entry["error"] = r.error().message;
        ++failed;
      }
    }
    actions.push_back(std::move(entry));
  }
  if (!rq.dry_run) (void)prune_registrations(repo);
  std::string message = plan.empty() ? "nothing to clean"
                        : rq.dry_run ? count(plan.size()) + " would be cleaned"
                                     : count(plan.size() - failed) + " cleaned";
  if (failed) message += ", " + std::to_string(failed) + " failed";
  return json{{"dry_run", rq.dry_run}, {"actions", actions}, {"message", message}};
}

}  // namespace para::session
