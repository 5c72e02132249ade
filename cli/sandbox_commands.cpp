// para sandbox run | explain: run any command under a sandbox policy in the
// current directory's worktree, and show the effective policy with the
// exact launcher argv (bwrap on Linux, sandbox-exec on macOS).

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/process.h"
#include "sandbox/explain.h"
#include "sandbox/launch.h"
#include "sandbox/layout.h"
#include "sandbox/policy.h"

namespace para::cli {
namespace {

namespace sb = para::sandbox;

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

std::string tmp_root() {
  const char* t = std::getenv("TMPDIR");
  return real(t != nullptr && *t != '\0' ? t : "/tmp");
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

// The relay binary, or not_found (proxied mode then fails closed at launch).
Result<std::string> sandbox_relay() {
  return sibling_program("para-relay");
}

struct Request {
  sb::PolicyInputs inputs;
  std::string cwd;
};

// PolicyInputs for a worktree layout, from flags and the host.
Result<Request> request_for(const std::string& dir, const Args& args, const std::string& runtime) {
  Result<sb::DirectoryLayout> layout = sb::detect_layout(dir);
  if (!layout) return fail(layout.error());
  Request req;
  req.cwd = real(dir);
  sb::PolicyInputs& in = req.inputs;
  in.repo_root = layout->repo_root;
  in.git_common_dir = layout->git_common_dir;
  in.worktree = layout->worktree;
  in.session = layout->session;
  in.branch_prefix = layout->branch_prefix;
  in.state_dir = layout->state_dir;
  if (!layout->session.empty()) in.worktree_gitdir = layout->worktree_gitdir;
  in.runtime_dir = runtime;
  in.home = real(home_directory());
  in.profile = args.value("profile").value_or("standard");
  if (args.flag("no-network")) in.network_override = sb::NetworkMode::none;
  in.allowed_domains = args.values("allowed-domains");
  in.environment = current_environment();
  in.para_bin = self_executable();
  if (Result<std::string> relay = sandbox_relay(); relay) in.relay_bin = *relay;
  // TODO(lead): sandbox.deny_read, sandbox.extra_writable and proxy.port
  // from the merged config, and for sessions the stored sandbox settings.
  return req;
}

int run_sandbox(const Args& args) {
  const bool json = args.json();
  if (args.rest().empty())
    return usage_error("give the command after --: para sandbox run -- CMD...", json);
  if (auto p = sb::resolve_profile(args.value("profile").value_or("standard")); !p) {
    return usage_error(p.error().message, json);
  }
  for (const std::string& r : args.values("resolve")) {
    if (auto ok = check_resolve(r); !ok) return usage_error(ok.error().message, json);
  }
  const std::string runtime =
      tmp_root() + "/para-" + std::to_string(::getuid()) + "/run-" + random_hex(6);
  Result<Request> req = request_for(std::filesystem::current_path().string(), args, runtime);
  if (!req) return report_error(req.error(), json);
  // TODO(lead): in standard-proxied mode start a proxy listener on
  // <runtime>/proxy.sock with --allowed-domains and --resolve, and set
  // req->inputs.proxy_socket; until then launch() fails closed.
  Result<sb::Policy> policy = sb::build_policy(req->inputs);
  if (!policy) return report_error(policy.error(), json);
  policy->workdir = req->cwd;

  int code = kExitFailed;
  {
    if (auto r = sb::prepare_host(*policy); !r) {
      std::error_code ec;
      std::filesystem::remove_all(runtime, ec);
      return report_error(r.error(), json);
    }
    Result<sb::Launched> launched = sb::launch(
        *policy, args.rest(),
        sb::LaunchOptions{.stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .new_group = false});
    if (!launched) {
      std::error_code ec;
      std::filesystem::remove_all(runtime, ec);
      return report_error(launched.error(), json);
    }
    Result<ExitStatus> status = sb::wait_sandboxed(*launched);
    Result<void> synced = sb::sync_session_ref(*policy);
    std::error_code ec;
    std::filesystem::remove_all(runtime, ec);
    if (!status) return report_error(status.error(), json);
    if (!synced) report_error(synced.error(), false);
    code = status->term_signal != 0 ? 128 + status->term_signal : status->exit_code;
    if (json) {
      print_json({{"exit_code", status->exit_code},
                  {"signal", status->term_signal},
                  {"profile", policy->profile},
                  {"network", sb::network_mode_name(policy->network)}});
    }
  }
  return code;
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
  if (auto p = sb::resolve_profile(args.value("profile").value_or("standard")); !p) {
    return usage_error(p.error().message, json);
  }
  std::string dir = std::filesystem::current_path().string();
  if (std::optional<std::string> session = args.positional(0)) {
    // TODO(lead): read the session's stored sandbox settings (profile,
    // network, domains) from its state file; flags override them.
    if (auto ok = sb::validate_session_name(*session); !ok)
      return usage_error(ok.error().message, json);
    Result<sb::DirectoryLayout> here = sb::detect_layout(dir);
    if (!here) return report_error(here.error(), json);
    dir = here->repo_root + "/.para/worktrees/" + *session;
    if (!std::filesystem::is_directory(dir)) {
      return report_error(
          fail(Errc::not_found, "no session '" + *session + "': " + dir + " does not exist"), json);
    }
  }
  Result<sb::DirectoryLayout> layout = sb::detect_layout(dir);
  if (!layout) return report_error(layout.error(), json);
  const std::string tmp = tmp_root();
  const std::string runtime =
      layout->session.empty()
          ? tmp + "/para-" + std::to_string(::getuid()) + "/run-XXXXXXXXXXXX"
          : sb::default_runtime_dir(tmp, ::getuid(), layout->repo_root, layout->session);
  Result<Request> req = request_for(dir, args, runtime);
  if (!req) return report_error(req.error(), json);
  if (!layout->session.empty()) req->inputs.proxy_socket = runtime + "/proxy.sock";
  Result<sb::Policy> policy = sb::build_policy(req->inputs);
  if (!policy) return report_error(policy.error(), json);
  std::vector<std::string> command = args.rest();
  if (command.empty()) command = {"COMMAND"};
  std::string launcher = "bwrap";
  if (Result<std::string> b = find_program("bwrap"); b) launcher = *b;
  Result<nlohmann::json> e = sb::explain(*policy, *platform, command, launcher);
  if (!e) return report_error(e.error(), json);
  for (const std::string& r : args.values("resolve")) {
    if (auto ok = check_resolve(r); !ok) return usage_error(ok.error().message, json);
    (*e)["resolve"].push_back(r);
  }
  if (json) {
    print_json(*e);
  } else {
    print(sb::explain_text(*e));
  }
  return kExitOk;
}

std::vector<Option> policy_options() {
  std::string names;
  for (const std::string& n : sb::profile_names()) names += (names.empty() ? "" : ", ") + n;
  return {
      {.long_name = "profile",
       .value_name = "PROFILE",
       .help = "standard (host network) or standard-proxied (only the proxy); also " + names},
      {.long_name = "allowed-domains",
       .value_name = "DOMAINS",
       .help = "domains the proxy allows (comma list; standard-proxied)",
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
  return {
      {CommandSpec{.path = {"sandbox", "run"},
                   .summary = "Run a command in the sandbox, in this worktree",
                   .positionals = "-- COMMAND...",
                   .options = policy_options(),
                   .passthrough = true,
                   .details =
                       "The current directory's git worktree is writable; in a para session "
                       "worktree the session's layout applies (its branch is the only one "
                       "that can move). Fails closed if bubblewrap is missing. The exit code "
                       "is the command's."},
       run_sandbox},
      {CommandSpec{.path = {"sandbox", "explain"},
                   .summary = "Show the effective sandbox policy and launcher argv",
                   .positionals = "[SESSION] [-- COMMAND...]",
                   .max_positionals = 1,
                   .options = explain_options,
                   .passthrough = true,
                   .details = "Without SESSION: the current directory's worktree. --platform macos "
                              "prints the SBPL profile and the sandbox-exec argv on any platform."},
       explain_sandbox},
  };
}

}  // namespace para::cli
