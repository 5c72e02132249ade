// para finish: stop the agent, commit its work on the session branch,
// optionally copy the branch to a final name, mark the session Review and
// remove the worktree. Every step is idempotent, so a finish interrupted at
// any point can be run again (or repaired by para clean).

#include <filesystem>
#include <utility>

#include "core/clock.h"
#include "core/fs.h"
#include "sandbox/policy.h"
#include "session/internal.h"
#include "session/names.h"
#include "session/ops.h"
#include "session/sandboxing.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

// The files the session branch changed since it left its parent that host
// programs run or obey (sandbox::host_runs_or_obeys): para's setup scripts
// and config, git hooks, .envrc, editor tasks, MCP and Claude Code settings.
// The sandbox kept the agent from running them; merging would not.
std::vector<std::string> host_config_changes(const Repo& repo, const SessionState& s,
                                             const std::string& tip) {
  std::vector<std::string> out;
  const std::string base = base_commit(repo, s);
  if (base.empty() || base == tip) return out;
  Result<std::string> names =
      git_out(repo.main(), {"diff", "--name-only", "--no-renames", "-z", base, tip});
  if (!names) return out;
  size_t start = 0;
  while (start < names->size()) {
    size_t end = names->find('\0', start);
    if (end == std::string::npos) end = names->size();
    std::string path = names->substr(start, end - start);
    start = end + 1;
    if (!path.empty() && sandbox::host_runs_or_obeys(path)) out.push_back(std::move(path));
  }
  return out;
}

using nlohmann::json;

void write_review_status(const Repo& repo, const SessionState& s) {
  AgentStatus status;
  if (std::optional<AgentStatus> old = load_status(repo.status_path(s.name))) status = *old;
  status.session_name = s.name;
  status.current_task = "Review";
  status.is_blocked = false;
  status.blocked_reason.reset();
  status.last_update = rfc3339(std::chrono::system_clock::now());
  if (make_dirs(repo.session_dir(s.name))) {
    (void)write_file_atomic(repo.status_path(s.name), status_to_json(status).dump(2) + "\n");
  }
}

// A branch `finish -b` may create: outside para's namespace (clean would
// treat it as an orphan) and free, also of git's file/directory conflicts
// (a/b cannot exist beside a), checked before anything is committed.
Result<void> check_new_branch(const Repo& repo, const std::string& branch) {
  if (branch.rfind(repo.config.branch_prefix + "/", 0) == 0) {
    return fail(Errc::invalid_argument,
                "the branch '" + branch + "' is inside " + repo.config.branch_prefix +
                    "/, which para manages; choose a name outside it, e.g. 'feature/" +
                    branch.substr(repo.config.branch_prefix.size() + 1) + "'");
  }
  std::vector<std::string> clashes = {branch};
  for (size_t slash = branch.find('/'); slash != std::string::npos;
       slash = branch.find('/', slash + 1)) {
    clashes.push_back(branch.substr(0, slash));
  }
  for (const std::string& b : clashes) {
    Result<std::optional<std::string>> taken = git_resolve(repo.main(), "refs/heads/" + b);
    if (!taken) return fail(taken.error());
    if (*taken) {
      return fail(Errc::already_exists, b == branch ? "the branch '" + branch +
                                                          "' already exists; pick another name, "
                                                          "e.g. '" +
                                                          branch + "-2'"
                                                    : "the branch '" + b +
                                                          "' exists, so git cannot create '" +
                                                          branch + "'; pick another name");
    }
  }
  Result<std::vector<std::string>> below = git_branches(repo.main(), branch + "/");
  if (below && !below->empty()) {
    return fail(Errc::already_exists, "branches under '" + branch + "/' exist (" + below->front() +
                                          "), so git cannot create '" + branch +
                                          "'; pick another name");
  }
  return {};
}

}  // namespace

Result<std::string> resolve_session(const Repo& repo, const std::optional<std::string>& name,
                                    const std::string& cwd, const char* verb) {
  if (name) {
    if (auto valid = validate_session_name(*name); !valid) return fail(valid.error());
    return *name;
  }
  std::optional<std::string> here = session_from_cwd(repo, cwd);
  if (!here) {
    return fail(Errc::invalid_argument,
                std::string("name the session to ") + verb +
                    " (see para list), or run the command inside its worktree");
  }
  return *here;
}

