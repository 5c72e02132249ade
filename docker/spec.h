#pragma once

// What a container is, as plain data, and the pure functions around it:
// ContainerSpec -> the /containers/create body, `docker create`-style flags
// (a session's docker_args) -> a DockerArgs to merge into a spec.
//
// Secrets: ContainerSpec::secret_env holds forwarded API keys. Their values go
// into the create body and nowhere else: describe() lists only their names,
// secret_values() feeds redact() on every path that could echo a body, and
// nothing in docker/ logs an environment value (plain or secret).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "docker/endpoint.h"

namespace para::docker {

/// Labels that mark a container or image as para's. Cleanup matches these,
/// never names: a user's "para-postgres" is not ours.
inline constexpr const char* kSessionLabel = "dev.para.session";  // value: session name
inline constexpr const char* kRepoLabel = "dev.para.repo";        // value: repository root
inline constexpr const char* kDefaultImage = "para-agent:latest";

/// The forwarded keys that are set (and non-empty) in `env`, with their
/// values, for ContainerSpec::secret_env. Keys that are not set are skipped.
std::map<std::string, std::string> forwarded_env(const std::vector<std::string>& keys,
                                                 const EnvLookup& env);

struct Mount {
  enum class Type { bind, volume };
  Type type = Type::bind;
  std::string source;  // bind: absolute host path (must exist); volume: volume name
  std::string target;  // absolute path in the container
  bool read_only = false;
};

struct ContainerSpec {
  std::string name;              // "para-<session>"; [a-zA-Z0-9][a-zA-Z0-9_.-]*
  std::string image;             // "para-agent:latest"
  std::vector<std::string> cmd;  // argv; empty = the image's CMD
  std::optional<std::vector<std::string>> entrypoint;  // nullopt = the image's ENTRYPOINT
  std::map<std::string, std::string> env;              // plain variables (proxy, PARA_*)
  std::map<std::string, std::string> secret_env;       // forwarded keys: values never logged
  std::map<std::string, std::string> labels;
  std::vector<Mount> mounts;
  std::map<std::string, std::string> tmpfs;  // container path -> options ("size=64m")
  std::string working_dir;                   // absolute; empty = the image's
  std::string user;                          // "uid:gid" or a name; empty = the image's
  std::string network_mode;                  // "none", "bridge", "host", a network; "" = default
  int64_t memory_bytes = 0;  // 0 = unlimited; swap is capped at the same value (no swap)
  int64_t nano_cpus = 0;     // 1e9 = one CPU; 0 = unlimited
  int64_t pids_limit = 0;    // 0 = unlimited
  std::vector<std::string> cap_add, cap_drop;  // "NET_RAW", "ALL"
  std::vector<std::string> security_opt;       // "no-new-privileges"
  bool init = false;                           // the daemon's tiny init as PID 1 (reaps zombies)
  bool read_only_rootfs = false;
  bool auto_remove = false;  // para removes its containers itself
  bool tty = false;          // false: output is multiplexed stdout/stderr
  std::optional<int> stop_timeout_seconds;
};

/// Adds no-new-privileges and drops every capability: the baseline for
/// session containers (add back only what a call asks for).
void harden(ContainerSpec& spec);

/// The JSON body of POST /containers/create (the name goes in the query).
/// Errors: invalid_argument naming the bad field (a relative mount path, an
/// env name with '=', a key in both env and secret_env, an empty image, text
/// that is not UTF-8...). Messages name fields and keys, never env values.
Result<nlohmann::json> create_body(const ContainerSpec& spec);

/// The values to redact from anything that could echo this spec's body.
std::vector<std::string> secret_values(const ContainerSpec& spec);

/// A description that is safe to log or store in a state file: everything
/// except environment values (secret_env and env are listed by name only).
nlohmann::json describe(const ContainerSpec& spec);

/// Whether text is well-formed UTF-8 (JSON, and so the Engine API, carries nothing else).
bool valid_utf8(std::string_view text);

/// Whether a name is acceptable to the daemon as a container name.
bool valid_container_name(std::string_view name);

/// The `docker create` flags a session may pass (docker_args), as data.
struct DockerArgs {
  std::map<std::string, std::string> env;         // -e K=V (the value was on the command line)
  std::map<std::string, std::string> secret_env;  // -e K (the value comes from our environment)
  std::vector<Mount> mounts;                      // -v SRC:DST[:ro|rw]
  std::optional<int64_t> memory_bytes;            // -m/--memory
  std::optional<int64_t> nano_cpus;               // --cpus
  std::optional<int64_t> pids_limit;              // --pids-limit
  std::optional<std::string> user;                // -u/--user
  std::optional<std::string> working_dir;         // -w/--workdir
  std::optional<std::string> network;             // --network
  std::map<std::string, std::string> labels;      // -l/--label
  std::vector<std::string> cap_add, cap_drop;     // --cap-add/--cap-drop
};

/// `args` for showing (session listings, tool output): the value of every
/// -e/--env NAME=VALUE replaced by "[redacted]", since it may be a secret.
std::vector<std::string> docker_args_for_display(const std::vector<std::string>& args);

/// The text listing what parse_docker_args understands (used in its errors).
const std::string& supported_docker_args();

/// Parses docker_args: "--flag value", "--flag=value", short flags with a
/// separate or attached value ("-e K=V", "-eK=V"). "-e K" takes K's value
/// from `host_env` (and is skipped when K is unset there, as docker does).
/// Errors: invalid_argument naming the argument, with supported_docker_args()
/// for anything else. Pure.
Result<DockerArgs> parse_docker_args(const std::vector<std::string>& args,
                                     const EnvLookup& host_env);

/// Merges parsed args into a spec: env, labels and mounts are added (a
/// variable or label given again replaces the spec's), scalars replace.
void apply_docker_args(const DockerArgs& args, ContainerSpec& spec);

/// What in these args would widen an isolated session (a network other than
/// "none", added capabilities, host paths mounted in). Empty when nothing
/// does. The session layer refuses these when the sandbox is enforced.
std::vector<std::string> isolation_weakenings(const DockerArgs& args);

/// What in these args would loosen `limits`' memory, CPU or process ceiling
/// (a higher value, or 0 for none). Lowering a limit is not listed, nor is
/// any value where `limits` has none. The session layer refuses these when
/// the sandbox is enforced, so a client cannot undo the user's configured
/// limits.
std::vector<std::string> limit_raises(const DockerArgs& args, const ContainerSpec& limits);

/// "512m", "1g", "1.5G", "64MiB", "1048576" -> bytes (binary units, as docker).
/// Errors: invalid_argument.
Result<int64_t> parse_memory(std::string_view text);
/// "1.5" -> 1500000000 nano-CPUs. Errors: invalid_argument.
Result<int64_t> parse_cpus(std::string_view text);

}  // namespace para::docker
