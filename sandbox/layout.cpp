#include "sandbox/layout.h"

#include <limits.h>
#include <stdlib.h>

#include <sstream>
#include <vector>

#include "core/gitdir.h"
#include "core/process.h"
#include "sandbox/policy.h"

namespace para::sandbox {
namespace {

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

Result<Completed> git(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "git", "-C", dir, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = current_environment();
  set_env(env, "LC_ALL", "C");
  unset_env(env, "GIT_DIR");
  unset_env(env, "GIT_WORK_TREE");
  return run(Command{.argv = argv, .env = env, .timeout = std::chrono::seconds(30)});
}

// What git says, for the layouts find_git_dirs() leaves to it.
Result<GitDirs> ask_git(const std::string& dir) {
  Result<Completed> c = git(dir, {"rev-parse", "--path-format=absolute", "--show-toplevel",
                                  "--git-common-dir", "--git-dir"});
  if (!c) return fail(c.error());
  if (!c->ok()) {
    return fail(Errc::not_found, dir +
                                     " is not inside a git worktree; para sandboxes the "
                                     "worktree of the current directory");
  }
  std::istringstream lines(c->out);
  std::string top, common, gitdir;
  std::getline(lines, top);
  std::getline(lines, common);
  std::getline(lines, gitdir);
  if (top.empty() || common.empty() || gitdir.empty()) {
    return fail(Errc::tool_failed, "git rev-parse gave an unexpected answer in " + dir);
  }
  return GitDirs{real(top), real(gitdir), real(common)};
}

}  // namespace

Result<DirectoryLayout> detect_layout(const std::string& dir) {
  std::optional<GitDirs> found = find_git_dirs(dir);
  if (!found) {
    Result<GitDirs> asked = ask_git(dir);
    if (!asked) return fail(asked.error());
    found = std::move(*asked);
  }
  DirectoryLayout l;
  l.worktree = found->toplevel;
  l.git_common_dir = found->common_dir;
  l.worktree_gitdir = found->git_dir;
  const size_t slash = l.git_common_dir.rfind('/');
  l.repo_root =
      l.git_common_dir.substr(slash) == "/.git" ? l.git_common_dir.substr(0, slash) : l.worktree;
  const std::string sessions = l.repo_root + "/.para/worktrees/";
  if (l.worktree.starts_with(sessions)) {
    const std::string name = l.worktree.substr(sessions.size());
    if (validate_session_name(name)) {
      l.session = name;
      l.state_dir = l.repo_root + "/.para/state";
      // The prefix from the branch checked out there: <prefix>/<N>.
      if (std::optional<std::string> branch = read_head_branch(l.worktree_gitdir)) {
        const std::string tail = "/" + name;
        if (branch->ends_with(tail)) {
          const std::string prefix = branch->substr(0, branch->size() - tail.size());
          if (!prefix.empty() && prefix.find('/') == std::string::npos) l.branch_prefix = prefix;
        }
      }
    }
  }
  return l;
}

}  // namespace para::sandbox
