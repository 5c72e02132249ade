#include "tests/integration/sandbox/session_fixture.h"

#include <filesystem>

namespace para::test {

void write_user_config(const ParaRepo& r, const std::string& agent, const std::string& more) {
  const std::string dir = r.repo().home() + "/.config/para";
  std::filesystem::create_directories(dir);
  write_text(
      dir + "/config.toml",
      "[agent]\ncommand = " + nlohmann::json::array({agent}).dump() +
          "\n\n[proxy]\nresolve = [\"allowed.test:127.0.0.1\", \"denied.test:127.0.0.1\"]\n\n" +
          more);
}

bool agent_done(const ParaRepo& r, const std::string& name) {
  const nlohmann::json s = session_state(r, name);
  if (!s.is_object() || !s.contains("agent")) return false;
  const nlohmann::json& a = s["agent"];
  const std::string state = a.value("state", "");
  if (state == "running" || state == "starting") return false;
  // The supervisor records the exit, then exits itself; resume waits for that.
  return !(a.contains("supervisor_pid") && a["supervisor_pid"].is_number() &&
           pid_alive(a["supervisor_pid"].get<int>()));
}

std::string session_log(const ParaRepo& r, const std::string& name) {
  return read_text(r.state_dir() + "/" + name + ".log");
}

Completed para_with_env(const ParaRepo& r, const std::vector<std::string>& args,
                        const std::vector<std::string>& changes, const std::string& cwd) {
  std::vector<std::string> env = r.env();
  for (const std::string& c : changes) {
    const size_t eq = c.find('=');
    if (eq + 1 == c.size()) {
      unset_env(env, c.substr(0, eq));
    } else {
      set_env(env, c.substr(0, eq), c.substr(eq + 1));
    }
  }
  std::vector<std::string> argv = {built_binary("para")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env, cwd.empty() ? r.path() : cwd);
}

nlohmann::json session_state(const ParaRepo& r, const std::string& name) {
  return nlohmann::json::parse(read_text(r.state_dir() + "/" + name + ".state"), nullptr, false);
}

}  // namespace para::test
