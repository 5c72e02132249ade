// para sandbox run | explain, and para shell: run any command under the
// sandbox policy of the current directory's worktree (a session's stored
// policy in a session worktree), show the effective policy with the exact
// launcher argv (bwrap on Linux, sandbox-exec on macOS), and enter a
// session's sandbox with a shell.
//
// Network: in standard-proxied mode `sandbox run` and `shell` host the
// proxy themselves, on a thread, listening on <T>/proxy.sock of a private
// runtime directory T made for this run (removed afterwards). `sandbox run`
// logs its decisions to stderr or --log FILE; `shell` logs to the session's
// network log, like the session's own proxy.
//
// Each run gets its own T for the proxy's socket. Its TMPDIR and private
// copy of the session branch live there too, unless the session's agent is
// running in its sandbox: then the run shares the agent's T (never resetting
// the agent's branch copy), so that both see and extend the same branch.
// Either way the branch comes back compare-and-swap when the run ends.

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cli/runtime_dir.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/process.h"
#include "proxy/policy.h"
#include "sandbox/explain.h"
#include "sandbox/foreground.h"
#include "sandbox/launch.h"
#include "sandbox/layout.h"
#include "sandbox/policy.h"
#include "session/repo.h"
#include "session/sandboxing.h"
#include "session/session_proxy.h"
#include "session/store.h"
#include "session/supervisor.h"

namespace para::cli {
namespace {

namespace sb = para::sandbox;
namespace ses = para::session;

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

int usage_error(const std::string& message, bool json) {
  report_error(fail(Errc::invalid_argument, message), json);
  return kExitUsage;
}

// --resolve HOST:ADDR maps a test name to an address for the proxy.
Result<void> check_resolve(const std::string& entry) {
  const size_t colon = entry.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) {
    return fail(Errc::invalid_argument, "--resolve '" + entry + "' is not HOST:ADDR");
  }
  std::string addr = entry.substr(colon + 1);
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, addr.c_str(), buf) != 1 &&
      ::inet_pton(AF_INET6, addr.c_str(), buf) != 1) {
    return fail(Errc::invalid_argument,
                "--resolve '" + entry + "': '" + addr + "' is not an IPv4 or IPv6 address");
  }
  return {};
}

// What a command sandboxes: the policy inputs and, when there is one, the
// repository's config and the session's stored state.
struct Target {
  sb::PolicyInputs inputs;
  std::optional<ses::Repo> repo;
  std::optional<ses::SessionState> session;
  std::string cwd;
};

// The worktree containing `dir`. In a para session worktree whose state is
// readable: the session's inputs (its stored profile and domains). Elsewhere:
// the worktree's layout plus the config. `runtime` replaces the session's
// runtime directory (a private one per run); nullopt keeps the session's
// (explain) or shows a placeholder.
Result<Target> target_for_dir(const std::string& dir, const std::optional<std::string>& runtime) {
  Result<sb::DirectoryLayout> layout = sb::detect_layout(dir);
  if (!layout) return fail(layout.error());
  // The repository from the layout (one git call fewer than open_repo: this
  // runs before every sandboxed command).
  ses::Repo repo;
  repo.root = layout->repo_root;
  repo.common_dir = layout->git_common_dir;
  Result<ses::Config> config = ses::load_config(repo.root);
  if (!config) return fail(config.error());
  repo.config = std::move(*config);
  Target t;
  t.cwd = real(dir);
  if (!layout->session.empty()) {
    if (Result<ses::SessionState> st = ses::read_session(repo, layout->session); st) {
      t.inputs = ses::policy_inputs(repo, *st, current_environment());
      t.session = std::move(*st);
    }
  }
  sb::PolicyInputs& in = t.inputs;
  if (!t.session) {
    in.repo_root = layout->repo_root;
    in.git_common_dir = layout->git_common_dir;
    in.worktree = layout->worktree;
    in.session = layout->session;
    in.branch_prefix = layout->branch_prefix;
    in.state_dir = layout->state_dir;
    if (!layout->session.empty()) in.worktree_gitdir = layout->worktree_gitdir;
    in.runtime_dir =
        layout->session.empty()
            ? user_runtime_root() + "/run-XXXXXXXXXXXX"
            : sb::default_runtime_dir(tmp_root(), ::getuid(), layout->repo_root, layout->session);
    if (!layout->session.empty()) in.objects_dir = in.runtime_dir + "/git/objects";
    in.home = real(home_directory());
    in.profile = repo.config.sandbox.profile;
    in.environment = current_environment();
    ses::apply_config(repo.config, in);
  }
  if (runtime) in.runtime_dir = *runtime;
  in.proxy_socket = in.runtime_dir + "/proxy.sock";
  t.repo = std::move(repo);
  return t;
}

