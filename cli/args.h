#pragma once

// Command-line parsing for the para CLI: a table of commands, each with its
// options and positionals, and --help generated from that table.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace para::cli {

struct Option {
  std::string long_name;   // "prompt" for --prompt
  char short_name = 0;     // 'p' for -p, 0 for none
  std::string value_name;  // empty: a flag without a value
  std::string help;
  bool repeatable = false;  // may be given more than once
  bool comma_list = false;  // values are split on ',' (implies repeatable)
  bool hidden = false;
};

struct CommandSpec {
  std::vector<std::string> path;  // {"config", "set"}
  std::string summary;            // one line for `para --help`
  std::string positionals;        // usage text: "MESSAGE [SESSION]"
  size_t min_positionals = 0;
  size_t max_positionals = 0;  // SIZE_MAX for any number
  std::vector<Option> options;
  bool passthrough = false;  // everything after "--" is kept verbatim
  bool hidden = false;
  std::string details;  // extra paragraphs for --help
};

class Args {
 public:
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::string> value(const std::string& name) const;
  const std::vector<std::string>& values(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  std::optional<std::string> positional(size_t i) const;
  const std::vector<std::string>& rest() const { return rest_; }  // after "--"
  bool json() const { return flag("json"); }

 private:
  friend Result<Args> parse_args(const CommandSpec&, const std::vector<std::string>&);
  std::map<std::string, int> flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  std::vector<std::string> rest_;
};

/// Parses the words after the command path. Errors: invalid_argument with a
/// message naming the bad option (the CLI exits 2).
Result<Args> parse_args(const CommandSpec& spec, const std::vector<std::string>& words);

/// The --help text of one command.
std::string help_text(const CommandSpec& spec);

}  // namespace para::cli
