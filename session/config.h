#pragma once

// para's configuration: the user file ($XDG_CONFIG_HOME/para/config.toml,
// default ~/.config/para/) and the project file (<repo>/.para/config.toml),
// both TOML; para's config.json files are read when no TOML file exists.
// Every file is validated against schemas/config.schema.json when loaded
// and before anything is written.
//
// Merge (para's rules, made explicit): the project file overrides scalar
// settings it names; sandbox domain lists are unions; sandbox.fail_open,
// sandbox.enforce, sandbox.forward_env and proxy.resolve are honoured only
// in the user file, so a repository cannot switch off its user's protections.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace para::session {

struct SandboxConfig {
  bool enabled = false;
  std::string profile = "standard";
  std::vector<std::string> allowed_domains;
  std::vector<std::string> denied_domains;
  std::optional<std::vector<std::string>> deny_read;  // nullopt: the default secret stores
  std::vector<std::string> deny_read_extra;           // added by the project file
  std::vector<std::string> extra_writable;
  std::vector<std::string> forward_env;  // secret-looking names passed on (user file only)
  bool allow_local_destinations = false;
  bool fail_open = false;
  bool enforce = false;
};

struct ProxyConfig {
  int port = 8877;  // the relay's loopback port inside sandboxes and containers
  int max_connections = 1024;
  int idle_timeout_seconds = 300;
  int head_timeout_seconds = 10;
  std::vector<std::string> resolve;  // HOST:ADDR pins (user file only)
};

struct DockerConfig {
  std::optional<std::string> default_image;
  std::optional<std::vector<std::string>> forward_env_keys;  // nullopt: para's defaults
  std::optional<std::string> setup_script;
  std::optional<std::string> memory;
  std::optional<double> cpus;
  std::optional<int64_t> pids_limit;
};

struct Config {
  std::vector<std::string> agent_command = {"claude", "-p", "{prompt}"};
  std::vector<std::string> skip_permissions_args = {"--dangerously-skip-permissions"};
  std::string branch_prefix = "para";
  bool auto_stage = true;
  std::string subtrees_dir = ".para/worktrees";
  std::string state_dir = ".para/state";
  bool preserve_on_finish = false;
  int auto_cleanup_days = 30;
  int max_archives = 50;
  std::optional<std::string> setup_script;
  SandboxConfig sandbox;
  ProxyConfig proxy;
  DockerConfig docker;

  // Where it came from.
  std::string user_file;     // the file read or that `config set` writes
  std::string project_file;  // empty when there is no repository
  nlohmann::json effective;  // the merged settings as JSON (defaults filled in)
};

/// The path of the user TOML file (whether or not it exists).
std::string user_config_path();
/// The path of the project TOML file of a repository.
std::string project_config_path(const std::string& repo_root);

/// Loads and merges the user file and, when repo_root is not empty, the
/// project file. Errors: invalid_argument naming the file, the key and what
/// is wrong (TOML syntax with line and column, or a schema violation).
Result<Config> load_config(const std::string& repo_root);

/// The JSON content of one config file (empty object if it does not exist).
Result<nlohmann::json> read_config_file(const std::string& toml_path);

/// Sets one dotted key in the user or project file, typing `value` by the
/// schema (booleans, integers, numbers, comma lists for arrays), validating
/// the whole file before writing it atomically. Returns the typed value.
/// Errors: invalid_argument (unknown key, wrong type), io.
Result<nlohmann::json> set_config_value(const std::string& toml_path, const std::string& key,
                                        const nlohmann::json& value);

/// The dotted keys set_config_value accepts ("sandbox.profile", ...).
std::vector<std::string> settable_config_keys();

/// Keys that decide what runs outside a sandbox or what a sandbox may reach
/// (agent command, sandbox switches and paths, setup scripts, name pins,
/// directories) are set only by a person, with `para config set`: an MCP
/// client may be, or be driven by, an agent. The refusal when `key` is one.
std::optional<Error> refused_through_mcp(const std::string& key);

/// Keys only the user file may set: the agent command, directories, writable
/// paths, local destinations, forwarded secrets, fail_open, enforce, name
/// pins. A project file's values for them are ignored with a warning, and a
/// project file may not make the sandbox weaker than the user's. The refusal
/// for `para config set --project` when `key` is one.
std::optional<Error> refused_in_project(const std::string& key);
/// The user-only keys a document sets (for warning after an edit).
std::vector<std::string> user_only_keys_in(const nlohmann::json& doc);

/// Validates a whole config document. Errors: invalid_argument listing every
/// problem, each naming its key, prefixed with `origin` (a file name).
Result<void> validate_config(const nlohmann::json& doc, const std::string& origin);

/// Serialises a config document as TOML.
std::string config_to_toml(const nlohmann::json& doc);

}  // namespace para::session
