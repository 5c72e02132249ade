#include "session/worktree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

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
  // The agent can write the admin directory: git would block on a FIFO or
  // follow a symlink there, so its files must be plain files.
  for (const char* file : {"HEAD", "index", "commondir"}) {
    struct stat st;
    const std::string path = admin + "/" + file;
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return fail(Errc::conflict, path + " (session '" + state.name +
                                      "') is not a regular file; restore it (git worktree repair, "
                                      "or remove the worktree) before using the session");
    }
  }
  // commondir names the repository git works in (refs follow it even where
  // GIT_COMMON_DIR overrides it for config): one pointing elsewhere would
  // send the session's commits, and git's config, to a directory of the
  // agent's making.
  if (Result<std::string> link = read_untrusted_file(admin + "/commondir", 4096); link) {
    std::string target = *link;
    while (!target.empty() && (target.back() == '\n' || target.back() == '\r')) target.pop_back();
    std::error_code resolve;
    const fs::path named = fs::weakly_canonical(fs::path(admin) / target, resolve);
    if (resolve || named != fs::weakly_canonical(repo.common_dir, resolve)) {
      return fail(Errc::conflict,
                  admin + "/commondir (session '" + state.name + "') names " + target +
                      ", not this repository's git directory " + repo.common_dir +
                      ": something rewrote it. Write ../.. back into it before using the session");
    }
  }
  return GitTarget::worktree(admin, state.worktree_path);
}

bool inside_subtrees_dir(const Repo& repo, const std::string& path) {
  std::error_code ec;
  const std::string dir = fs::weakly_canonical(repo.subtrees_dir(), ec).string();
  if (ec || dir.empty()) return false;
  const std::string resolved = fs::weakly_canonical(path, ec).string();
  return !ec && resolved.size() > dir.size() + 1 && resolved.compare(0, dir.size(), dir) == 0 &&
         resolved[dir.size()] == '/' && resolved.find('/', dir.size() + 1) == std::string::npos;
}

Result<FileLock> lock_worktrees(const Repo& repo, FileLock::Mode mode) {
  if (auto d = make_dirs(repo.locks_dir()); !d) return fail(d.error());
  return FileLock::acquire(repo.locks_dir() + "/worktrees.lock", mode, std::chrono::minutes(2));
}

void prune_para_registrations(const Repo& repo) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo.common_dir + "/worktrees", ec)) {
    Result<std::string> gitdir = read_untrusted_file((entry.path() / "gitdir").string(), 4096);
    if (!gitdir) continue;
    std::string dot_git = *gitdir;
    while (!dot_git.empty() && (dot_git.back() == '\n' || dot_git.back() == '\r')) {
      dot_git.pop_back();
    }
    const std::string worktree = fs::path(dot_git).parent_path().string();
    std::error_code exists;
    if (worktree.empty() || fs::exists(worktree, exists) || exists) continue;
    // Gone: compare where it would be with the worktrees directory.
    const fs::path parent = fs::weakly_canonical(fs::path(worktree).parent_path(), exists);
    if (exists || parent != fs::weakly_canonical(repo.subtrees_dir(), exists)) continue;
    fs::remove_all(entry.path(), exists);
  }
}

Result<void> git_locked(const Repo& repo, const std::vector<std::string>& args) {
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  return git_ok(repo.main(), args);
}

namespace {

// Whether a new worktree can be registered by writing git's files (below)
// rather than by `git worktree add`: not when the repository's config uses
// anything that changes what git writes for a worktree (extensions such as
// worktreeConfig or reftable, includes that could set them, sparse checkout,
// worktree.* settings, shared permissions), nor when the admin directory's
// name is taken (git would pick another).
bool plain_worktree_layout(const Repo& repo, const std::string& admin) {
  Result<std::string> config = read_file(repo.common_dir + "/config", size_t(1) << 20);
  if (!config) return false;
  std::string text = std::move(*config);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"extensions", "include", "worktree", "sparse", "sharedrepository"}) {
    if (text.find(word) != std::string::npos) return false;
  }
  return !path_exists(admin);
}

