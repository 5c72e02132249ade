#include "session/config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "core/display_text.h"
#include "core/fs.h"
#include "core/json_input.h"
#include "core/json_schema.h"
#include "core/log.h"
#include "schemas/schemas.h"

namespace para::session {
namespace {

using nlohmann::json;

json toml_to_json(const toml::node& node) {
  if (const toml::table* t = node.as_table()) {
    json out = json::object();
    for (auto&& [key, value] : *t) out[std::string(key.str())] = toml_to_json(value);
    return out;
  }
  if (const toml::array* a = node.as_array()) {
    json out = json::array();
    for (const toml::node& v : *a) out.push_back(toml_to_json(v));
    return out;
  }
  if (auto v = node.value_exact<std::string>()) return *v;
  if (auto v = node.value_exact<int64_t>()) return *v;
  if (auto v = node.value_exact<double>()) return *v;
  if (auto v = node.value_exact<bool>()) return *v;
  // Dates and times have no place in para's config; a placeholder object
  // makes validation report them as the wrong type.
  return json::object({{"toml_date_or_time", true}});
}

void json_to_toml(const json& value, toml::table& out, const std::string& key);

toml::array json_array_to_toml(const json& value) {
  toml::array arr;
  for (const json& item : value) {
    if (item.is_string())
      arr.push_back(item.get<std::string>());
    else if (item.is_boolean())
      arr.push_back(item.get<bool>());
    else if (item.is_number_integer())
      arr.push_back(item.get<int64_t>());
    else if (item.is_number())
      arr.push_back(item.get<double>());
    else if (item.is_array())
      arr.push_back(json_array_to_toml(item));
    else if (item.is_object()) {
      toml::table t;
      for (auto it = item.begin(); it != item.end(); ++it) json_to_toml(it.value(), t, it.key());
      arr.push_back(std::move(t));
    }
  }
  return arr;
}

void json_to_toml(const json& value, toml::table& out, const std::string& key) {
  if (value.is_object()) {
    toml::table t;
    for (auto it = value.begin(); it != value.end(); ++it) json_to_toml(it.value(), t, it.key());
    out.insert_or_assign(key, std::move(t));
  } else if (value.is_array()) {
    out.insert_or_assign(key, json_array_to_toml(value));
  } else if (value.is_string()) {
    out.insert_or_assign(key, value.get<std::string>());
  } else if (value.is_boolean()) {
    out.insert_or_assign(key, value.get<bool>());
  } else if (value.is_number_integer()) {
    out.insert_or_assign(key, value.get<int64_t>());
  } else if (value.is_number()) {
    out.insert_or_assign(key, value.get<double>());
  }
  // null: the key is left out, which is how TOML says "not set".
}

std::string json_sibling(const std::string& toml_path) {
  const std::filesystem::path p(toml_path);
  return (p.parent_path() / "config.json").string();
}

// para's config.json carries keys we do not have (and a migration wrote
// sandbox.profile "permissive-open"); keep only what our schema knows.
json from_para_json(const json& doc) {
  json out = json::object();
  for (const char* section : {"git", "directories", "session", "sandbox", "docker", "ide"}) {
    if (doc.contains(section) && doc[section].is_object()) out[section] = doc[section];
  }
  if (doc.contains("setup_script") && doc["setup_script"].is_string()) {
    out["setup_script"] = doc["setup_script"];
  }
  if (out.contains("docker")) {
    for (auto it = out["docker"].begin(); it != out["docker"].end();) {
      it = it.value().is_null() ? out["docker"].erase(it) : std::next(it);
    }
  }
  if (out.contains("session") && out["session"].contains("auto_cleanup_days") &&
      out["session"]["auto_cleanup_days"].is_null()) {
    out["session"].erase("auto_cleanup_days");
  }
  return out;
}

template <class T>
void take(const json& doc, const char* section, const char* key, T& out) {
  if (doc.contains(section) && doc[section].is_object() && doc[section].contains(key)) {
    out = doc[section][key].get<T>();
  }
}

template <class T>
void take_opt(const json& doc, const char* section, const char* key, std::optional<T>& out) {
  if (doc.contains(section) && doc[section].is_object() && doc[section].contains(key)) {
    out = doc[section][key].get<T>();
  }
}

void append_unique(std::vector<std::string>& into, const std::vector<std::string>& more) {
  for (const std::string& s : more) {
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
  }
}

// Keys a project file cannot set. The project file is whatever the
// repository's committers (or an agent whose branch was merged) put there;
// these keys decide what an agent runs, where its files go, what it may write
// or reach and which secrets it gets. A prefix covers its whole section.
constexpr const char* kUserOnlyKeys[] = {"agent",
                                         "directories",
                                         "sandbox.extra_writable",
                                         "sandbox.allow_local_destinations",
                                         "sandbox.forward_env",
                                         "sandbox.fail_open",
                                         "sandbox.enforce",
                                         "proxy.resolve",
                                         "docker.forward_env_keys"};

bool is_user_only(const std::string& key) {
  for (const std::string prefix : kUserOnlyKeys) {
    if (key == prefix || key.rfind(prefix + ".", 0) == 0) return true;
  }
  return false;
}

// Removes the user-only keys from a project document, naming each in `dropped`.
json without_user_only_keys(json doc, std::vector<std::string>& dropped) {
  for (const std::string key : kUserOnlyKeys) {
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
      if (doc.contains(key)) dropped.push_back(key), doc.erase(key);
      continue;
    }
    const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    if (doc.contains(section) && doc[section].is_object() && doc[section].contains(name)) {
      dropped.push_back(key);
      doc[section].erase(name);
    }
  }
  return doc;
}

// 0 off, 1 sandboxed with the host network, 2 network only through the proxy.
int sandbox_strength(const SandboxConfig& s) {
  if (!s.enabled) return 0;
  return s.profile == "standard-proxied" ? 2 : 1;
}

// Applies one validated file on top of the config. `is_user` decides
// whether lists replace or extend; a project document has had its
// user-only keys removed.
void apply(Config& c, const json& doc, bool is_user) {
  take(doc, "agent", "command", c.agent_command);
  take(doc, "agent", "skip_permissions_args", c.skip_permissions_args);
  take(doc, "git", "branch_prefix", c.branch_prefix);
  take(doc, "git", "auto_stage", c.auto_stage);
  take(doc, "directories", "subtrees_dir", c.subtrees_dir);
  take(doc, "directories", "state_dir", c.state_dir);
  take(doc, "session", "preserve_on_finish", c.preserve_on_finish);
  take(doc, "session", "auto_cleanup_days", c.auto_cleanup_days);
  take(doc, "session", "max_archives", c.max_archives);
  if (doc.contains("setup_script")) c.setup_script = doc["setup_script"].get<std::string>();

  take(doc, "sandbox", "enabled", c.sandbox.enabled);
  take(doc, "sandbox", "profile", c.sandbox.profile);
  std::vector<std::string> list;
  if (list.clear(), take(doc, "sandbox", "allowed_domains", list), !list.empty()) {
    append_unique(c.sandbox.allowed_domains, list);
  }
  if (list.clear(), take(doc, "sandbox", "denied_domains", list), !list.empty()) {
    append_unique(c.sandbox.denied_domains, list);
  }
  if (doc.contains("sandbox") && doc["sandbox"].contains("deny_read")) {
    auto paths = doc["sandbox"]["deny_read"].get<std::vector<std::string>>();
    // The user's list replaces the default secret stores; a project can only add.
    if (is_user)
      c.sandbox.deny_read = paths;
    else
      append_unique(c.sandbox.deny_read_extra, paths);
  }
  if (list.clear(), take(doc, "sandbox", "extra_writable", list), !list.empty()) {
    append_unique(c.sandbox.extra_writable, list);
  }
  take(doc, "sandbox", "allow_local_destinations", c.sandbox.allow_local_destinations);
  take(doc, "sandbox", "fail_open", c.sandbox.fail_open);
  take(doc, "sandbox", "enforce", c.sandbox.enforce);
  take(doc, "sandbox", "forward_env", c.sandbox.forward_env);
  take(doc, "proxy", "resolve", c.proxy.resolve);

  take(doc, "proxy", "port", c.proxy.port);
  take(doc, "proxy", "max_connections", c.proxy.max_connections);
  take(doc, "proxy", "idle_timeout_seconds", c.proxy.idle_timeout_seconds);
  take(doc, "proxy", "head_timeout_seconds", c.proxy.head_timeout_seconds);

  take_opt(doc, "docker", "default_image", c.docker.default_image);
  take_opt(doc, "docker", "forward_env_keys", c.docker.forward_env_keys);
  take_opt(doc, "docker", "setup_script", c.docker.setup_script);
  take_opt(doc, "docker", "memory", c.docker.memory);
  take_opt(doc, "docker", "cpus", c.docker.cpus);
  take_opt(doc, "docker", "pids_limit", c.docker.pids_limit);
}

// The project file on top of the user's: its user-only keys are ignored, and
// it may turn the sandbox on or make it stricter but never weaker than the
// user's (para let a project switch it off).
void apply_project(Config& c, const json& doc) {
  std::vector<std::string> dropped;
  const SandboxConfig users = c.sandbox;
  apply(c, without_user_only_keys(doc, dropped), false);
  if (!dropped.empty()) {
    std::string names;
    for (const std::string& key : dropped) names += (names.empty() ? "" : ", ") + key;
    log::warn("config") << c.project_file << " sets " << names
                        << ", which only your user config may set (a repository's file must "
                           "not change what agents run, write, reach or receive); ignored";
  }
  if (sandbox_strength(c.sandbox) < sandbox_strength(users)) {
    log::warn("config") << c.project_file << " asks for a weaker sandbox (enabled = "
                        << (c.sandbox.enabled ? "true" : "false")
                        << ", profile = " << c.sandbox.profile << ") than your user config "
                        << c.user_file << "; the user config's stands";
    c.sandbox.enabled = users.enabled;
    c.sandbox.profile = users.profile;
  }
}

json effective_json(const Config& c) {
  json sandbox = {{"enabled", c.sandbox.enabled},
                  {"profile", c.sandbox.profile},
                  {"allowed_domains", c.sandbox.allowed_domains},
                  {"denied_domains", c.sandbox.denied_domains},
                  {"extra_writable", c.sandbox.extra_writable},
                  {"forward_env", c.sandbox.forward_env},
                  {"allow_local_destinations", c.sandbox.allow_local_destinations},
                  {"fail_open", c.sandbox.fail_open},
                  {"enforce", c.sandbox.enforce}};
  if (c.sandbox.deny_read) sandbox["deny_read"] = *c.sandbox.deny_read;
  if (!c.sandbox.deny_read_extra.empty()) sandbox["deny_read_extra"] = c.sandbox.deny_read_extra;
  json docker = json::object();
  if (c.docker.default_image) docker["default_image"] = *c.docker.default_image;
  if (c.docker.forward_env_keys) docker["forward_env_keys"] = *c.docker.forward_env_keys;
  if (c.docker.setup_script) docker["setup_script"] = *c.docker.setup_script;
  if (c.docker.memory) docker["memory"] = *c.docker.memory;
  if (c.docker.cpus) docker["cpus"] = *c.docker.cpus;
  if (c.docker.pids_limit) docker["pids_limit"] = *c.docker.pids_limit;
  json out = {
      {"agent", {{"command", c.agent_command}, {"skip_permissions_args", c.skip_permissions_args}}},
      {"git", {{"branch_prefix", c.branch_prefix}, {"auto_stage", c.auto_stage}}},
      {"directories", {{"subtrees_dir", c.subtrees_dir}, {"state_dir", c.state_dir}}},
      {"session",
       {{"preserve_on_finish", c.preserve_on_finish},
        {"auto_cleanup_days", c.auto_cleanup_days},
        {"max_archives", c.max_archives}}},
      {"sandbox", sandbox},
      {"proxy",
       {{"port", c.proxy.port},
        {"max_connections", c.proxy.max_connections},
        {"idle_timeout_seconds", c.proxy.idle_timeout_seconds},
        {"head_timeout_seconds", c.proxy.head_timeout_seconds},
        {"resolve", c.proxy.resolve}}},
      {"docker", docker},
  };
  if (c.setup_script) out["setup_script"] = *c.setup_script;
  return out;
}

// The schema of a dotted key, or null if there is no such key.
const json* schema_for_key(const std::string& key) {
  const json* node = &schemas::get("config.schema");
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('.', start);
    if (end == std::string::npos) end = key.size();
    const std::string part = key.substr(start, end - start);
    if (!node->contains("properties") || !(*node)["properties"].contains(part)) return nullptr;
    node = &(*node)["properties"][part];
    start = end + 1;
  }
  return node;
}