// Flags override what the session stored and what the config says.
void apply_flags(const Args& args, sb::PolicyInputs& in) {
  if (std::optional<std::string> p = args.value("profile")) in.profile = *p;
  if (args.flag("no-network")) in.network_override = sb::NetworkMode::none;
  for (const std::string& d : args.values("allowed-domains")) in.allowed_domains.push_back(d);
}

// The proxy policy of a run: para's essential domains, the config, the
// session's own domains, --allowed-domains; pins from proxy.resolve and
// --resolve. Errors: invalid_argument naming the bad entry.
Result<std::shared_ptr<const proxy::Policy>> run_proxy_policy(const Target& t, const Args& args) {
  proxy::PolicyConfig flags_only{.allowed = args.values("allowed-domains"),
                                 .include_essential = false};
  if (auto r = proxy::build_policy(flags_only); !r) {
    return fail(Errc::invalid_argument, "--allowed-domains: " + r.error().message);
  }
  proxy::PolicyConfig pc =
      t.repo ? ses::config_proxy_policy(t.repo->config) : proxy::PolicyConfig{};
  if (t.session) {
    for (const std::string& d : t.session->allowed_domains) pc.allowed.push_back(d);
  }
  for (const std::string& d : args.values("allowed-domains")) pc.allowed.push_back(d);
  for (const std::string& r : args.values("resolve")) pc.pins.push_back(r);
  Result<std::shared_ptr<const proxy::Policy>> policy = proxy::build_policy(pc);
  if (!policy) {
    return fail(Errc::invalid_argument,
                "the network allowlist is not valid: " + policy.error().message +
                    " (from sandbox.allowed_domains/denied_domains in the config, the session's "
                    "domains or --allowed-domains)");
  }
  return policy;
}

std::vector<std::string> entry_texts(const std::vector<proxy::Policy::Entry>& entries) {
  std::vector<std::string> out;
  for (const proxy::Policy::Entry& e : entries) out.push_back(e.text);
  return out;
}

// When the session's agent is running in its sandbox, the run uses the
// agent's runtime directory for TMPDIR and the branch copy (the proxy socket
// stays the run's own). Returns whether it does.
bool share_agent_runtime(Target& t) {
  if (!t.session || !t.repo) return false;
  const ses::SessionState& st = *t.session;
  if (!st.sandbox_enabled || st.agent.state != "running" || !ses::supervisor_running(st)) {
    return false;
  }
  t.inputs.runtime_dir = st.runtime_dir.value_or(t.repo->runtime_dir(st.name));
  return true;
}

// prepare_host, except that a branch copy shared with a running agent is
// left as it is (prepare_host would reset it to the repository's value).
Result<void> prepare(sb::Policy& policy, bool shared) {
  if (!shared) return sb::prepare_host(policy);
  std::optional<sb::SessionGit> git = std::move(policy.git);
  policy.git.reset();
  Result<void> r = sb::prepare_host(policy);
  policy.git = std::move(git);
  return r;
}

