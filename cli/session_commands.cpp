// The session commands: thin adapters from flags to session operations,
// and from their JSON results to text (or --json).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "core/display_text.h"
#include "core/fd.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/process.h"
#include "session/ops.h"
#include "session/text.h"

namespace para::cli {
namespace {

using nlohmann::json;
using namespace para::session;

const Option kJson{"json", 0, "", "Print the result as JSON"};

std::vector<Option> sandbox_options() {
  return {
      {"sandbox", 's', "", "Run the agent in the sandbox (overrides config)"},
      {"no-sandbox", 0, "", "Run the agent without a sandbox (refused under sandbox.enforce)"},
      {"sandbox-profile", 0, "PROFILE", "standard (host network) or standard-proxied"},
      {"sandbox-no-network", 0, "", "Sandbox with network only through the domain-filtering proxy"},
      {"allowed-domains", 0, "DOMAINS", "More domains the proxy allows (comma list)", true, true},
  };
}

SandboxFlags sandbox_flags(const Args& a) {
  return SandboxFlags{.sandbox = a.flag("sandbox"),
                      .no_sandbox = a.flag("no-sandbox"),
                      .profile = a.value("sandbox-profile"),
                      .no_network = a.flag("sandbox-no-network"),
                      .allowed_domains = a.values("allowed-domains")};
}

// Opens the repository of the current directory; prints the error itself.
std::optional<Repo> open_here(const Args& a, int* exit_code) {
  Result<Repo> repo = open_repo(current_dir());
  if (!repo) {
    *exit_code = report_error(repo.error(), a.json());
    return std::nullopt;
  }
  return std::move(*repo);
}

int finish_with(const Args& a, const Result<json>& r,
                const std::function<std::string(const json&)>& text) {
  if (!r) return report_error(r.error(), a.json());
  if (a.json()) {
    print_json(*r);
  } else {
    print(text(*r));
  }
  return kExitOk;
}

// What an agent wrote (its log): to a terminal without
// the escape sequences that would act on it; to a pipe or file as it is.
void print_agent_output(const std::string& text) {
  static const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  print(terminal ? terminal_safe(text) : text);
}

// A diff for a terminal. Every escape sequence in it came from the agent's
// files, so none acts; para colours the lines itself, as git would.
std::string coloured_diff(const std::string& diff) {
  std::string out;
  for (size_t start = 0; start < diff.size();) {
    const size_t end = std::min(diff.find('\n', start), diff.size());
    const std::string_view line = std::string_view(diff).substr(start, end - start);
    const char* colour = line.starts_with("diff ") || line.starts_with("index ") ||
                                 line.starts_with("--- ") || line.starts_with("+++ ")
                             ? "\x1b[1m"
                         : line.starts_with("@@") ? "\x1b[36m"
                         : line.starts_with('+')  ? "\x1b[32m"
                         : line.starts_with('-')  ? "\x1b[31m"
                                                  : "";
    const std::string text = terminal_inert(std::string(line));
    out += *colour != '\0' ? colour + text + "\x1b[m" : text;
    if (end < diff.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

// ---- start
int run_start(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  StartRequest rq{.name = a.positional(0),
                  .prompt = a.value("prompt"),
                  .prompt_file = a.value("file"),
                  .dangerously_skip_permissions = a.flag("dangerously-skip-permissions"),
                  .sandbox = sandbox_flags(a),
                  .container = ContainerFlags{.container = a.flag("container"),
                                              .image = a.value("docker-image"),
                                              .allow_domains = a.values("allow-domains"),
                                              .docker_args = a.values("docker-args"),
                                              .no_forward_keys = a.flag("no-forward-keys")},
                  .setup_script = a.value("setup-script"),
                  .cwd = current_dir()};
  return finish_with(a, start_session(*repo, rq), start_text);
}

// ---- finish
int run_finish(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  // The message comes from -F FILE (for long messages; '-' is stdin) or is
  // the first positional, then SESSION follows.
  std::optional<std::string> message;
  size_t next = 0;
  if (auto file = a.value("message-file")) {
    Result<std::string> text = read_file(*file == "-" ? "/dev/stdin" : *file, size_t(16) << 20);
    if (!text) return report_error(text.error(), a.json());
    message = *text;
  } else if (auto m = a.positional(next++)) {
    message = *m;
  } else {
    report_error(fail(Errc::invalid_argument, "para finish: give a commit message (or -F FILE)"));
    return kExitUsage;
  }
  if (a.positionals().size() > next + 1) {
    report_error(fail(Errc::invalid_argument, "para finish: too many arguments"));
    return kExitUsage;
  }
  FinishRequest rq{.message = *message,
                   .session = a.positional(next),
                   .branch = a.value("branch"),
                   .cwd = current_dir()};
  return finish_with(a, finish_session(*repo, rq), finish_text);
}

// ---- cancel
int run_cancel(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  CancelRequest rq{.session = a.positional(0), .force = a.flag("force"), .cwd = current_dir()};
  return finish_with(a, cancel_session(*repo, rq), cancel_text);
}

// ---- recover
int run_recover(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  return finish_with(a, recover_session(*repo, a.positional(0)), recover_text);
}

// ---- resume
int run_resume(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  ResumeRequest rq{.session = a.positional(0),
                   .prompt = a.value("prompt"),
                   .prompt_file = a.value("file"),
                   .dangerously_skip_permissions = a.flag("dangerously-skip-permissions"),
                   .sandbox = sandbox_flags(a),
                   .cwd = current_dir()};
  return finish_with(a, resume_session(*repo, rq), message_text);
}

// ---- list

int run_list(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  ListRequest rq{
      .verbose = a.flag("verbose"), .archived = a.flag("archived"), .cwd = current_dir()};
  Result<json> r = list_sessions(*repo, rq);
  if (!r) return report_error(r.error(), a.json());
  if (a.json()) {
    print_json(*r);
  } else if (a.flag("quiet")) {
    std::string out;
    for (const json& s : (*r)["sessions"]) out += str(s, "name") + "\n";
    print(out);
  } else {
    print(list_text(*r, rq.verbose));
  }
  for (const json& p : (*r)["problems"])
    report_error(fail(Errc::invalid_argument, str(p, "message")));
  return (*r)["problems"].empty() ? kExitOk : kExitFailed;
}

// ---- status
int run_status(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  if (!a.value("tests")) {
    report_error(fail(Errc::invalid_argument,
                      "para status: --tests is required (passed, failed or unknown)"));
    return kExitUsage;
  }
  StatusUpdate u{.task = *a.positional(0),
                 .tests = a.value("tests").value_or(""),
                 .todos = a.value("todos"),
                 .blocked = a.flag("blocked"),
                 .session = a.value("session"),
                 .cwd = current_dir()};
  return finish_with(a, update_status(*repo, u), status_text);
}

int run_status_show(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  return finish_with(a, show_status(*repo, a.positional(0)), status_show_text);
}

int run_status_summary(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  return finish_with(a, summarize_status(*repo), status_summary_text);
}

// ---- clean
int run_clean(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  const bool dry = a.flag("dry-run");
  if (!dry && !a.flag("force")) {
    Result<json> plan =
        clean_repo(*repo, CleanRequest{.dry_run = true, .containers = a.flag("containers")});
    if (!plan) return report_error(plan.error(), a.json());
    if ((*plan)["actions"].empty()) {
      print("Nothing to clean.\n");
      return kExitOk;
    }
    const bool interactive = ::isatty(STDIN_FILENO) &&
                             std::getenv("PARA_NON_INTERACTIVE") == nullptr &&
                             std::getenv("CI") == nullptr;
    std::string out = "para clean would:\n";
    for (const json& act : (*plan)["actions"]) {
      out +=
          "  " + str(act, "kind") + ": " + str(act, "target") + " (" + str(act, "detail") + ")\n";
    }
    print(out);
    if (!interactive) {
      return report_error(fail(Errc::invalid_argument,
                               "para clean changes the repository; run it with --force to apply "
                               "this plan (or --dry-run to only see it)"),
                          a.json());
    }
    print("Apply? [y/N] ");
    std::string answer;
    char c;
    while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') answer += c;
    if (answer != "y" && answer != "Y" && answer != "yes") {
      print("Nothing changed.\n");
      return kExitOk;
    }
  }
  Result<json> r =
      clean_repo(*repo, CleanRequest{.dry_run = dry, .containers = a.flag("containers")});
  const int rc_done = finish_with(a, r, clean_text);
  if (rc_done != kExitOk || dry) return rc_done;
  size_t failed = 0;
  for (const json& act : (*r)["actions"]) failed += act.value("done", false) ? 0 : 1;
  if (failed == 0) return kExitOk;
  // A script must not mistake a partial clean for a clean repository.
  write_all(STDERR_FILENO, "para: " + std::to_string(failed) +
                               " clean-up actions did not complete; their reasons are above\n");
  return kExitFailed;
}

// ---- logs
int run_logs(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  size_t lines = 100;
  if (auto n = a.value("lines")) {
    char* end = nullptr;
    const long v = std::strtol(n->c_str(), &end, 10);
    if (n->empty() || *end != '\0' || v < 1 || v > 1000000) {
      return report_error(
          fail(Errc::invalid_argument, "-n takes a number of lines from 1 to 1000000"), a.json());
    }
    lines = static_cast<size_t>(v);
  }
  LogsRequest rq{.session = *a.positional(0), .lines = lines, .network = a.flag("network")};
  Result<json> r = read_logs(*repo, rq);
  if (!r) return report_error(r.error(), a.json());
  if (a.json()) {
    print_json(*r);
    return kExitOk;
  }
  print_agent_output(logs_text(*r));
  if (!a.flag("follow")) return kExitOk;
  // --follow: stream what is appended until the agent stops.
  const std::string path = str(*r, "log_path");
  struct stat st;
  off_t offset = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
  for (;;) {
    Fd log(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[65536];
    ssize_t n;
    while (log.valid() && (n = ::pread(log.get(), buf, sizeof buf, offset)) > 0) {
      print_agent_output(std::string(buf, static_cast<size_t>(n)));
      offset += n;
    }
    json d = describe_session(*repo, rq.session, false);
    if (!d.contains("agent") || str(d["agent"], "state") != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return kExitOk;
}

// ---- diff
int run_diff(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  Result<json> r = session_diff(*repo, *a.positional(0), a.flag("stat"));
  if (!r || a.json()) return finish_with(a, r, diff_text);
  static const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  print(terminal ? coloured_diff(diff_text(*r)) : diff_text(*r));
  return kExitOk;
}

// ---- wait
int run_wait(const Args& a) {
  int rc = 0;
  std::optional<Repo> repo = open_here(a, &rc);
  if (!repo) return rc;
  long seconds = 600;
  if (auto t = a.value("timeout")) {
    char* end = nullptr;
    seconds = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || seconds < 0 || seconds > 86400) {
      return report_error(fail(Errc::invalid_argument, "--timeout takes seconds from 0 to 86400"),
                          a.json());
    }
  }
  Result<json> r = wait_for_agent(*repo, *a.positional(0), std::chrono::seconds(seconds));
  if (!r) return report_error(r.error(), a.json());
  if (a.json()) {
    print_json(*r);
  } else {
    print(wait_text(*r));
  }
  return (*r)["timed_out"].get<bool>() ? kExitFailed : kExitOk;
}

// ---- config
int run_config_show(const Args& a) {
  Result<Repo> repo = open_repo(current_dir());
  Result<Config> config = repo ? Result<Config>(repo->config) : load_config("");
  if (!config) return report_error(config.error(), a.json());
  json out = {
      {"effective", config->effective},
      {"files",
       {{"user", config->user_file},
        {"project", config->project_file.empty() ? json(nullptr) : json(config->project_file)}}}};
  if (a.json()) {
    print_json(out);
  } else {
    print("# effective settings (user file " + config->user_file +
          (config->project_file.empty() ? "" : ", project file " + config->project_file) + ")\n" +
          config_to_toml(config->effective));
  }
  return kExitOk;
}

std::string config_file_for(const Args& a, int* exit_code) {
  if (!a.flag("project")) return user_config_path();
  Result<Repo> repo = open_repo(current_dir());
  if (!repo) {
    *exit_code = report_error(repo.error(), a.json());
    return "";
  }
  return project_config_path(repo->root);
}

int run_config_set(const Args& a) {
  int rc = 0;
  const std::string file = config_file_for(a, &rc);
  if (file.empty()) return rc;
  const std::string key = *a.positional(0);
  if (a.flag("project")) {
    if (std::optional<Error> refused = refused_in_project(key)) {
      return report_error(fail(*refused), a.json());
    }
  }
  Result<json> typed = set_config_value(file, key, json(*a.positional(1)));
  if (!typed) return report_error(typed.error(), a.json());
  if (a.json()) {
    print_json({{"file", file}, {"key", key}, {"value", *typed}});
  } else {
    print("Configuration updated: " + key + " = " + typed->dump() + " (" + file + ")\n");
  }
  return kExitOk;
}

int run_config_edit(const Args& a) {
  int rc = 0;
  const std::string file = config_file_for(a, &rc);
  if (file.empty()) return rc;
  // Edit a copy; only a valid result replaces the file.
  Result<json> current = read_config_file(file);
  if (!current) return report_error(current.error());
  const std::string draft = file + ".edit.toml";
  if (auto d = make_dirs(file.substr(0, file.rfind('/'))); !d) return report_error(d.error());
  struct stat draft_st, file_st;
  if (::stat(draft.c_str(), &draft_st) == 0 && ::stat(file.c_str(), &file_st) == 0 &&
      (file_st.st_mtim.tv_sec > draft_st.st_mtim.tv_sec ||
       (file_st.st_mtim.tv_sec == draft_st.st_mtim.tv_sec &&
        file_st.st_mtim.tv_nsec > draft_st.st_mtim.tv_nsec))) {
    // Saving the old draft would undo whatever changed the file since.
    return report_error(fail(Errc::conflict, "the draft of an earlier edit, " + draft +
                                                 ", is older than " + file +
                                                 ", which changed since. Copy what you need "
                                                 "from the draft, delete it, then edit again."));
  }
  if (!path_exists(draft)) {
    Result<std::string> text = read_file(file);
    if (auto w = write_file_atomic(draft, text ? *text : config_to_toml(*current)); !w) {
      return report_error(w.error());
    }
  }
  const char* editor = std::getenv("VISUAL");
  if (editor == nullptr || *editor == '\0') editor = std::getenv("EDITOR");
  const std::string program = editor && *editor ? editor : "vi";
  // "code --wait": words split at blanks, as most editors' settings are
  // written; no shell runs it.
  std::vector<std::string> argv;
  for (size_t i = 0; i < program.size();) {
    const size_t start = program.find_first_not_of(" \t", i);
    if (start == std::string::npos) break;
    const size_t end = std::min(program.find_first_of(" \t", start), program.size());
    argv.push_back(program.substr(start, end - start));
    i = end;
  }
  if (argv.empty()) argv.push_back("vi");
  argv.push_back(draft);
  Result<pid_t> pid = spawn(SpawnOptions{.argv = argv,
                                         .stdin_fd = STDIN_FILENO,
                                         .stdout_fd = STDOUT_FILENO,
                                         .stderr_fd = STDERR_FILENO,
                                         .new_group = false});
  if (!pid) return report_error(pid.error());
  Result<ExitStatus> status = wait_for(*pid, std::nullopt);
  if (!status || status->exit_code != 0) {
    return report_error(fail(Errc::tool_failed,
                             "the editor " + program + " failed; your draft is kept in " + draft));
  }
  Result<json> edited = read_config_file(draft);
  if (!edited) {
    return report_error(
        fail(Errc::invalid_argument, edited.error().message + "\nYour draft is kept in " + draft +
                                         "; run para config edit again to fix it."));
  }
  Result<std::string> text = read_file(draft);
  if (!text) return report_error(text.error());
  if (auto w = write_file_atomic(file, *text); !w) return report_error(w.error());
  std::error_code ec;
  std::filesystem::remove(draft, ec);
  print("Configuration saved: " + file + "\n");
  if (a.flag("project")) {
    for (const std::string& key : user_only_keys_in(*edited)) {
      log::warn("config") << key << " in a project file is ignored; only your user config ("
                          << user_config_path() << ") may set it";
    }
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> session_commands() {
  const Option prompt{"prompt", 'p', "TEXT", "The agent's task"};
  const Option file{"file", 'f', "FILE", "Read the task from a file ('-' for stdin)"};
  std::vector<Option> start_opts = {
      prompt,
      file,
      {"dangerously-skip-permissions", 'd', "", "Append the agent's skip-permissions arguments"},
      {"container", 'c', "", "Run the session in a Docker container"},
      {"docker-image", 0, "IMAGE", "The container image (default from config)"},
      {"allow-domains", 0, "DOMAINS", "Isolate the container's network; allow these domains", true,
       true},
      {"docker-args", 0, "ARG", "Extra docker create arguments (repeatable)", true},
      {"no-forward-keys", 0, "", "Do not forward API keys into the container"},
      {"setup-script", 0, "FILE", "Run this setup script in the new worktree"},
      kJson};
  for (Option& o : sandbox_options()) start_opts.push_back(o);
  std::vector<Option> resume_opts = {
      prompt,
      file,
      {"dangerously-skip-permissions", 0, "", "Append the agent's skip-permissions arguments"},
      kJson};
  for (Option& o : sandbox_options()) resume_opts.push_back(o);

  return {
      {{.path = {"start"},
        .summary = "Create a session (worktree + branch) and launch the agent",
        .positionals = "[NAME]",
        .max_positionals = 1,
        .options = start_opts,
        .details = "Without a prompt no agent is launched: the worktree is ready for you."},
       run_start},
      {{.path = {"finish"},
        .summary = "Commit the session's work to its branch for review",
        .positionals = "MESSAGE [SESSION]",
        .max_positionals = 2,
        .options = {{"branch", 'b', "BRANCH", "Also give the result this branch name"},
                    {"message-file", 'F', "FILE",
                     "Read the commit message from a file ('-': stdin)"},
                    kJson}},
       run_finish},
      {{.path = {"cancel"},
        .summary = "Stop a session and archive its branch (recoverable)",
        .positionals = "[SESSION]",
        .max_positionals = 1,
        .options = {{"force", 'f', "", "Cancel even with uncommitted changes (they are lost)"},
                    kJson}},
       run_cancel},
      {{.path = {"recover"},
        .summary = "Restore a cancelled session, or list the archives",
        .positionals = "[SESSION]",
        .max_positionals = 1,
        .options = {kJson}},
       run_recover},
      {{.path = {"resume"},
        .summary = "Repair a session and relaunch its agent",
        .positionals = "[SESSION]",
        .max_positionals = 1,
        .options = resume_opts},
       run_resume},
      {{.path = {"list"},
        .summary = "List sessions",
        .options = {{"verbose", 'v', "", "Show details"},
                    {"archived", 'a', "", "Include archived sessions"},
                    {"quiet", 'q', "", "Names only"},
                    kJson}},
       run_list},
      {{.path = {"ls"},
        .summary = "Same as list",
        .options = {{"verbose", 'v', "", "Show details"},
                    {"archived", 'a', "", "Include archived sessions"},
                    {"quiet", 'q', "", "Names only"},
                    kJson},
        .hidden = true},
       run_list},
      {{.path = {"status"},
        .summary = "Report the agent's progress (run inside the worktree)",
        .positionals = "TASK",
        .min_positionals = 1,
        .max_positionals = 1,
        .options = {{"tests", 0, "STATE", "passed, failed or unknown (required)"},
                    {"todos", 0, "DONE/TOTAL", "Progress through the todo list"},
                    {"blocked", 0, "", "The agent needs help"},
                    {"session", 0, "NAME", "The session (default: the worktree you are in)"},
                    kJson},
        .details = "Also: para status show [SESSION], para status summary"},
       run_status},
      {{.path = {"status", "show"},
        .summary = "Show the agents' status reports",
        .positionals = "[SESSION]",
        .max_positionals = 1,
        .options = {kJson}},
       run_status_show},
      {{.path = {"status", "summary"},
        .summary = "Count the status reports: active, stale, blocked, tests, progress",
        .options = {kJson}},
       run_status_summary},
      {{.path = {"clean"},
        .summary = "Repair what interrupted commands left behind",
        .options = {{"dry-run", 0, "", "Only print the plan"},
                    {"force", 'f', "", "Apply without asking"},
                    {"containers", 0, "", "Also remove orphaned para containers"},
                    kJson}},
       run_clean},
      {{.path = {"logs"},
        .summary = "Show a session's agent output (or proxy decisions)",
        .positionals = "SESSION",
        .min_positionals = 1,
        .max_positionals = 1,
        .options = {{"lines", 'n', "N", "How many lines (default 100)"},
                    {"follow", 0, "", "Keep printing while the agent runs"},
                    {"network", 0, "", "The proxy's decisions instead"},
                    kJson}},
       run_logs},
      {{.path = {"diff"},
        .summary = "Show a session's changes against where it started",
        .positionals = "SESSION",
        .min_positionals = 1,
        .max_positionals = 1,
        .options = {{"stat", 0, "", "Summary only"}, kJson}},
       run_diff},
      {{.path = {"wait"},
        .summary = "Wait until a session's agent exits",
        .positionals = "SESSION",
        .min_positionals = 1,
        .max_positionals = 1,
        .options = {{"timeout", 't', "SECONDS", "Give up after this long (default 600)"}, kJson}},
       run_wait},
      {{.path = {"config", "show"},
        .summary = "Show the effective configuration",
        .options = {kJson}},
       run_config_show},
      {{.path = {"config", "set"},
        .summary = "Set a configuration key (typed and validated)",
        .positionals = "KEY VALUE",
        .min_positionals = 2,
        .max_positionals = 2,
        .options = {{"project", 0, "", "Write the project file instead of the user file"}, kJson},
        .details = "Lists take comma-separated values: para config set sandbox.allowed_domains "
                   "a.com,b.org"},
       run_config_set},
      {{.path = {"config", "edit"},
        .summary = "Edit the configuration in $EDITOR (validated)",
        .options = {{"project", 0, "", "Edit the project file instead of the user file"}},
        .details =
            "Opens a draft copy in $VISUAL or $EDITOR (default vi). Its words are split at\n"
            "blanks, so \"code --wait\" works; no shell runs it. Only a valid draft replaces\n"
            "the file; an invalid one is kept for the next edit, unless the file changed since."},
       run_config_edit},
  };
}

}  // namespace para::cli