std::vector<std::string> known_keys(const json& schema, const std::string& prefix) {
  std::vector<std::string> out;
  if (!schema.contains("properties")) return out;
  for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().contains("properties") && it.key() != "ide") {
      for (std::string& k : known_keys(it.value(), key)) out.push_back(std::move(k));
    } else if (it.key() != "ide") {
      out.push_back(key);
    }
  }
  return out;
}

std::string schema_type(const json& schema) {
  if (!schema.contains("type")) return "string";
  const json& t = schema["type"];
  return t.is_string() ? t.get<std::string>() : t[0].get<std::string>();
}

Result<json> type_value(const std::string& key, const json& schema, const json& value) {
  const std::string type = schema_type(schema);
  const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  auto wrong = [&](const std::string& expected) -> Error {
    return fail(Errc::invalid_argument,
                "config key " + key + " takes " + expected + ", not '" + text + "'");
  };
  if (type == "boolean") {
    if (value.is_boolean()) return value;
    if (text == "true") return json(true);
    if (text == "false") return json(false);
    return wrong("true or false");
  }
  if (type == "integer") {
    if (value.is_number_integer()) return value;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE) return wrong("a whole number");
    return json(v);
  }
  if (type == "number") {
    if (value.is_number()) return value;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v)) return wrong("a number");
    return json(v);
  }
  if (type == "array") {
    if (value.is_array()) return value;
    if (!value.is_string()) return wrong("a comma-separated list");
    json parsed = parse_untrusted_json(text);
    if (!parsed.is_discarded() && parsed.is_array()) return parsed;
    json list = json::array();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      std::string item = text.substr(start, end - start);
      const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
      item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
      if (!item.empty()) list.push_back(item);
      start = end + 1;
    }
    return list;
  }
  if (type == "object") return wrong("a table (edit the file with para config edit)");
  if (!value.is_string()) return wrong("text");
  return value;
}

}  // namespace