// Launches the sandbox in the foreground (a pty of its own when stdin and
// stdout are terminals), waits, copies the session branch back. Returns the
// exit status.
Result<sb::ForegroundExit> run_sandboxed(sb::Policy& policy,
                                         const std::vector<std::string>& command,
                                         const sb::ForegroundSignals& signals, bool shared) {
  if (auto r = prepare(policy, shared); !r) return fail(r.error());
  const bool interactive = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
  std::optional<sb::Pty> pty;
  if (interactive) {
    Result<sb::Pty> opened = sb::Pty::open(STDIN_FILENO);
    if (!opened) return fail(opened.error());
    pty.emplace(std::move(*opened));
  }
  const int in = pty ? pty->slave() : STDIN_FILENO;
  const int out = pty ? pty->slave() : STDOUT_FILENO;
  const int err = pty ? pty->slave() : STDERR_FILENO;
  Result<sb::Launched> launched =
      sb::launch(policy, pty ? sb::ctty_command(command) : command,
                 sb::LaunchOptions{.stdin_fd = in, .stdout_fd = out, .stderr_fd = err});
  if (!launched) return fail(launched.error());
  if (pty) pty->close_slave();
  Result<sb::ForegroundExit> done =
      sb::run_foreground(*launched, signals, sb::ForegroundOptions{.pty = pty ? &*pty : nullptr});
  if (Result<sb::SyncNotes> notes = sb::sync_session_ref(policy); !notes) {
    log::warn("sandbox") << notes.error().message;
  } else {
    for (const std::string& note : *notes) log::warn("sandbox") << note;
  }
  if (Result<bool> head = sb::restore_session_head(policy); !head) {
    log::warn("sandbox") << head.error().message;
  }
  if (Result<std::optional<std::string>> index = sb::unstage_missing_objects(policy); !index) {
    log::warn("sandbox") << index.error().message;
  } else if (*index) {
    log::warn("sandbox") << **index;
  }
  return done;
}

int exit_code_of(const sb::ForegroundExit& e) {
  if (e.signal != 0) return 128 + e.signal;
  return e.status.term_signal != 0 ? 128 + e.status.term_signal : e.status.exit_code;
}

int run_sandbox(const Args& args) {
  const bool json = args.json();
  if (args.rest().empty())
    return usage_error("give the command after --: para sandbox run -- CMD...", json);
  if (std::optional<std::string> p = args.value("profile")) {
    if (auto r = sb::resolve_profile(*p); !r) return usage_error(r.error().message, json);
  }
  for (const std::string& r : args.values("resolve")) {
    if (auto ok = check_resolve(r); !ok) return usage_error(ok.error().message, json);
  }
  const sb::ForegroundSignals signals;  // before the proxy's thread starts
  RuntimeDir runtime("run");
  if (auto r = runtime.create(); !r) return report_error(r.error(), json);
  Result<Target> target = target_for_dir(std::filesystem::current_path().string(), runtime.path());
  if (!target) return report_error(target.error(), json);
  const bool shared = share_agent_runtime(*target);
  apply_flags(args, target->inputs);
  // A missing name cannot be bound read-only on Linux: without .para/, the
  // command could create .para/setup.sh or config.toml for the next start.
  if (!target->inputs.repo_root.empty()) {
    if (auto r = make_dirs(target->inputs.repo_root + "/.para"); !r) {
      return report_error(r.error(), json);
    }
  }
  Result<sb::Policy> policy = sb::build_policy(target->inputs);
  if (!policy) return report_error(policy.error(), json);
  policy->workdir = target->cwd;

  std::unique_ptr<ses::SessionProxy> proxy;
  if (policy->network == sb::NetworkMode::proxied) {
    Result<std::shared_ptr<const proxy::Policy>> pp = run_proxy_policy(*target, args);
    if (!pp) return usage_error(pp.error().message, json);
    const ses::ProxyConfig limits = target->repo ? target->repo->config.proxy : ses::ProxyConfig{};
    const std::string name = policy->session.empty() ? "sandbox-run" : policy->session;
    Result<std::unique_ptr<ses::SessionProxy>> started = ses::SessionProxy::serve(
        name, target->inputs.proxy_socket, *pp, args.value("log").value_or(""), limits);
    if (!started) return report_error(started.error(), json);
    proxy = std::move(*started);
  } else if (!args.values("allowed-domains").empty()) {
    return usage_error(
        "--allowed-domains only applies to --profile standard-proxied (this run's network is " +
            std::string(sb::network_mode_name(policy->network)) + ")",
        json);
  }
  Result<sb::ForegroundExit> done = run_sandboxed(*policy, args.rest(), signals, shared);
  proxy.reset();
  if (!done) return report_error(done.error(), json);
  if (json) {
    print_json({{"exit_code", done->status.exit_code},
                {"signal", done->status.term_signal},
                {"profile", policy->profile},
                {"network", sb::network_mode_name(policy->network)}});
  }
  return exit_code_of(*done);
}