// Registers a new worktree on a new branch as `git worktree add
// --no-checkout -b` does, in one git process instead of three (git runs `git
// branch` and `git symbolic-ref` itself): the branch from `git update-ref`
// (git's locking, packed refs and reflog), then the files git writes, with
// `locked` held while they are incomplete so that a concurrent `git worktree
// prune` leaves them alone. Unlike `git branch`, the branch never gets an
// upstream (branch.autoSetupMerge=always would track the parent branch).
// Returns the admin directory. On failure the files are removed and the
// branch may exist: the caller's rollback deletes it.
Result<std::string> register_new_worktree(const Repo& repo, const SessionState& state,
                                          const std::string& base, const std::string& admin) {
  if (auto r = git_ok(repo.main(), {"update-ref", "-m", "branch: Created from " + base,
                                    "refs/heads/" + state.branch, base, ""});
      !r) {
    return fail(r.error());
  }
  const std::string& path = state.worktree_path;
  auto write = [](const std::string& file, const std::string& content) {
    return write_file_atomic(file, content, 0644, Sync::replace_only);
  };
  std::vector<std::string> created;  // what to remove on failure
  auto register_files = [&]() -> Result<std::string> {
    if (auto r = make_dirs(fs::path(path).parent_path().string()); !r) return fail(r.error());
    if (auto r = make_dirs(repo.common_dir + "/worktrees"); !r) return fail(r.error());
    for (const std::string& dir : {path, admin}) {
      if (::mkdir(dir.c_str(), 0755) != 0) {
        return fail(Errc::io, "cannot create " + dir + ": " + std::strerror(errno));
      }
      created.push_back(dir);
    }
    // git records real paths; session paths may run through a symlink.
    std::error_code ec;
    const std::string real_path = fs::canonical(path, ec).string();
    const std::string real_admin = fs::canonical(admin, ec).string();
    if (ec) return fail(Errc::io, "cannot resolve " + path + ": " + ec.message());
    for (const auto& [file, content] : std::initializer_list<std::pair<std::string, std::string>>{
             {admin + "/locked", "initializing"},
             {admin + "/gitdir", real_path + "/.git\n"},
             {path + "/.git", "gitdir: " + real_admin + "\n"},
             {admin + "/commondir", "../..\n"},
             {admin + "/HEAD", "ref: refs/heads/" + state.branch + "\n"}}) {
      if (auto r = write(file, content); !r) return fail(r.error());
    }
    if (::unlink((admin + "/locked").c_str()) != 0) {
      return fail(Errc::io, "cannot unlock " + admin + ": " + std::strerror(errno));
    }
    return admin;
  };
  Result<std::string> registered = register_files();
  for (const std::string& dir : registered ? std::vector<std::string>() : created) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return registered;
}

}  // namespace

Result<void> register_worktree(const Repo& repo, SessionState& state, bool new_branch,
                               const std::string& base) {
  const std::string fast_admin =
      repo.common_dir + "/worktrees/" + fs::path(state.worktree_path).filename().string();
  // Under the lock; the checkout happens outside it, so that concurrent
  // starts only serialise on git's bookkeeping.
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  if (new_branch && plain_worktree_layout(repo, fast_admin)) {
    Result<std::string> registered = register_new_worktree(repo, state, base, fast_admin);
    if (!registered) return fail(registered.error());
    state.worktree_git_dir = *registered;
    return {};
  }
  std::vector<std::string> args = {"worktree", "add", "--quiet", "--no-checkout"};
  if (new_branch) {
    args.insert(args.end(), {"-b", state.branch, state.worktree_path, base});
  } else {
    args.insert(args.end(), {state.worktree_path, state.branch});
  }
  Result<void> added = git_ok(repo.main(), args);
  if (!added && added.error().message.find("already registered") != std::string::npos) {
    // A registration a crash left for this path: prune it and try again.
    prune_para_registrations(repo);
    added = git_ok(repo.main(), args);
  }
  if (!added) return fail(added.error());
  std::optional<std::string> admin = repo.worktree_admin_dir(state.worktree_path);
  if (!admin) {
    return fail(Errc::internal, "git created the worktree " + state.worktree_path +
                                    " but has no registration for it");
  }
  state.worktree_git_dir = *admin;
  return {};
}