std::string user_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const std::string base =
      (xdg != nullptr && *xdg == '/') ? std::string(xdg) : home_directory() + "/.config";
  return base + "/para/config.toml";
}

std::string project_config_path(const std::string& repo_root) {
  return repo_root + "/.para/config.toml";
}

namespace {

// The worktree and state directories must be para's own: clean removes what
// it finds there, and neither may hold the other, the repository or .git.
// The schema has already refused absolute paths and "..".
std::optional<std::string> directories_problem(const std::string& subtrees,
                                               const std::string& state) {
  auto normal = [](const std::string& dir) {
    std::string n = std::filesystem::path(dir).lexically_normal().generic_string();
    while (n.size() > 1 && n.back() == '/') n.pop_back();
    return n;
  };
  auto inside = [](const std::string& inner, const std::string& outer) {
    return inner == outer || inner.rfind(outer + "/", 0) == 0;
  };
  const std::string sub = normal(subtrees), st = normal(state);
  for (const auto& [key, dir] :
       {std::pair{"directories.subtrees_dir", sub}, std::pair{"directories.state_dir", st}}) {
    if (dir == "." || dir.empty()) {
      return std::string(key) + " is the repository itself; use a directory of its own (e.g. " +
             (key == std::string("directories.state_dir") ? ".para/state" : ".para/worktrees") +
             ")";
    }
    if (inside(dir, ".git")) return std::string(key) + " is inside .git; choose another directory";
  }
  if (inside(sub, st) || inside(st, sub)) {
    return "directories.subtrees_dir (" + sub + ") and directories.state_dir (" + st +
           ") overlap; each needs a directory of its own";
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> refused_in_project(const std::string& key) {
  if (!is_user_only(key)) return std::nullopt;
  return Error{Errc::denied,
               key +
                   " is read only from your user config: the project file is shared through "
                   "the repository and must not change what agents run, write, reach or "
                   "receive. Set it without --project: para config set " +
                   key + " VALUE"};
}

std::vector<std::string> user_only_keys_in(const json& doc) {
  std::vector<std::string> dropped;
  (void)without_user_only_keys(doc, dropped);
  return dropped;
}

std::optional<Error> refused_through_mcp(const std::string& key) {
  static const char* const kPersonOnly[] = {"agent",
                                            "setup_script",
                                            "directories",
                                            "sandbox.enabled",
                                            "sandbox.enforce",
                                            "sandbox.fail_open",
                                            "sandbox.profile",
                                            "sandbox.deny_read",
                                            "sandbox.extra_writable",
                                            "sandbox.forward_env",
                                            "sandbox.allow_local_destinations",
                                            "proxy.resolve",
                                            "docker.setup_script",
                                            "docker.forward_env_keys"};
  for (const char* p : kPersonOnly) {
    const std::string prefix = p;
    if (key == prefix || key.rfind(prefix + ".", 0) == 0) {
      return Error{Errc::denied,
                   key +
                       " changes what agents may run or reach on this machine, so MCP clients "
                       "cannot set it; a person sets it with: para config set " +
                       key + " VALUE"};
    }
  }
  return std::nullopt;
}

namespace {

// Every problem of a config document, each naming its key ("" if none).
std::vector<std::string> config_problems(const json& doc) {
  std::vector<std::string> errors = validate_json(schemas::get("config.schema"), doc, "");
  if (errors.empty() && doc.contains("directories")) {
    const json& d = doc["directories"];
    const Config defaults;
    if (auto problem = directories_problem(d.value("subtrees_dir", defaults.subtrees_dir),
                                           d.value("state_dir", defaults.state_dir))) {
      errors.push_back(*problem);
    }
  }
  for (std::string& e : errors) {
    // The validator names the root "" so that paths read "sandbox.enabled".
    if (e.size() > 1 && e[0] == '.') e.erase(0, 1);
  }
  return errors;
}

}  // namespace

Result<void> validate_config(const json& doc, const std::string& origin) {
  const std::vector<std::string> errors = config_problems(doc);
  if (errors.empty()) return {};
  std::string message = origin + " is not a valid para configuration:";
  for (const std::string& e : errors) message += "\n  " + e;
  message += "\nFix the file (para config edit) or set the key with para config set KEY VALUE.";
  return fail(Errc::invalid_argument, message);
}

Result<json> read_config_file(const std::string& toml_path) {
  if (path_exists(toml_path)) {
    Result<std::string> text = read_file(toml_path, 1 << 20);
    if (!text) return fail(text.error());
    try {
      toml::table table = toml::parse(*text, toml_path);
      json doc = toml_to_json(table);
      if (auto v = validate_config(doc, toml_path); !v) return fail(v.error());
      return doc;
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << toml_path << ":" << e.source().begin.line << ":" << e.source().begin.column
          << ": invalid TOML: " << e.description()
          << "\nFix the file (para config edit) and try again.";
      return fail(Errc::invalid_argument, msg.str());
    }
  }
  const std::string json_path = json_sibling(toml_path);
  if (path_exists(json_path)) {
    Result<std::string> text = read_file(json_path, 1 << 20);
    if (!text) return fail(text.error());
    json raw = parse_untrusted_json(*text);
    if (raw.is_discarded() || !raw.is_object()) {
      return fail(Errc::invalid_argument,
                  json_path + " is not valid JSON; fix it or replace it with a config.toml");
    }
    json doc = from_para_json(raw);
    if (auto v = validate_config(doc, json_path); !v) return fail(v.error());
    return doc;
  }
  return json::object();
}

Result<Config> load_config(const std::string& repo_root) {
  Config c;
  c.user_file = user_config_path();
  Result<json> user = read_config_file(c.user_file);
  if (!user) return fail(user.error());
  apply(c, *user, true);
  if (!repo_root.empty()) {
    c.project_file = project_config_path(repo_root);
    Result<json> project = read_config_file(c.project_file);
    if (!project) return fail(project.error());
    apply_project(c, *project);
  }
  if (auto problem = directories_problem(c.subtrees_dir, c.state_dir)) {
    return fail(Errc::invalid_argument,
                "the configuration is not valid: " + *problem + " (" + c.user_file +
                    (c.project_file.empty() ? "" : " and " + c.project_file) + ")");
  }
  c.effective = effective_json(c);
  return c;
}

Result<json> set_config_value(const std::string& toml_path, const std::string& key,
                              const json& value) {
  const json* schema = schema_for_key(key);
  if (schema == nullptr || key.rfind("ide", 0) == 0) {
    std::string known;
    for (const std::string& k : known_keys(schemas::get("config.schema"), "")) {
      known += (known.empty() ? "" : ", ") + k;
    }
    return fail(Errc::invalid_argument, "unknown config key '" + key + "'. Known keys: " + known);
  }
  Result<json> typed = type_value(key, *schema, value);
  if (!typed) return fail(typed.error());
  Result<json> doc = read_config_file(toml_path);
  if (!doc) return fail(doc.error());
  json updated = *doc;
  json* node = &updated;
  size_t start = 0;
  for (;;) {
    const size_t dot = key.find('.', start);
    const std::string part =
        key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*node)[part] = *typed;
      break;
    }
    if (!node->contains(part) || !(*node)[part].is_object()) (*node)[part] = json::object();
    node = &(*node)[part];
    start = dot + 1;
  }
  if (const std::vector<std::string> errors = config_problems(updated); !errors.empty()) {
    std::string shown = typed->dump();
    if (shown.size() > 80) shown = cut_utf8(shown, 77) + "...";
    std::string message =
        "not written: " + key + " = " + shown + " would make " + toml_path + " invalid:";
    for (const std::string& e : errors) message += "\n  " + e;
    return fail(Errc::invalid_argument, message);
  }
  if (auto d = make_dirs(std::filesystem::path(toml_path).parent_path().string()); !d) {
    return fail(d.error());
  }
  if (auto w = write_file_atomic(toml_path, config_to_toml(updated)); !w) return fail(w.error());
  return typed;
}

std::string config_to_toml(const json& doc) {
  toml::table root;
  for (auto it = doc.begin(); it != doc.end(); ++it) json_to_toml(it.value(), root, it.key());
  std::ostringstream out;
  out << "# para configuration (see para config show; schemas/config.schema.json)\n"
      << root << "\n";
  return out.str();
}

std::vector<std::string> settable_config_keys() {
  return known_keys(schemas::get("config.schema"), "");
}

}  // namespace para::session