// The inputs of a named session, from its stored settings; nullopt runtime
// keeps the session's own runtime directory.
Result<Target> target_for_session(const std::string& name,
                                  const std::optional<std::string>& runtime,
                                  const std::vector<std::string>& environment) {
  if (auto ok = sb::validate_session_name(name); !ok) return fail(ok.error());
  Result<ses::Repo> repo = ses::open_repo(ses::current_dir());
  if (!repo) return fail(repo.error());
  Result<ses::SessionState> st = ses::read_session(*repo, name);
  if (!st) return fail(st.error());
  Target t;
  t.inputs = ses::policy_inputs(*repo, *st, environment);
  if (runtime) t.inputs.runtime_dir = *runtime;
  t.inputs.proxy_socket = t.inputs.runtime_dir + "/proxy.sock";
  t.cwd = st->worktree_path;
  t.repo = std::move(*repo);
  t.session = std::move(*st);
  return t;
}

int explain_sandbox(const Args& args) {
  const bool json = args.json();
  Result<sb::Platform> platform = sb::parse_platform(args.value("platform")
                                                         .value_or(
#ifdef __APPLE__
                                                             "macos"
#else
                                                             "linux"
#endif
                                                             ));
  if (!platform) return usage_error(platform.error().message, json);
  if (std::optional<std::string> p = args.value("profile")) {
    if (auto r = sb::resolve_profile(*p); !r) return usage_error(r.error().message, json);
  }
  for (const std::string& r : args.values("resolve")) {
    if (auto ok = check_resolve(r); !ok) return usage_error(ok.error().message, json);
  }
  Result<Target> target = fail(Errc::internal, "");
  if (std::optional<std::string> session = args.positional(0)) {
    if (auto ok = sb::validate_session_name(*session); !ok)
      return usage_error(ok.error().message, json);
    target = target_for_session(*session, std::nullopt, current_environment());
  } else {
    target = target_for_dir(std::filesystem::current_path().string(), std::nullopt);
  }
  if (!target) return report_error(target.error(), json);
  apply_flags(args, target->inputs);
  Result<sb::Policy> policy = sb::build_policy(target->inputs);
  if (!policy) return report_error(policy.error(), json);
  if (!args.positional(0)) policy->workdir = target->cwd;
  std::vector<std::string> command = args.rest();
  if (command.empty()) command = {"COMMAND"};
  std::string launcher = "bwrap";
  if (Result<std::string> b = find_program("bwrap"); b) launcher = *b;
  Result<nlohmann::json> e = sb::explain(*policy, *platform, command, launcher);
  if (!e) return report_error(e.error(), json);
  if (policy->network == sb::NetworkMode::proxied) {
    Result<std::shared_ptr<const proxy::Policy>> pp = run_proxy_policy(*target, args);
    if (!pp) return usage_error(pp.error().message, json);
    (*e)["proxy"]["allowed"] = entry_texts((*pp)->allowed());
    (*e)["proxy"]["denied"] = entry_texts((*pp)->denied());
    std::vector<std::string> pins =
        target->repo ? target->repo->config.proxy.resolve : std::vector<std::string>{};
    for (const std::string& r : args.values("resolve")) pins.push_back(r);
    (*e)["proxy"]["pins"] = pins;
  }
  if (const std::optional<ses::SessionState>& st = target->session) {
    (*e)["session_sandbox"] = {{"enabled", st->sandbox_enabled},
                               {"profile", st->sandbox_profile.value_or("standard")},
                               {"network_mode", st->network_mode},
                               {"allowed_domains", st->allowed_domains}};
    if (!st->sandbox_enabled) {
      (*e)["notes"].push_back("session '" + st->name +
                              "' runs WITHOUT a sandbox (it was started or resumed without "
                              "one); this is the policy --sandbox would apply");
    }
  }
  if (json) {
    print_json(*e);
  } else {
    print(sb::explain_text(*e));
  }
  return kExitOk;
}

