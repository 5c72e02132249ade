#include "session/worktree.h"

#include <unistd.h>

#include <filesystem>

#include "core/fs.h"
#include "session/agent.h"

namespace para::session {
namespace fs = std::filesystem;

Result<GitTarget> worktree_target(const Repo& repo, const SessionState& state) {
  std::error_code ec;
  std::string admin = state.worktree_git_dir.value_or("");
  if (admin.empty() || !fs::is_directory(admin, ec)) {
    std::optional<std::string> found = repo.worktree_admin_dir(state.worktree_path);
    if (!found) {
      return fail(Errc::not_found, "the worktree of session '" + state.name + "' (" +
                                       state.worktree_path +
                                       ") is missing or not registered with git; run para resume " +
                                       state.name + " to repair it");
    }
    admin = *found;
  }
  return GitTarget::worktree(admin, state.worktree_path);
}

Result<FileLock> lock_worktrees(const Repo& repo, FileLock::Mode mode) {
  if (auto d = make_dirs(repo.locks_dir()); !d) return fail(d.error());
  return FileLock::acquire(repo.locks_dir() + "/worktrees.lock", mode, std::chrono::minutes(2));
}

Result<void> git_locked(const Repo& repo, const std::vector<std::string>& args) {
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  return git_ok(repo.main(), args);
}

Result<void> add_worktree(const Repo& repo, SessionState& state, bool new_branch,
                          const std::string& base) {
  {
    // Register under the lock; check out the files outside it, so that
    // concurrent starts only serialise on git's bookkeeping.
    Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
    if (!lock) return fail(lock.error());
    // A registration left by a crash would make git refuse the path.
    (void)git_run(repo.main(), {"worktree", "prune"});
    std::vector<std::string> args = {"worktree", "add", "--quiet", "--no-checkout"};
    if (new_branch) {
      args.insert(args.end(), {"-b", state.branch, state.worktree_path, base});
    } else {
      args.insert(args.end(), {state.worktree_path, state.branch});
    }
    if (auto r = git_ok(repo.main(), args); !r) return fail(r.error());
  }
  std::optional<std::string> admin = repo.worktree_admin_dir(state.worktree_path);
  if (!admin) {
    return fail(Errc::internal, "git created the worktree " + state.worktree_path +
                                    " but has no registration for it");
  }
  state.worktree_git_dir = *admin;
  return git_ok(GitTarget::worktree(*admin, state.worktree_path), {"reset", "--hard", "--quiet"});
}

Result<void> remove_worktree(const Repo& repo, const std::string& path) {
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  std::error_code ec;
  if (fs::exists(path, ec)) {
    // Twice --force: also removes a locked worktree (one a crash left locked).
    (void)git_run(repo.main(), {"worktree", "remove", "--force", "--force", path});
    if (fs::exists(path, ec)) {
      // Not a registered worktree any more, or git could not finish.
      fs::remove_all(path, ec);
      if (ec) return fail(Errc::io, "cannot remove " + path + ": " + ec.message());
    }
  }
  if (std::optional<std::string> admin = repo.worktree_admin_dir(path)) {
    fs::remove_all(*admin, ec);
  }
  (void)git_run(repo.main(), {"worktree", "prune"});
  return {};
}

Result<void> write_session_files(const Repo& repo, const SessionState& state) {
  if (auto r = make_dirs(repo.session_dir(state.name)); !r) return fail(r.error());
  const std::string link = repo.status_link(state.name);
  std::error_code ec;
  if (!fs::is_symlink(link, ec)) {
    fs::remove(link, ec);
    fs::create_symlink(state.name + "/status.json", link, ec);
    if (ec) return fail(Errc::io, "cannot create " + link + ": " + ec.message());
  }
  return write_file_atomic(state.worktree_path + "/CLAUDE.local.md",
                           agent_instructions(state.name));
}

Result<std::vector<std::string>> uncommitted_changes(const Repo& repo, const SessionState& state) {
  Result<GitTarget> target = worktree_target(repo, state);
  if (!target) return fail(target.error());
  Result<std::vector<StatusEntry>> entries = git_status(*target);
  if (!entries) return fail(entries.error());
  std::vector<std::string> paths;
  for (const StatusEntry& e : *entries) paths.push_back(e.path);
  return paths;
}

}  // namespace para::session