Result<void> check_out_worktree(const SessionState& state) {
  return git_ok(GitTarget::worktree(state.worktree_git_dir.value_or(""), state.worktree_path),
                {"reset", "--hard", "--quiet"});
}

Result<void> add_worktree(const Repo& repo, SessionState& state, bool new_branch,
                          const std::string& base) {
  if (auto r = register_worktree(repo, state, new_branch, base); !r) return r;
  return check_out_worktree(state);
}

Result<void> remove_worktree(const Repo& repo, const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !inside_subtrees_dir(repo, path)) {
    return fail(Errc::conflict, "refusing to remove " + path + ": it is not a worktree in " +
                                    repo.subtrees_dir() +
                                    " (was the repository moved, or the state file edited?). "
                                    "Remove it by hand if it should go.");
  }
  Result<FileLock> lock = lock_worktrees(repo, FileLock::Mode::exclusive);
  if (!lock) return fail(lock.error());
  // Out of the way first, in one rename: a removal cut short (a crash, a
  // kill) then leaves no half-deleted tree at the session's path, which a
  // later finish would take for the worktree and commit as deletions.
  // para clean removes what is left aside.
  const std::optional<std::string> admin = repo.worktree_admin_dir(path);
  const std::string aside = repo.subtrees_dir() + "/" + std::string(kRemovingPrefix) +
                            fs::path(path).filename().string() + "." + std::to_string(::getpid());
  if (fs::exists(path, ec) && (fs::rename(path, aside, ec), !ec)) {
    if (admin) fs::remove_all(*admin, ec);  // git's registration
    fs::remove_all(aside, ec);
    if (ec) return fail(Errc::io, "cannot remove " + aside + ": " + ec.message());
    return {};
  }
  if (fs::exists(path, ec)) {
    // Twice --force: also removes a locked worktree (one a crash left locked).
    (void)git_run(repo.main(), {"worktree", "remove", "--force", "--force", path});
    if (fs::exists(path, ec)) {
      // Not a registered worktree any more, or git could not finish.
      fs::remove_all(path, ec);
      if (ec) return fail(Errc::io, "cannot remove " + path + ": " + ec.message());
    }
  }
  // git removes the admin directory itself; a crash half-way may not have.
  if (std::optional<std::string> left = repo.worktree_admin_dir(path)) fs::remove_all(*left, ec);
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
  // Instructions, regenerated on every start and resume: no need to fsync.
  // Replaced by rename, never written through: the branch or the agent may
  // have made it a symlink to a file of the user's.
  return write_file_atomic(state.worktree_path + "/CLAUDE.local.md", agent_instructions(state.name),
                           0644, Sync::replace_only);
}

bool holds_submodule_repos(const Repo& repo, const SessionState& state) {
  Result<GitTarget> target = worktree_target(repo, state);
  std::error_code ec;
  return target && fs::is_directory(target->git_dir + "/modules", ec) &&
         !fs::is_empty(target->git_dir + "/modules", ec);
}

std::optional<std::string> head_elsewhere(const Repo& repo, const SessionState& state) {
  Result<GitTarget> target = worktree_target(repo, state);
  if (!target) return std::nullopt;  // no registration: the callers' own checks report it
  Result<std::string> head = read_untrusted_file(target->git_dir + "/HEAD", 4096);
  if (!head) return std::nullopt;
  std::string text = *head;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text == "ref: refs/heads/" + state.branch) return std::nullopt;
  if (text.rfind("ref: refs/heads/", 0) == 0) return "on branch " + text.substr(16);
  if (text.rfind("ref: ", 0) == 0) return "at " + text.substr(5);
  return "detached at " + text.substr(0, 12);
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
