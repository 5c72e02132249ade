#pragma once

// sandbox::Policy: what a sandboxed agent may read, write and reach, as plain
// data. build_policy() derives it from host facts (PolicyInputs); the
// renderers (bwrap.h for Linux, sbpl.h for macOS) turn the same Policy into a
// bubblewrap argv or an SBPL profile, and run_linux.h launches it.
//
// Session layout the policy targets (DESIGN.md §2, decided by the lead):
//   R  repository root (main worktree)     G  git common dir (R/.git)
//   W  R/.para/worktrees/N on para/N       S  R/.para/state
//   S/N/          the only agent-writable directory under .para/ (status.json)
//   T  ${TMPDIR:-/tmp}/para-<uid>/<hash>-N/ with proxy.sock and tmp/

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace para::sandbox {

/// open = profile standard (host network); proxied = standard-proxied (an
/// empty network namespace, only the relay to the session proxy); none = an
/// empty network namespace with nothing in it.
enum class NetworkMode { open, proxied, none };
const char* network_mode_name(NetworkMode mode);

/// A profile name resolved: canonical name and network mode.
struct Profile {
  std::string name;  // "standard" or "standard-proxied"
  NetworkMode network = NetworkMode::open;
};

/// The profile names accepted everywhere (CLI flags, MCP, config), para's
/// legacy aliases included; all aliases map to standard, as para maps them.
const std::vector<std::string>& profile_names();

/// Resolves a profile name. Errors: invalid_argument naming the accepted names.
Result<Profile> resolve_profile(const std::string& name);

enum class PathKind { missing, file, directory, symlink, other };
const char* path_kind_name(PathKind kind);

/// The few filesystem facts build_policy needs, behind an interface so that
/// unit tests can describe a host without touching the disk (ninja's
/// VirtualFileSystem). Neither function follows a final symlink.
class FileSystemView {
 public:
  virtual ~FileSystemView() = default;
  virtual PathKind kind(const std::string& path) const = 0;
  /// Entry names of a directory (not "." or ".."); empty if unreadable.
  virtual std::vector<std::string> children(const std::string& dir) const = 0;
  /// The canonical path (realpath); empty if it cannot be resolved.
  virtual std::string resolve(const std::string& path) const = 0;
};

/// The real filesystem (lstat, opendir).
const FileSystemView& host_filesystem();

struct PolicyInputs {
  // Layout: absolute, normalised paths (no "." or "..", no trailing '/').
  std::string repo_root;       // R
  std::string git_common_dir;  // G
  std::string worktree;        // W: writable, and the working directory inside
  std::string session;         // N; empty = not a para session (para sandbox run)
  std::string branch_prefix = "para";
  std::string worktree_gitdir;  // G/worktrees/<id>; empty = G/worktrees/N (sessions)
  std::string state_dir;        // S (sessions only)
  std::string runtime_dir;      // T: the session's private temp dir lives in T/tmp
  // The session's private object store (sessions only); empty: T/git/objects.
  // One per session, not per run: its fan-out directories, once made, stay.
  std::string objects_dir;
  std::string home;

  std::string profile = "standard";             // any name profile_names() accepts
  std::optional<NetworkMode> network_override;  // e.g. none for "--no-network"
  std::string proxy_socket;                     // host path of the session proxy's socket
  int proxy_port = 8877;                        // where the relay listens inside
  std::vector<std::string> allowed_domains;     // shown by explain; the proxy enforces them

  std::optional<std::vector<std::string>> deny_read;  // nullopt = default_deny_read()
  std::vector<std::string> extra_writable;            // "~/" is the home directory
  std::string para_bin;   // bound at kParaBinInside so that `para status` works inside
  std::string relay_bin;  // para-relay on the host (proxied mode)
  std::vector<std::string> environment;  // the agent's environment, "K=V"
  // Names kept although they look secret (sandbox.forward_env, user file
  // only), added to default_forward_env(); "PREFIX*" matches a prefix.
  std::vector<std::string> forward_env;

  // macOS only: confstr(_CS_DARWIN_USER_TEMP_DIR / _CACHE_DIR), which
  // Apple's tools write to whatever TMPDIR says. Empty elsewhere.
  std::string darwin_user_temp_dir;
  std::string darwin_user_cache_dir;

  // Worktree-relative paths that git tracks there and host_runs_or_obeys():
  // protected although the bounded scan for protected names stopped before
  // them (Policy::scan_incomplete). The caller lists them only then.
  std::vector<std::string> tracked_protected;

  const FileSystemView* fs = nullptr;  // nullptr = host_filesystem()
};

/// One path the policy names, with why (shown by explain, golden files).
struct PathRule {
  std::string path;
  PathKind kind = PathKind::missing;  // as seen when the policy was built
  std::string reason;
};

/// A host directory bound read-write at another place (the session's private
/// ref directory over G/refs/heads/<prefix>).
struct PrivateBind {
  std::string source;
  std::string target;
  std::string reason;
  bool read_only = false;
};

/// A tool cache the sandbox sees copy-on-write (Linux): the agent reads the
/// host's cache and writes to this session's own layer, so nothing it plants
/// there reaches the host or another session. `dir` holds the overlay's
/// upper/, work/ and merged/ (see cache_overlay.h); merged/ is what the
/// sandbox binds at `cache`. The SBPL profile cannot do this: on macOS the
/// cache stays a plain writable root.
struct CacheOverlay {
  std::string cache;  // the host's cache directory, e.g. ~/.npm (also in Policy::writable)
  std::string dir;    // T/caches/<name>
};

/// The git facts of a session, for the private-ref design (see
/// sync_session_ref in run_linux.h) and for the SBPL literals.
struct SessionGit {
  std::string common_dir;       // G
  std::string worktree_gitdir;  // G/worktrees/N
  std::string ref_name;         // refs/heads/<prefix>/N
  std::string ref_file;         // G/refs/heads/<prefix>/N
  std::string reflog_file;      // G/logs/refs/heads/<prefix>/N
  std::string private_refs;     // T/git/refs: bound over G/refs/heads/<prefix>
  std::string private_logs;     // T/git/logs: bound over G/logs/refs/heads/<prefix>
  // Linux and containers: the object store the sandbox writes, bound over
  // G/objects; the repository's own store is read-only at
  // kSharedObjectsInside, its alternate (import_sandbox_objects).
  std::string objects;       // PolicyInputs::objects_dir, or T/git/objects
  std::string objects_info;  // T/git/objects-info: bound read-only over G/objects/info
};

struct Policy {
  std::string profile;  // canonical profile name
  std::string requested_profile;
  NetworkMode network = NetworkMode::open;
  std::string session;  // empty outside sessions
  std::string workdir;  // the working directory inside
  std::string home;
  std::string tmpdir;  // T/tmp: TMPDIR inside

  std::vector<PathRule> hidden;     // empty tmpfs: /tmp, /run, /var/tmp (host sockets)
  std::vector<PathRule> reveal;     // read-only again under a hidden directory
  std::vector<PathRule> writable;   // read-write roots
  std::vector<PathRule> protect;    // read-only inside writable roots (existing paths)
  std::vector<PathRule> deny_read;  // existing paths whose content is hidden
  std::vector<PrivateBind> private_binds;
  std::vector<CacheOverlay> cache_overlays;  // Linux: how the writable tool caches are bound
  std::optional<SessionGit> git;             // sessions only

  // Names protected at every depth (".git/hooks", ".bashrc", ...): the SBPL
  // profile matches them by regex; on Linux build_policy found the existing
  // ones under the writable roots and listed them in `protect`.
  std::vector<std::string> protected_names;
  // Exact paths protected even if they do not exist yet (SBPL only; Linux
  // cannot mount over a missing path without creating it on the host).
  std::vector<PathRule> protect_missing;

  std::string proxy_socket;
  int proxy_port = 8877;
  std::vector<std::string> allowed_domains;
  std::string para_bin;
  std::string relay_bin;

  std::vector<std::pair<std::string, std::string>> env_set;  // policy's own variables
  std::vector<std::string> env_unset;  // names removed from the agent's env (never values)
  std::vector<std::string> env_base;   // the agent's environment (may hold secrets: never shown)

  std::string darwin_user_temp_dir, darwin_user_cache_dir;
  std::vector<std::string> notes;  // limitations that apply to this policy, for explain
  // The scan for protected names stopped at its bound; see
  // PolicyInputs::tracked_protected.
  bool scan_incomplete = false;
};

/// Where things appear inside a Linux sandbox (under the hidden /run).
inline constexpr const char* kParaRunDir = "/run/para";
inline constexpr const char* kParaBinInside = "/run/para/bin/para";
inline constexpr const char* kRelayInside = "/run/para/para-relay";
inline constexpr const char* kProxySocketInside = "/run/para/proxy.sock";
inline constexpr const char* kSharedObjectsInside = "/run/para/objects";

/// The default sandbox.deny_read list ("~/" = home).
const std::vector<std::string>& default_deny_read();

/// Names protected at every depth inside writable roots.
const std::vector<std::string>& protected_name_list();

/// The names kept by default although they look secret: what the agents
/// themselves authenticate with (ANTHROPIC_API_KEY, ...).
const std::vector<std::string>& default_forward_env();

/// The variables that send an agent's tools to the proxy at 127.0.0.1:`port`
/// (standard-proxied sandboxes, isolated containers): the *_PROXY family
/// with NO_PROXY for loopback, gRPC's, Node's NODE_USE_ENV_PROXY, the Google
/// Cloud SDK's CLOUDSDK_PROXY_*, and the JVM's proxy properties in
/// JAVA_TOOL_OPTIONS, after `java_tool_options` (the value already set).
std::vector<std::pair<std::string, std::string>> proxy_environment(
    int port, const std::string& java_tool_options);

/// Whether a variable's name (any case) says it holds a secret: it contains
/// TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL, API_KEY, APIKEY,
/// PRIVATE_KEY, ACCESS_KEY, or AUTH other than in AUTHOR; or, in a name of
/// two parts or more, a whole part PWD, PASS or PASSPHRASE (MYSQL_PWD), or
/// KEY as the last part (STRIPE_KEY). build_policy removes such variables unless forwarded.
bool secret_looking_name(const std::string& name);

/// Whether a value is a secret whatever its name: a URL with a password
/// (postgres://user:pw@db), a PEM private key, or a token of a well-known
/// format (ghp_..., github_pat_..., glpat-..., xoxb-..., npm_..., AKIA...).
bool secret_looking_value(std::string_view value);

/// Whether `name` equals one of `patterns` or starts with the part before
/// the trailing '*' of one (case-sensitive, as environment names are).
bool env_name_matches(const std::string& name, const std::vector<std::string>& patterns);

/// Builds the policy. Pure apart from reading `inputs.fs`. Errors:
/// invalid_argument (relative or unnormalised paths, bad session name, bad
/// profile, a protected path that is a symlink at the top of a writable root).
Result<Policy> build_policy(const PolicyInputs& inputs);

/// The environment the sandboxed command gets: env_base minus env_unset
/// (host sockets, and secret-looking names that are not forwarded) plus
/// env_set.
std::vector<std::string> final_environment(const Policy& policy);

/// Whether a path relative to a repository names code or configuration that a
/// program on the host runs or obeys later (the names the sandbox protects:
/// git hooks, .envrc, .vscode, .mcp.json, Claude Code settings, ...), or para's
/// own .para/ (setup scripts, config). A branch that changes one needs a
/// closer look before it is merged.
bool host_runs_or_obeys(const std::string& repo_relative_path);

/// Whether `path` equals `root` or lies below it (lexically).
bool path_within(const std::string& path, const std::string& root);

/// Validates a session name: 1-50 of [A-Za-z0-9_-], starting with a letter
/// or digit. Errors: invalid_argument.
Result<void> validate_session_name(const std::string& name);

}  // namespace para::sandbox
