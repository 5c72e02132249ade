// Shell completion: `para completion bash|zsh|fish` prints a script that
// asks the binary itself (the hidden `para __complete -- WORDS...`) for the
// candidates, so commands, options and session names always match this
// build's command table and this repository's sessions.
//
// `__complete` prints one line saying what kind of answer follows, then the
// candidates, one per line:
//   words   the candidates (possibly none)
//   files   none: the shell completes file names itself

#include <algorithm>
#include <functional>
#include <set>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/process.h"
#include "sandbox/policy.h"
#include "session/config.h"
#include "session/ops.h"
#include "session/repo.h"
#include "session/store.h"

namespace para::cli {
namespace {

using nlohmann::json;

struct Answer {
  bool files = false;
  std::vector<std::string> words;
};

// What `para` knows beyond its command table: read only when asked.
struct Sources {
  std::function<std::vector<std::string>()> sessions, archived, config_keys;
};

// "MESSAGE [SESSION]" -> {"MESSAGE", "SESSION"}; "[-- COMMAND...]" -> {"--", "COMMAND"}.
std::vector<std::string> positional_slots(const std::string& usage) {
  std::vector<std::string> slots;
  std::string word;
  for (size_t i = 0; i <= usage.size(); ++i) {
    const char c = i < usage.size() ? usage[i] : ' ';
    if (c == '[' || c == ']') continue;
    if (c != ' ') {
      word += c;
      continue;
    }
    if (word.ends_with("...")) word.resize(word.size() - 3);
    if (!word.empty()) slots.push_back(word);
    word.clear();
  }
  return slots;
}

const Option* find_option(const CommandSpec& spec, const std::string& word) {
  for (const Option& o : spec.options) {
    if (word == "--" + o.long_name) return &o;
    if (o.short_name != 0 && word == std::string("-") + o.short_name) return &o;
  }
  return nullptr;
}

Answer value_of(const CommandSpec& spec, const Option& o, const Sources& from) {
  if (o.value_name == "FILE" || o.value_name == "DIR" || o.value_name == "HOST_PATH:NAME") {
    return {.files = true};
  }
  if (o.value_name == "PROFILE") return {.words = sandbox::profile_names()};
  if (o.long_name == "tests") return {.words = {"passed", "failed", "unknown"}};
  if (o.long_name == "session" && spec.path.front() != "proxy") return {.words = from.sessions()};
  return {};
}

Answer positional(const CommandSpec& spec, size_t index, const Sources& from) {
  const std::vector<std::string> slots = positional_slots(spec.positionals);
  if (index >= slots.size()) return {.files = spec.passthrough};
  const std::string& slot = slots[index];
  if (slot == "--") return {.words = {"--"}};
  if (slot == "SESSION") {
    return {.words = spec.path.front() == "recover" ? from.archived() : from.sessions()};
  }
  if (slot == "KEY") return {.words = from.config_keys()};
  if (slot == "SHELL") return {.words = {"bash", "fish", "zsh"}};
  if (slot == "DIR") return {.files = true};
  return {};
}

// The candidates for the last of `words` (what follows "para"; the last is
// the word being completed, possibly empty).
Answer candidates(const std::vector<Command>& table, const std::vector<std::string>& words,
                  const Sources& from) {
  const std::vector<std::string> before(words.begin(), words.end() - 1);
  // The longest command whose path the words start with, as dispatch picks.
  const Command* command = nullptr;
  for (const Command& c : table) {
    const auto& path = c.spec.path;
    if (path.size() > before.size() || !std::equal(path.begin(), path.end(), before.begin()))
      continue;
    if (command == nullptr || path.size() > command->spec.path.size()) command = &c;
  }
  const size_t depth = command ? command->spec.path.size() : 0;
  Answer answer;
  // Command words: the next word of the paths that extend what is typed.
  if (command == nullptr || before.size() == depth) {
    for (const Command& c : table) {
      const auto& path = c.spec.path;
      if (c.spec.hidden || path.size() <= before.size() ||
          !std::equal(before.begin(), before.end(), path.begin())) {
        continue;
      }
      answer.words.push_back(path[before.size()]);
    }
  }
  if (command == nullptr) return answer;
  const CommandSpec& spec = command->spec;
  const std::string& current = words.back();
  size_t given = 0;
  for (size_t i = depth; i < before.size(); ++i) {
    const std::string& w = before[i];
    if (w == "--" && spec.passthrough) return {.files = true};  // the command to run
    if (w.starts_with("-") && w.size() > 1) {
      const Option* o = find_option(spec, w);
      if (o != nullptr && !o->value_name.empty()) {
        if (i + 1 == before.size()) return value_of(spec, *o, from);
        ++i;  // its value
      }
      continue;
    }
    ++given;
  }
  if (current.starts_with("-")) {
    answer.words.clear();
    for (const Option& o : spec.options) {
      if (!o.hidden) answer.words.push_back("--" + o.long_name);
    }
    answer.words.push_back("--help");
    if (spec.passthrough) answer.words.push_back("--");
    return answer;
  }
  Answer slot = positional(spec, given, from);
  if (slot.files) return slot;
  answer.words.insert(answer.words.end(), slot.words.begin(), slot.words.end());
  return answer;
}

Sources repository_sources() {
  auto repo = [] { return session::open_repo(session::current_dir()); };
  return Sources{
      .sessions =
          [repo] {
            Result<session::Repo> r = repo();
            return r ? session::session_names(*r) : std::vector<std::string>{};
          },
      .archived =
          [repo] {
            std::vector<std::string> names;
            Result<session::Repo> r = repo();
            if (!r) return names;
            Result<json> listed = session::list_sessions(*r, {.archived = true});
            if (!listed) return names;
            for (const json& a : (*listed)["archived"]) names.push_back(a.value("name", ""));
            return names;
          },
      .config_keys = session::settable_config_keys,
  };
}

int run_complete(const Args& a) {
  std::vector<std::string> words = a.rest();
  if (words.empty()) words.push_back("");
  Answer answer = candidates(all_commands(), words, repository_sources());
  std::set<std::string> sorted;
  for (const std::string& w : answer.words) {
    if (w.starts_with(words.back())) sorted.insert(w);
  }
  std::string out = answer.files ? "files\n" : "words\n";
  for (const std::string& w : sorted) out += w + "\n";
  print(out);
  return kExitOk;
}

// 'text' with every ' made safe inside single quotes.
std::string single_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string bash_script(const std::string& para) {
  return "# para completion for bash: eval \"$(para completion bash)\" in ~/.bashrc\n"
         "_para() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} kind line\n"
         "  local -a found=()\n"
         "  {\n"
         "    IFS= read -r kind\n"
         "    while IFS= read -r line; do found+=(\"$line\"); done\n"
         "  } < <(" +
         para +
         " __complete -- \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null)\n"
         "  if [[ $kind == files ]]; then\n"
         "    compopt -o filenames 2>/dev/null\n"
         "    local IFS=$'\\n'\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=(\"${found[@]}\")\n"
         "  fi\n"
         "}\n"
         "complete -F _para para\n";
}

std::string zsh_script(const std::string& para) {
  return "#compdef para\n"
         "# para completion for zsh: eval \"$(para completion zsh)\" in ~/.zshrc, after "
         "compinit\n"
         "_para() {\n"
         "  local -a found\n"
         "  found=(\"${(@f)$(" +
         para +
         " __complete -- \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
         "  if [[ ${found[1]} == files ]]; then\n"
         "    _files\n"
         "  else\n"
         "    shift found\n"
         "    compadd -Q -- \"${(@)found:#}\"\n"
         "  fi\n"
         "}\n"
         "if (( $+functions[compdef] )); then compdef _para para; fi\n";
}

std::string fish_script(const std::string& para) {
  return "# para completion for fish: para completion fish | source (or save it as\n"
         "# ~/.config/fish/completions/para.fish)\n"
         "function __para_complete\n"
         "    set -l words (commandline -opc)[2..-1] (commandline -ct)\n"
         "    set -l found (" +
         para +
         " __complete -- $words 2>/dev/null)\n"
         "    if test \"$found[1]\" = files\n"
         "        __fish_complete_path (commandline -ct)\n"
         "    else\n"
         "        printf '%s\\n' $found[2..-1]\n"
         "    end\n"
         "end\n"
         "complete -c para -f -a '(__para_complete)'\n";
}

int run_completion(const Args& a) {
  const std::string shell = *a.positional(0);
  // The script calls this very binary, wherever it is installed.
  const std::string self = self_executable();
  const std::string para = single_quoted(self.empty() ? "para" : self);
  if (shell == "bash") {
    print(bash_script(para));
  } else if (shell == "zsh") {
    print(zsh_script(para));
  } else if (shell == "fish") {
    print(fish_script(para));
  } else {
    report_error(fail(Errc::invalid_argument, "para completion knows bash, zsh and fish, not '" +
                                                  shell +
                                                  "'; e.g. eval \"$(para completion bash)\""));
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> completion_commands() {
  return {
      {{.path = {"completion"},
        .summary = "Print a shell completion script (bash, zsh or fish)",
        .positionals = "SHELL",
        .min_positionals = 1,
        .max_positionals = 1,
        .details = "bash: eval \"$(para completion bash)\" in ~/.bashrc\n"
                   "zsh:  eval \"$(para completion zsh)\" in ~/.zshrc, after compinit\n"
                   "fish: para completion fish > ~/.config/fish/completions/para.fish"},
       run_completion},
      {{.path = {"__complete"},
        .summary = "Completion candidates for the words after --, for the scripts",
        .positionals = "-- WORDS...",
        .passthrough = true,
        .hidden = true},
       run_complete},
  };
}

}  // namespace para::cli
