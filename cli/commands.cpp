#include "cli/commands.h"

#include "core/fs.h"
#include "session/repo.h"

#include <unistd.h>

#include <cerrno>

namespace para::cli {
namespace {

std::string top_help() {
  std::string out =
      "para runs AI coding agents in parallel, each in its own git worktree and branch,\n"
      "inside a sandbox.\n\nUsage: para <COMMAND> [OPTIONS]\n\nCommands:\n";
  for (const Command& c : all_commands()) {
    if (c.spec.hidden) continue;
    std::string name;
    for (const std::string& p : c.spec.path) name += (name.empty() ? "" : " ") + p;
    std::string line = "  " + name;
    if (line.size() < 22) line.resize(22, ' ');
    out += line + c.spec.summary + "\n";
  }
  out +=
      "\nRun 'para <COMMAND> --help' for the options of a command.\n"
      "Exit codes: 0 success; 1 the operation failed or refused a name or value; 2 the\n"
      "command line is wrong (unknown command or option, missing or extra arguments; for\n"
      "sandbox commands also an option value they cannot use).\n";
  return out;
}

}  // namespace

void print(const std::string& text) {
  write_all(STDOUT_FILENO, text);
}

void print_json(const nlohmann::json& value) {
  print(value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

int report_error(const Error& error, bool json) {
  if (json) {
    print_json({{"error", {{"code", errc_name(error.code)}, {"message", error.message}}}});
  }
  write_all(STDERR_FILENO, "para: " + error.message + "\n");
  return kExitFailed;
}

const std::vector<Command>& all_commands() {
  static const std::vector<Command> table = [] {
    std::vector<Command> all;
    for (auto family : {session_commands, monitor_commands, sandbox_commands, proxy_commands,
                        mcp_commands, docker_commands, completion_commands}) {
      for (Command& c : family()) all.push_back(std::move(c));
    }
    return all;
  }();
  return table;
}

int dispatch(const std::vector<std::string>& words) {
  // para's habit: bare `para` in a terminal, in a repository, is the monitor.
  if (words.empty() && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO) &&
      session::open_repo(session::current_dir())) {
    return run_monitor({});
  }
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print(top_help());
    return words.empty() ? kExitUsage : kExitOk;
  }
  if (words[0] == "--version" || words[0] == "-V") {
    print("para " PARA_VERSION "\n");
    return kExitOk;
  }
  // The longest command path that prefixes the words wins ("config set").
  const Command* best = nullptr;
  for (const Command& c : all_commands()) {
    const auto& path = c.spec.path;
    if (path.size() > words.size()) continue;
    if (!std::equal(path.begin(), path.end(), words.begin())) continue;
    if (best == nullptr || path.size() > best->spec.path.size()) best = &c;
  }
  if (best == nullptr) {
    write_all(STDERR_FILENO, "para: unknown command '" + words[0] + "' (see para --help)\n");
    return kExitUsage;
  }
  std::vector<std::string> rest(words.begin() + static_cast<long>(best->spec.path.size()),
                                words.end());
  for (const std::string& w : rest) {
    if (w == "--") break;
    if (w == "--help" || w == "-h") {
      print(help_text(best->spec));
      return kExitOk;
    }
  }
  Result<Args> args = parse_args(best->spec, rest);
  if (!args) {
    write_all(STDERR_FILENO, "para: " + args.error().message + "\n");
    return kExitUsage;
  }
  return best->run(*args);
}

}  // namespace para::cli
