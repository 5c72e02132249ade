#include "cli/args.h"

#include <cstdint>
#include <sstream>

namespace para::cli {
namespace {

const Option* find_long(const CommandSpec& spec, const std::string& name) {
  for (const Option& o : spec.options) {
    if (o.long_name == name) return &o;
  }
  return nullptr;
}

const Option* find_short(const CommandSpec& spec, char c) {
  for (const Option& o : spec.options) {
    if (o.short_name == c) return &o;
  }
  return nullptr;
}

std::string command_name(const CommandSpec& spec) {
  std::string out = "para";
  for (const std::string& p : spec.path) out += " " + p;
  return out;
}

}  // namespace

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& Args::values(const std::string& name) const {
  static const std::vector<std::string> kEmpty;
  auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

std::optional<std::string> Args::positional(size_t i) const {
  if (i >= positionals_.size()) return std::nullopt;
  return positionals_[i];
}

Result<Args> parse_args(const CommandSpec& spec, const std::vector<std::string>& words) {
  Args args;
  const std::string cmd = command_name(spec);
  auto take = [&](const Option& o, const std::string& v) -> Result<void> {
    auto& list = args.values_[o.long_name];
    if (!o.repeatable && !o.comma_list && !list.empty()) {
      return fail(Errc::invalid_argument, cmd + ": --" + o.long_name + " was given twice");
    }
    if (o.comma_list) {
      size_t start = 0;
      while (start <= v.size()) {
        size_t end = v.find(',', start);
        if (end == std::string::npos) end = v.size();
        std::string item = v.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) list.push_back(item);
        start = end + 1;
      }
    } else {
      list.push_back(v);
    }
    return {};
  };

  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") {
      if (!spec.passthrough) {
        for (size_t j = i + 1; j < words.size(); ++j) args.positionals_.push_back(words[j]);
      } else {
        args.rest_.assign(words.begin() + static_cast<long>(i) + 1, words.end());
      }
      break;
    }
    if (w.size() > 2 && w.compare(0, 2, "--") == 0) {
      std::string name = w.substr(2);
      std::optional<std::string> inline_value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      const Option* o = find_long(spec, name);
      if (o == nullptr) {
        return fail(Errc::invalid_argument,
                    cmd + ": unknown option --" + name + " (see " + cmd + " --help)");
      }
      if (o->value_name.empty()) {
        if (inline_value) {
          return fail(Errc::invalid_argument, cmd + ": --" + name + " takes no value");
        }
        args.flags_[name]++;
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= words.size()) {
          return fail(Errc::invalid_argument,
                      cmd + ": --" + name + " needs a value (" + o->value_name + ")");
        }
        inline_value = words[++i];
      }
      if (auto r = take(*o, *inline_value); !r) return fail(r.error());
      continue;
    }
    if (w.size() > 1 && w[0] == '-' && w != "-") {
      // One or more short flags; the last may take a value ("-p TEXT", "-pTEXT").
      for (size_t k = 1; k < w.size(); ++k) {
        const Option* o = find_short(spec, w[k]);
        if (o == nullptr) {
          return fail(Errc::invalid_argument, cmd + ": unknown option -" + std::string(1, w[k]) +
                                                  " (see " + cmd + " --help)");
        }
        if (o->value_name.empty()) {
          args.flags_[o->long_name]++;
          continue;
        }
        std::string v;
        if (k + 1 < w.size()) {
          v = w.substr(k + 1);
        } else if (i + 1 < words.size()) {
          v = words[++i];
        } else {
          return fail(Errc::invalid_argument, cmd + ": -" + std::string(1, w[k]) +
                                                  " needs a value (" + o->value_name + ")");
        }
        if (auto r = take(*o, v); !r) return fail(r.error());
        break;
      }
      continue;
    }
    args.positionals_.push_back(w);
  }
  const std::string usage =
      " (usage: " + cmd + (spec.positionals.empty() ? "" : " " + spec.positionals) + ")";
  if (args.positionals_.size() < spec.min_positionals) {
    return fail(Errc::invalid_argument, cmd + ": missing argument" + usage);
  }
  if (args.positionals_.size() > spec.max_positionals) {
    return fail(Errc::invalid_argument, cmd + ": unexpected argument '" +
                                            args.positionals_[spec.max_positionals] + "'" + usage);
  }
  return args;
}

std::string help_text(const CommandSpec& spec) {
  std::ostringstream out;
  out << "Usage: " << command_name(spec);
  if (!spec.options.empty()) out << " [OPTIONS]";
  if (!spec.positionals.empty()) out << " " << spec.positionals;
  out << "\n\n" << spec.summary << "\n";
  if (!spec.details.empty()) out << "\n" << spec.details << "\n";
  bool any = false;
  for (const Option& o : spec.options) {
    if (o.hidden) continue;
    if (!any) out << "\nOptions:\n";
    any = true;
    std::string left = "  ";
    left += o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ");
    left += "--" + o.long_name;
    if (!o.value_name.empty()) left += " " + o.value_name;
    if (left.size() < 32)
      left.resize(32, ' ');
    else
      left += "\n" + std::string(32, ' ');
    out << left << o.help << "\n";
  }
  out << "  -h, --help                    Print this help\n";
  return out.str();
}

}  // namespace para::cli
