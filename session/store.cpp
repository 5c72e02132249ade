#include "session/store.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "sandbox/cache_overlay.h"
#include "session/names.h"

namespace para::session {

Result<FileLock> lock_session(const Repo& repo, const std::string& name,
                              std::chrono::milliseconds timeout) {
  // The name becomes a lock path: "../x" or "./x" must not reach the file system.
  if (auto valid = validate_session_name(name); !valid) return fail(valid.error());
  if (auto d = make_dirs(repo.locks_dir()); !d) return fail(d.error());
  Result<FileLock> lock =
      FileLock::acquire(repo.lock_path(name), FileLock::Mode::exclusive, timeout);
  if (!lock) {
    if (lock.error().code == Errc::timeout) {
      return fail(Errc::conflict, "another para command is working on session '" + name +
                                      "'; wait for it to finish and try again");
    }
    return fail(lock.error());
  }
  return lock;
}

Result<SessionState> read_session(const Repo& repo, const std::string& name) {
  if (auto valid = validate_session_name(name); !valid) return fail(valid.error());
  Result<SessionState> s = load_state(repo.state_path(name));
  if (!s && s.error().code == Errc::not_found) {
    std::string known;
    for (const std::string& n : session_names(repo)) known += (known.empty() ? "" : ", ") + n;
    return fail(Errc::not_found, "there is no session '" + name + "'" +
                                     (known.empty() ? std::string(" (there are no sessions)")
                                                    : "; sessions: " + known) +
                                     ". See para list.");
  }
  if (!s) return s;
  // The file records absolute paths, which point into the original of a
  // moved or copied repository. The worktree is always this repository's
  // <subtrees_dir>/<name>, and an admin directory only counts inside its
  // .git/worktrees; what the file says otherwise is not followed.
  if (s->name != name || s->branch.size() <= name.size() + 1 ||
      s->branch.compare(s->branch.size() - name.size() - 1, std::string::npos, "/" + name) != 0) {
    return fail(Errc::invalid_argument,
                "the session state file " + repo.state_path(name) +
                    " is corrupt (it names session '" + s->name + "' on branch '" + s->branch +
                    "'). Run 'para clean' to move it aside, or remove it by hand.");
  }
  s->worktree_path = repo.worktree_path(name);
  const std::string admin_root = repo.common_dir + "/worktrees/";
  if (s->worktree_git_dir &&
      (s->worktree_git_dir->rfind(admin_root, 0) != 0 ||
       s->worktree_git_dir->find('/', admin_root.size()) != std::string::npos ||
       s->worktree_git_dir->find("..") != std::string::npos)) {
    s->worktree_git_dir.reset();
  }
  return s;
}

Result<SessionState> update_session(const Repo& repo, const std::string& name,
                                    const std::function<void(SessionState&)>& change) {
  if (auto d = make_dirs(repo.locks_dir()); !d) return fail(d.error());
  Result<FileLock> lock = FileLock::acquire(repo.state_lock_path(name), FileLock::Mode::exclusive,
                                            std::chrono::seconds(30));
  if (!lock) return fail(lock.error());
  Result<SessionState> s = read_session(repo, name);
  if (!s) return fail(s.error());
  change(*s);
  if (auto w = save_state(repo.state_path(name), *s); !w) return fail(w.error());
  return s;
}

Result<void> write_session(const Repo& repo, const SessionState& state) {
  if (auto d = make_dirs(repo.locks_dir()); !d) return fail(d.error());
  Result<FileLock> lock = FileLock::acquire(repo.state_lock_path(state.name),
                                            FileLock::Mode::exclusive, std::chrono::seconds(30));
  if (!lock) return fail(lock.error());
  return save_state(repo.state_path(state.name), state);
}

std::vector<std::string> session_names(const Repo& repo) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(repo.state_dir(), ec)) {
    const std::string file = e.path().filename().string();
    if (file.size() > 6 && file.compare(file.size() - 6, 6, ".state") == 0) {
      names.push_back(file.substr(0, file.size() - 6));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// The runtime directory where the state recorded it (TMPDIR may differ now),
// if it has the shape para gives it: <tmp>/para-<uid>/<repo hash>-<name>.
// Anything else is not removed.
std::optional<std::filesystem::path> owned_runtime_dir(const Repo& repo, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path expected = repo.runtime_dir(name);
  fs::path runtime = expected;
  if (Result<SessionState> s = read_session(repo, name); s && s->runtime_dir) {
    runtime = *s->runtime_dir;
  }
  if (runtime.is_absolute() && runtime.filename() == expected.filename() &&
      runtime.parent_path().filename() == expected.parent_path().filename()) {
    return runtime;
  }
  return std::nullopt;
}

}  // namespace

void remove_session_scratch(const Repo& repo, const std::string& name) {
  std::optional<std::filesystem::path> runtime = owned_runtime_dir(repo, name);
  if (!runtime) return;
  sandbox::make_cache_layers_removable(runtime->string());
  std::error_code ec;
  std::filesystem::remove_all(*runtime / "caches", ec);
  std::filesystem::remove_all(*runtime / "tmp", ec);
}

void remove_session_files(const Repo& repo, const std::string& name) {
  std::error_code ec;
  namespace fs = std::filesystem;
  if (std::optional<fs::path> runtime = owned_runtime_dir(repo, name)) {
    sandbox::make_cache_layers_removable(runtime->string());
    fs::remove_all(*runtime, ec);
  }
  fs::remove_all(repo.session_dir(name), ec);
  for (const std::string& path : {repo.status_link(name), repo.task_path(name), repo.log_path(name),
                                  repo.network_log_path(name), repo.state_path(name)}) {
    fs::remove(path, ec);
  }
}

}  // namespace para::session
