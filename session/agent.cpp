#include "session/agent.h"

namespace para::session {

Result<std::vector<std::string>> expand_agent_command(const std::vector<std::string>& command,
                                                      const AgentValues& values) {
  if (command.empty() || command[0].empty()) {
    return fail(Errc::invalid_argument,
                "the agent command is empty; set [agent] command in the config, e.g. "
                "command = [\"claude\", \"-p\", \"{prompt}\"]");
  }
  const std::pair<const char*, const std::string*> table[] = {
      {"{prompt}", &values.prompt},
      {"{prompt_file}", &values.prompt_file},
      {"{session}", &values.session},
      {"{worktree}", &values.worktree},
  };
  std::vector<std::string> argv;
  argv.reserve(command.size());
  for (const std::string& element : command) {
    std::string out;
    size_t i = 0;
    while (i < element.size()) {
      bool replaced = false;
      if (element[i] == '{') {
        for (const auto& [token, value] : table) {
          const size_t n = std::char_traits<char>::length(token);
          if (element.compare(i, n, token) == 0) {
            out += *value;
            i += n;
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) out += element[i++];
    }
    if (out.size() > kMaxArgLength) {
      return fail(Errc::invalid_argument,
                  "the prompt is too long to pass as one command-line argument (" +
                      std::to_string(out.size()) + " bytes; Linux allows " +
                      std::to_string(kMaxArgLength) +
                      "). Use {prompt_file} instead of {prompt} in [agent] command, or pass the "
                      "prompt with --file and a shorter text.");
    }
    argv.push_back(std::move(out));
  }
  return argv;
}

std::string agent_instructions(const std::string& session) {
  return "<!-- Para Agent Instructions - DO NOT COMMIT -->\n"
         "# Working in a para session\n\n"
         "You are working in the para session `" +
         session +
         "`: a git worktree on its own\n"
         "branch. Your work is reviewed on that branch; nothing is merged automatically.\n\n"
         "## Report your status often\n\n"
         "Run this after every meaningful step (and after each todo update):\n\n"
         "    para status \"<what you are doing, 5 words max>\" --tests passed|failed|unknown"
         " [--todos DONE/TOTAL] [--blocked]\n\n"
         "- `--tests` is the state of the whole test suite, not one test.\n"
         "- `--blocked` when you cannot continue without help; the task text says why.\n\n"
         "## Finish\n\n"
         "When the work is complete and the tests pass, run:\n\n"
         "    para finish \"<commit message>\"\n\n"
         "This commits your changes to the session branch for review.\n";
}

}  // namespace para::session