// The user's shell: $SHELL when it is an absolute path to a program, else
// bash, else sh.
std::string user_shell() {
  const char* s = std::getenv("SHELL");
  if (s != nullptr && s[0] == '/' && ::access(s, X_OK) == 0) return s;
  return ::access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

// A session without a sandbox gets a plain shell in its worktree.
int run_unsandboxed(const std::vector<std::string>& command, const std::vector<std::string>& env,
                    const std::string& cwd) {
  Result<pid_t> pid = spawn(SpawnOptions{.argv = command,
                                         .env = env,
                                         .cwd = cwd,
                                         .stdin_fd = STDIN_FILENO,
                                         .stdout_fd = STDOUT_FILENO,
                                         .stderr_fd = STDERR_FILENO,
                                         .new_group = false});
  if (!pid) return report_error(pid.error());
  Result<ExitStatus> st = wait_for(*pid, std::nullopt);
  if (!st) return report_error(st.error());
  return st->term_signal != 0 ? 128 + st->term_signal : st->exit_code;
}

int run_shell(const Args& args) {
  const std::string name = *args.positional(0);
  if (auto ok = sb::validate_session_name(name); !ok) return usage_error(ok.error().message, false);
  const sb::ForegroundSignals signals;  // before the proxy's thread starts
  RuntimeDir runtime("shell");
  if (auto r = runtime.create(); !r) return report_error(r.error());
  std::vector<std::string> env = current_environment();
  Result<Target> target = target_for_session(name, runtime.path(), env);
  if (!target) return report_error(target.error());
  const ses::SessionState& st = *target->session;
  const ses::Repo& repo = *target->repo;
  if (st.is_container) {
    return report_error(fail(Errc::invalid_argument,
                             "session '" + name +
                                 "' runs in a container; enter it with: docker exec -it para-" +
                                 name + " sh"));
  }
  if (!std::filesystem::is_directory(st.worktree_path)) {
    return report_error(fail(Errc::not_found, "the worktree of session '" + name + "' (" +
                                                  st.worktree_path + ") is missing; para resume " +
                                                  name + " repairs it"));
  }
  set_env(env, "PARA_SESSION", name);
  set_env(env, "PARA_WORKSPACE", st.worktree_path);
  std::vector<std::string> command = args.rest();
  if (command.empty()) command = {user_shell()};

  bool sandboxed = st.sandbox_enabled;
  if (sandboxed) {
    Result<bool> usable = ses::sandbox_usable(repo.config);
    if (!usable) return report_error(usable.error());
    sandboxed = *usable;
  } else {
    log::warn("shell") << "session '" << name
                       << "' has no sandbox, so neither has this shell (para resume " << name
                       << " --sandbox gives it one)";
  }
  if (!sandboxed) return run_unsandboxed(command, env, st.worktree_path);

  target->inputs.environment = env;
  const bool shared = share_agent_runtime(*target);
  Result<sb::Policy> policy = sb::build_policy(target->inputs);
  if (!policy) return report_error(policy.error());
  std::unique_ptr<ses::SessionProxy> proxy;
  if (policy->network == sb::NetworkMode::proxied) {
    Result<std::shared_ptr<const proxy::Policy>> pp = ses::session_proxy_policy(repo, st);
    if (!pp) return report_error(pp.error());
    Result<std::unique_ptr<ses::SessionProxy>> started = ses::SessionProxy::serve(
        name, target->inputs.proxy_socket, *pp, repo.network_log_path(name), repo.config.proxy);
    if (!started) return report_error(started.error());
    proxy = std::move(*started);
  }
  Result<sb::ForegroundExit> done = run_sandboxed(*policy, command, signals, shared);
  proxy.reset();
  if (!done) return report_error(done.error());
  return exit_code_of(*done);
}

std::vector<Option> policy_options() {
  std::string names;
  for (const std::string& n : sb::profile_names()) names += (names.empty() ? "" : ", ") + n;
  return {
      {.long_name = "profile",
       .value_name = "PROFILE",
       .help = "standard (host network) or standard-proxied (only the proxy); also " + names +
               ". Default: the session's, else sandbox.profile"},
      {.long_name = "allowed-domains",
       .value_name = "DOMAINS",
       .help = "more domains the proxy allows (comma list; standard-proxied)",
       .comma_list = true},
      {.long_name = "resolve",
       .value_name = "HOST:ADDR",
       .help = "let the proxy resolve HOST to ADDR (tests map names to loopback)",
       .repeatable = true},
      {.long_name = "no-network", .help = "an empty network namespace: no proxy, no network"},
      {.long_name = "json", .help = "machine-readable output"},
  };
}

}  // namespace

