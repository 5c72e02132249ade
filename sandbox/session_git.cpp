#include "sandbox/session_git.h"

#include <algorithm>

#include "core/fs.h"

namespace para::sandbox {

bool is_object_name(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> git_environment() {
  std::vector<std::string> env = current_environment();
  set_env(env, "LC_ALL", "C");
  set_env(env, "GIT_TERMINAL_PROMPT", "0");
  for (const char* name :
       {"GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"}) {
    unset_env(env, name);
  }
  return env;
}

Command git_command(const SessionGit& g, const std::vector<std::string>& args, const GitRun& how) {
  std::vector<std::string> argv = {"git", "--git-dir=" + g.common_dir,
                                   "-c",  "core.hooksPath=/dev/null",
                                   "-c",  "core.fsmonitor=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = git_environment();
  if (!how.object_dir.empty()) set_env(env, "GIT_OBJECT_DIRECTORY", how.object_dir);
  return Command{.argv = std::move(argv),
                 .env = std::move(env),
                 .stdin_data = how.input,
                 .stdin_fd = how.input_fd,
                 .timeout = how.timeout};
}

Result<Completed> git_common(const SessionGit& g, const std::vector<std::string>& args,
                             const GitRun& how) {
  return run(git_command(g, args, how));
}

Result<std::string> git_ok(const SessionGit& g, const std::vector<std::string>& args,
                           const GitRun& how, const std::string& what) {
  Result<Completed> c = git_common(g, args, how);
  if (!c) return fail(c.error());
  if (!c->ok()) {
    return fail(Errc::io, "could not " + what + " (git " + args[0] + ": " +
                              c->err.substr(0, c->err.find('\n')) + ")");
  }
  return c->out;
}

std::string base_file(const SessionGit& g) {
  return g.private_refs.substr(0, g.private_refs.rfind('/')) + "/base";
}

}  // namespace para::sandbox
