#include "tests/integration/sessions/para_repo.h"

#include <signal.h>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/json_schema.h"
#include "schemas/schemas.h"

namespace para::test {
namespace fs = std::filesystem;

ParaRepo::ParaRepo(bool with_commit) : repo_(with_commit), scratch_("para-scratch") {
  env_ = repo_.env();
  env_.push_back("PARA_TEST_SCRATCH=" + scratch_.path());
}

namespace {

// Owner permissions throughout, so that remove_all can enter every
// directory (overlayfs leaves its work/work at mode 000).
void make_removable(const fs::path& dir) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) make_removable(e.path());
  }
}

}  // namespace

ParaRepo::~ParaRepo() {
  kill_everything();
  // The sessions' runtime directories (<tmp>/para-<uid>/<hash>-<name>) go
  // with the repository, as `para clean` would remove them.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir(), ec)) {
    if (e.path().extension() != ".state") continue;
    nlohmann::json s = nlohmann::json::parse(read_text(e.path().string()), nullptr, false);
    if (s.is_discarded() || !s.contains("runtime_dir") || !s["runtime_dir"].is_string()) continue;
    const fs::path runtime = s["runtime_dir"].get<std::string>();
    if (runtime.is_absolute() && runtime.parent_path().filename().string().rfind("para-", 0) == 0) {
      make_removable(runtime);
      fs::remove_all(runtime, ec);
    }
  }
}

std::string ParaRepo::script(const std::string& name, const std::string& body) const {
  // Under HOME: sandboxes hide /tmp but show the home directory (read-only).
  fs::create_directories(repo_.home() + "/agents");
  const std::string path = repo_.home() + "/agents/" + name;
  write_text(path, body, 0755);
  return path;
}

void ParaRepo::set_agent(const std::vector<std::string>& command) const {
  nlohmann::json arr = command;
  fs::create_directories(repo_.home() + "/.config/para");
  // A JSON array of strings is valid TOML.
  write_text(repo_.home() + "/.config/para/config.toml", "[agent]\ncommand = " + arr.dump() + "\n");
}

Completed ParaRepo::para(const std::vector<std::string>& args, const std::string& cwd,
                         const std::string& stdin_data) const {
  std::vector<std::string> argv = {built_binary("para")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env_, cwd.empty() ? repo_.path() : cwd, stdin_data);
}

nlohmann::json ParaRepo::para_json(const std::vector<std::string>& args,
                                   const std::string& cwd) const {
  std::vector<std::string> with = args;
  with.push_back("--json");
  Completed c = para(with, cwd);
  nlohmann::json doc = nlohmann::json::parse(c.out, nullptr, false);
  INFO("para " << args[0] << " stdout: " << c.out << " stderr: " << c.err);
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

std::string ParaRepo::snapshot() const {
  std::string out = "== worktrees\n" + repo_.git({"worktree", "list", "--porcelain"}).out;
  out += "== branches\n" + repo_.git({"branch", "-a", "-v", "--no-abbrev"}).out;
  out += "== status\n" + repo_.git({"status", "--porcelain", "--untracked-files=all"}).out;
  out += "== state\n";
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(state_dir(), ec)) {
    if (e.is_regular_file()) {
      files.push_back(e.path().string().substr(state_dir().size()) + ": " +
                      read_text(e.path().string()));
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) out += f + "\n";
  return out;
}

void ParaRepo::kill_everything() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir(), ec)) {
    if (e.path().extension() != ".state") continue;
    nlohmann::json s = nlohmann::json::parse(read_text(e.path().string()), nullptr, false);
    if (s.is_discarded() || !s.contains("agent")) continue;
    for (const char* key : {"supervisor_pid", "pid"}) {
      if (s["agent"].contains(key) && s["agent"][key].is_number()) {
        const int pid = s["agent"][key].get<int>();
        if (pid > 1) {
          ::kill(-pid, SIGKILL);
          ::kill(pid, SIGKILL);
        }
      }
    }
  }
}

void check_output_schema(const std::string& tool, const nlohmann::json& doc) {
  const std::vector<std::string> errors =
      validate_json(schemas::get("tools/" + tool + ".output"), doc, tool);
  INFO(doc.dump(2));
  for (const std::string& e : errors) FAIL_CHECK(e);
}

std::vector<int> read_pids(const std::string& path) {
  std::vector<int> pids;
  std::ifstream in(path);
  int pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

bool pid_alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  if (text.empty()) return false;
  const size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

std::vector<std::string> live_supervisors(const std::string& repo) {
  std::vector<std::string> sessions;
  const std::string marker = std::string("__supervise") + '\0' + repo + '\0';
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string cmdline = read_text(e.path() / "cmdline");  // "" once it exited
    const size_t at = cmdline.find(marker);
    if (at == std::string::npos) continue;
    const size_t name = at + marker.size();
    sessions.push_back(cmdline.substr(name, cmdline.find('\0', name) - name));
  }
  return sessions;
}

}  // namespace para::test