std::vector<Command> sandbox_commands() {
  std::vector<Option> explain_options = policy_options();
  explain_options.push_back({.long_name = "platform",
                             .value_name = "linux|macos",
                             .help = "render for this platform (default: this one)"});
  std::vector<Option> run_options = policy_options();
  run_options.push_back({.long_name = "log",
                         .value_name = "FILE",
                         .help = "standard-proxied: append the proxy's decisions to FILE (JSON "
                                 "lines) instead of stderr"});
  return {
      {CommandSpec{.path = {"sandbox", "run"},
                   .summary = "Run a command in the sandbox, in this worktree",
                   .positionals = "-- COMMAND...",
                   .options = run_options,
                   .passthrough = true,
                   .details =
                       "The current directory's git worktree is writable; in a para session "
                       "worktree the session's stored policy applies (flags override it) and "
                       "its branch is the only one that can move. standard-proxied starts a "
                       "proxy for the run (para's essential domains, sandbox.allowed_domains, "
                       "the session's domains and --allowed-domains). A terminal gets a "
                       "pseudo-terminal of its own. Fails closed if bubblewrap is missing. The "
                       "exit code is the command's (128+N if it was killed by signal N)."},
       run_sandbox},
      {CommandSpec{.path = {"sandbox", "explain"},
                   .summary = "Show the effective sandbox policy and launcher argv",
                   .positionals = "[SESSION] [-- COMMAND...]",
                   .max_positionals = 1,
                   .options = explain_options,
                   .passthrough = true,
                   .details = "Without SESSION: the current directory's worktree. With SESSION: "
                              "the session's stored settings (flags override them). --platform "
                              "macos prints the SBPL profile and the sandbox-exec argv on any "
                              "platform."},
       explain_sandbox},
      {CommandSpec{.path = {"shell"},
                   .summary = "Open a shell (or run a command) inside a session's sandbox",
                   .positionals = "SESSION [-- COMMAND...]",
                   .min_positionals = 1,
                   .max_positionals = 1,
                   .passthrough = true,
                   .details =
                       "The session's stored sandbox: the same files, secrets and network as "
                       "its agent; a network-isolated session gets its own proxy listener for "
                       "the shell's lifetime, logging to the session's network log. On a "
                       "terminal the shell gets a fresh pseudo-terminal (job control and Ctrl-C "
                       "work; nothing reaches your terminal but bytes). Commits to the session "
                       "branch come back when the shell exits. Without COMMAND: $SHELL."},
       run_shell},
  };
}

}  // namespace para::cli