Result<json> finish_session(const Repo& repo, const FinishRequest& rq) {
  if (rq.message.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail(Errc::invalid_argument, "the commit message is empty; describe the work");
  }
  if (rq.message.find('\0') != std::string::npos) {
    return fail(Errc::invalid_argument, "the commit message contains a NUL byte");
  }
  if (rq.branch) {
    if (auto v = validate_branch_name(*rq.branch); !v) return fail(v.error());
  }
  Result<std::string> name = resolve_session(repo, rq.session, rq.cwd, "finish");
  if (!name) return fail(name.error());
  Result<FileLock> lock = lock_session(repo, *name);
  if (!lock) return fail(lock.error());
  Result<SessionState> s = read_session(repo, *name);
  if (!s) return fail(s.error());
  if (s->status == SessionStatus::starting || s->status == SessionStatus::cancelled) {
    return fail(Errc::conflict,
                "session '" + *name + "' is " +
                    (s->status == SessionStatus::starting ? "still starting" : "being cancelled") +
                    " (or was interrupted); run para clean first");
  }
  if (rq.branch) {
    if (auto r = check_new_branch(repo, *rq.branch); !r) return fail(r.error());
  }

  if (auto r = stop_agent(repo, *s); !r) return fail(r.error());
  // The agent's commits may still sit in the sandbox's private refs, and it
  // may have pointed HEAD elsewhere: settle both before committing here.
  Result<std::vector<std::string>> settled = settle_sandboxed_git(repo, *s);
  if (!settled) return fail(settled.error());

  namespace fs = std::filesystem;
  std::error_code ec;
  const bool has_worktree = fs::is_directory(s->worktree_path, ec);
  if (has_worktree) {
    if (std::optional<std::string> elsewhere = head_elsewhere(repo, *s)) {
      return fail(Errc::conflict, "the worktree of session '" + *name + "' is not on its branch " +
                                      s->branch + " (HEAD is " + *elsewhere +
                                      "), so its work would not reach " + s->branch +
                                      ". Bring the commits onto the branch (e.g. git -C " +
                                      s->worktree_path + " switch " + s->branch +
                                      " and merge or cherry-pick them), then finish again");
    }
  }
  // From the ref files: one git process fewer on every finish.
  auto branch_tip = [&]() -> Result<std::optional<std::string>> {
    if (std::optional<std::string> tip = git_read_branch(repo.common_dir, s->branch)) return tip;
    return git_resolve(repo.main(), "refs/heads/" + s->branch);
  };
  auto branch_gone = [&] {
    return fail(Errc::not_found, "the branch " + s->branch + " of session '" + *name +
                                     "' does not exist any more; nothing to finish");
  };
  // Checked before committing too: on a deleted branch, git would make a
  // root commit that shares no history with the repository.
  if (Result<std::optional<std::string>> tip = branch_tip(); !tip) {
    return fail(tip.error());
  } else if (!*tip) {
    return branch_gone();
  }
  bool committed = false;
  std::string commit;
  bool dirty_after = false;
  std::vector<std::string> not_committed;
  if (has_worktree) {
    Result<GitTarget> wt = worktree_target(repo, *s);
    if (!wt) return fail(wt.error());
    // One scan of the tree decides; the common case (nothing left to
    // commit) then costs nothing more.
    Result<std::vector<StatusEntry>> changes = git_status(*wt);
    if (!changes) return fail(changes.error());
    std::string unmerged;
    for (const StatusEntry& e : *changes) {
      const bool both = e.code == "DD" || e.code == "AA";
      if (both || e.code.find('U') != std::string::npos) unmerged += "\n  " + e.path;
    }
    std::string nested;
    for (const StatusEntry& e : *changes) {
      std::error_code git_ec;
      if (e.code == "??" && e.path.ends_with("/") &&
          fs::exists(s->worktree_path + "/" + e.path + ".git", git_ec)) {
        nested += "\n  " + e.path;
      }
    }
    if (!nested.empty() && repo.config.auto_stage) {
      // git add would record each as a link to a commit that exists only
      // inside it, and removing the worktree would delete its files.
      return fail(Errc::conflict,
                  "session '" + *name + "' has git repositories of its own inside it:" + nested +
                      "\ngit would commit only a link to each, and their files would be lost "
                      "with the worktree. Remove each one's .git to commit its files here, or "
                      "move it out of the worktree, then finish again");
    }
    if (!unmerged.empty()) {
      // git add would stage the conflict markers as if they were the work.
      return fail(Errc::conflict, "session '" + *name +
                                      "' has unresolved merge conflicts in:" + unmerged +
                                      "\nResolve them and git add each file (or git -C " +
                                      s->worktree_path + " merge --abort), then finish again");
    }
    if (!changes->empty()) {
      if (repo.config.auto_stage) {
        if (auto r = git_add_all(*wt); !r) return fail(r.error());
      }
      Result<Completed> staged = git_run(*wt, {"diff", "--cached", "--quiet"});
      if (!staged) return fail(staged.error());
      if (staged->exit_code == 1) {
        // -F - and verbatim: the message reaches git byte for byte.
        GitOptions opts{.stdin_data = rq.message};
        if (auto r = git_ok(
                *wt, {"commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-"}, opts);
            !r) {
          return fail(r.error());
        }
        committed = true;
      }
      // With auto_stage, what is left is a submodule moved to another
      // commit: git_add_all does not stage it (see there).
      Result<std::vector<std::string>> left = uncommitted_changes(repo, *s);
      if (left) not_committed = *left;
      dirty_after = !left || !left->empty();
    }
  }
  Result<std::optional<std::string>> tip = branch_tip();
  if (!tip) return fail(tip.error());
  if (!*tip) return branch_gone();
  commit = **tip;
  if (rq.branch) {
    if (auto r = git_ok(repo.main(), {"branch", *rq.branch, s->branch}); !r) return fail(r.error());
  }
  write_review_status(repo, *s);
  // What earlier runs left out (the supervisor's notes, read from the state
  // as it is now: stopping the agent above may have added some) and what
  // this settle did: reported once, with this finish.
  std::vector<std::string> left_out;
  Result<SessionState> updated = update_session(repo, *name, [&](SessionState& st) {
    left_out = std::exchange(st.sandbox_notes, {});
    st.status = SessionStatus::review;
    st.last_activity = rfc3339(std::chrono::system_clock::now());
  });
  if (!updated) return fail(updated.error());
  left_out.insert(left_out.end(), settled->begin(), settled->end());

  bool removed = false;
  std::string note;
  if (has_worktree && !repo.config.preserve_on_finish) {
    if (dirty_after && !repo.config.auto_stage) {
      note =
          "; the worktree was kept because it still has changes that were not committed "
          "(git.auto_stage is off)";
    } else if (dirty_after) {
      std::string paths;
      for (size_t i = 0; i < not_committed.size() && i < 5; ++i) {
        paths += (i ? ", " : "") + not_committed[i];
      }
      note = "; the worktree was kept because " + (paths.empty() ? "it" : paths) +
             " changed inside a submodule and was not committed: para does not stage "
             "submodules (that runs git inside them, under their own config). To include a "
             "submodule's new commit: git -C " +
             s->worktree_path + " add " + (not_committed.empty() ? "PATH" : not_committed[0]) +
             ", then para finish again";
    } else if (holds_submodule_repos(repo, *s)) {
      note =
          "; the worktree was kept because its initialised submodules' repositories (and any "
          "commits made in them) live only there; once they are pushed, remove it with git "
          "worktree remove --force --force " +
          s->worktree_path;
    } else if (auto r = remove_worktree(repo, s->worktree_path); r) {
      removed = true;
      remove_session_scratch(repo, *name);  // the agent is stopped: nothing uses them
    } else {
      note = "; the worktree could not be removed: " + r.error().message;
    }
  }
  for (const std::string& n : left_out) note += "; " + n;
  const std::string final_branch = rq.branch.value_or(s->branch);
  const std::vector<std::string> review_first = host_config_changes(repo, *s, commit);
  std::string review_note;
  if (!review_first.empty()) {
    review_note =
        ". Review before merging: the branch changes files that programs on your "
        "machine run or obey (";
    for (size_t i = 0; i < review_first.size() && i < 5; ++i) {
      review_note += (i ? ", " : "") + review_first[i];
    }
    review_note += review_first.size() > 5 ? ", ...)" : ")";
  }
  json out{
      {"session", *name},
      {"branch", s->branch},
      {"final_branch", final_branch},
      {"committed", committed},
      {"commit", commit},
      {"worktree_removed", removed},
      {"message", "session '" + *name + "' finished: " +
                      (committed ? "the changes were committed to " : "nothing to commit on ") +
                      final_branch + note + review_note}};
  if (!review_first.empty()) out["review_first"] = review_first;
  if (!left_out.empty()) out["left_out"] = left_out;
  return out;
}

}  // namespace para::session
