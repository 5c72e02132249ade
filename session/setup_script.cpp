#include "session/setup_script.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "core/fd.h"
#include "core/fs.h"
#include "core/process.h"
#include "session/internal.h"

namespace para::session {

Result<std::optional<std::string>> find_setup_script(
    const Repo& repo, const std::optional<std::string>& explicit_path, const std::string& cwd) {
  namespace fs = std::filesystem;
  auto resolve = [](const std::string& path, const std::string& base) {
    return path[0] == '/' ? path : (fs::path(base) / path).lexically_normal().string();
  };
  std::error_code ec;
  if (explicit_path) {
    if (explicit_path->empty())
      return fail(Errc::invalid_argument, "the setup script path is empty");
    const std::string path = resolve(*explicit_path, cwd.empty() ? current_dir() : cwd);
    if (!fs::is_regular_file(path, ec)) {
      return fail(Errc::not_found, "the setup script " + path + " does not exist");
    }
    return std::optional<std::string>(path);
  }
  for (const char* name : {"setup-worktree.sh", "setup.sh"}) {
    const std::string path = repo.para_dir() + "/" + name;
    if (fs::is_regular_file(path, ec)) return std::optional<std::string>(path);
  }
  if (repo.config.setup_script) {
    const std::string path = resolve(*repo.config.setup_script, repo.root);
    if (!fs::is_regular_file(path, ec)) {
      return fail(Errc::not_found, "the configured setup_script " + path +
                                       " does not exist; fix it with para config set setup_script");
    }
    return std::optional<std::string>(path);
  }
  return std::optional<std::string>();
}

Result<void> run_setup_script(const Repo& repo, const SessionState& state,
                              const std::string& script) {
  Fd log(
      ::open(repo.log_path(state.name).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) return fail(Errc::io, "cannot open " + repo.log_path(state.name), errno);
  std::vector<std::string> env = current_environment();
  set_env(env, "PARA_WORKSPACE", state.worktree_path);
  set_env(env, "PARA_SESSION", state.name);
  const std::string header = "[para] running setup script " + script + "\n";
  (void)!::write(log.get(), header.data(), header.size());
  Result<pid_t> pid = spawn(SpawnOptions{.argv = {"bash", script},
                                         .env = env,
                                         .cwd = state.worktree_path,
                                         .stdout_fd = log.get(),
                                         .stderr_fd = log.get()});
  if (!pid) return fail(pid.error());
  Result<ExitStatus> status = wait_for(*pid, std::chrono::minutes(30));
  if (!status) {
    ::kill(-*pid, SIGKILL);
    (void)wait_for(*pid, std::nullopt);
    return fail(Errc::timeout,
                "the setup script " + script + " ran for 30 minutes and was stopped");
  }
  if (status->exit_code != 0) {
    // The failed start is rolled back, log included: its end goes into the error.
    auto [lines, truncated] = tail_lines(repo.log_path(state.name), 20);
    std::string output = "\nIts last output:";
    if (truncated) output += "\n  ...";
    for (const std::string& line : lines) output += "\n  " + line.substr(0, 400);
    return fail(Errc::tool_failed,
                "the setup script " + script + " failed (" +
                    (status->term_signal ? "signal " + std::to_string(status->term_signal)
                                         : "exit code " + std::to_string(status->exit_code)) +
                    "). Fix the script, or pass --setup-script with another one." + output);
  }
  return {};
}

}  // namespace para::session
