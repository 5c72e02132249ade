// para's tools, resources and prompt on the MCP server: thin adapters from
// validated arguments to the session operations (session/ops.h), whose JSON
// results are the tools' structuredContent, rendered as text by
// session/text.h. No shell, no para binary: the operations run in-process.

#include "mcp/tools/para_tools.h"

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "docker/endpoint.h"
#include "docker/spec.h"
#include "schemas/schemas.h"
#include "session/ops.h"
#include "session/repo.h"
#include "session/store.h"
#include "session/text.h"

namespace para::mcp {
namespace {

using nlohmann::json;
namespace ss = para::session;

std::optional<std::string> opt_string(const json& args, const char* key) {
  if (args.contains(key) && args[key].is_string()) return args[key].get<std::string>();
  return std::nullopt;
}

bool flag(const json& args, const char* key) {
  return args.contains(key) && args[key].is_boolean() && args[key].get<bool>();
}

// Domains as para's comma-separated string, or as an array.
std::vector<std::string> domain_list(const json& args, const char* key) {
  std::vector<std::string> out;
  if (!args.contains(key)) return out;
  auto add = [&](std::string d) {
    const size_t b = d.find_first_not_of(" \t"), e = d.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(d.substr(b, e - b + 1));
  };
  if (args[key].is_array()) {
    for (const json& d : args[key]) add(d.get<std::string>());
  } else {
    const std::string text = args[key].get<std::string>();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      add(text.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

// A file an MCP client names (a task file, a setup script): only inside the
// repository. A person can name any file with the CLI; a client must not
// make para read a host file into a session (and show it back), nor run one.
// Returns the resolved path, symlinks followed, or nullopt when absent.
Result<std::optional<std::string>> repo_file(const ss::Repo& repo, const json& args,
                                             const char* key) {
  namespace fs = std::filesystem;
  const std::optional<std::string> given = opt_string(args, key);
  if (!given || given->empty()) return given;
  const std::string what = std::string(key) + ": " + *given;
  if (*given == "-") {
    return fail(Errc::invalid_argument, what + " (stdin) is for the CLI; pass the task as prompt");
  }
  auto inside = [](const fs::path& path, const fs::path& root) {
    const std::string p = path.string(), r = root.string();
    return p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/';
  };
  const fs::path lexical = (fs::path(repo.root) / *given).lexically_normal();
  std::error_code ec;
  const fs::path root = fs::canonical(repo.root, ec);
  if (inside(lexical, fs::path(repo.root).lexically_normal())) {
    const fs::path real = fs::canonical(lexical, ec);
    if (ec) return fail(Errc::not_found, what + " does not exist in the repository");
    if (inside(real, root)) return std::optional<std::string>(real.string());
  }
  return fail(Errc::denied,
              what + " is outside the repository " + repo.root +
                  "; MCP clients name files inside it (a person can use any file with para "
                  "start -f)");
}

// docker_args "-e NAME" copies NAME's value from the server's environment:
// through MCP, that would hand the server's secrets to a session of the
// client's choosing. Which keys reach containers is the user's config
// (docker.forward_env_keys); "-e NAME=VALUE" stays allowed.
Result<void> check_docker_args_env(const json& args) {
  const std::vector<std::string> given = args.value("docker_args", std::vector<std::string>{});
  Result<docker::DockerArgs> parsed = docker::parse_docker_args(given, docker::process_env());
  if (!parsed) return {};  // start_session reports the parse error
  if (parsed->secret_env.empty()) return {};
  return fail(Errc::denied, "docker_args: -e " + parsed->secret_env.begin()->first +
                                " would copy a variable from the server's environment; MCP "
                                "clients pass -e NAME=VALUE (docker.forward_env_keys, set by a "
                                "person, decides which keys reach containers)");
}

ss::SandboxFlags sandbox_flags(const json& args) {
  return ss::SandboxFlags{.sandbox = flag(args, "sandbox"),
                          .no_sandbox = flag(args, "no_sandbox"),
                          .profile = opt_string(args, "sandbox_profile"),
                          .no_network = flag(args, "sandbox_no_network"),
                          .allowed_domains = domain_list(args, "allowed_domains")};
}

ss::Progress progress_of(ToolContext& ctx) {
  return ss::Progress{
      .report = [&ctx](double done, std::optional<double> total,
                       const std::string& message) { ctx.progress(done, total, message); },
      .cancelled = [&ctx] { return ctx.cancelled(); }};
}

// One tool: its schemas come from schemas/tools/<name>.{input,output}.json.
struct Spec {
  const char* name;
  const char* title;
  const char* description;
  json annotations;
  std::function<Result<json>(const ss::Repo&, const json&, ToolContext&)> run;
  std::function<std::string(const json&)> text;
  bool changes_sessions = false;
};

json hints(bool read_only, bool destructive, bool idempotent) {
  json h = {{"readOnlyHint", read_only}, {"openWorldHint", false}};
  if (!read_only) {
    h["destructiveHint"] = destructive;
    h["idempotentHint"] = idempotent;
  }
  return h;
}

std::vector<Spec> specs(const std::string& repo_root) {
  (void)repo_root;
  return {
      {"para_start", "Start a session",
       "Create a NEW para session: a git worktree on its own branch para/<name>, and (with a "
       "prompt "
       "or file) an AI agent working on the task in it, detached. Use once per independent task; "
       "to continue an existing session use para_resume. Isolation: sandbox (bubblewrap; files "
       "outside the worktree read-only, secrets hidden), sandbox_no_network (also network only "
       "through a domain-filtering proxy; add domains with allowed_domains), container (Docker). "
       "Returns the session (name, branch, worktree_path, agent pid) and the log path; follow it "
       "with para_wait, para_status_show and para_logs.",
       hints(false, false, false),
       [](const ss::Repo& repo, const json& a, ToolContext& ctx) {
         Result<std::optional<std::string>> file = repo_file(repo, a, "file");
         if (!file) return Result<json>(fail(file.error()));
         Result<std::optional<std::string>> setup = repo_file(repo, a, "setup_script");
         if (!setup) return Result<json>(fail(setup.error()));
         if (auto r = check_docker_args_env(a); !r) return Result<json>(fail(r.error()));
         ss::StartRequest rq{
             .name = opt_string(a, "name"),
             .prompt = opt_string(a, "prompt"),
             .prompt_file = *file,
             .dangerously_skip_permissions = flag(a, "dangerously_skip_permissions"),
             .sandbox = sandbox_flags(a),
             .container = ss::ContainerFlags{.container = flag(a, "container"),
                                             .image = opt_string(a, "docker_image"),
                                             .allow_domains = domain_list(a, "allow_domains"),
                                             .docker_args =
                                                 a.value("docker_args", std::vector<std::string>{}),
                                             .no_forward_keys = flag(a, "no_forward_keys")},
             .setup_script = *setup,
             .cwd = repo.root};
         return ss::start_session(repo, rq, progress_of(ctx));
       },
       ss::start_text, true},
      {"para_finish", "Finish a session",
       "Finish a session's work: stop its agent, commit every change in its worktree to branch "
       "para/<name> with commit_message (no empty commit when nothing changed), optionally copy "
       "the branch to `branch`, mark it Review and remove the worktree. Nothing is merged or "
       "pushed: a person reviews the branch. Returns the branch, the commit, whether anything "
       "was committed and, in review_first, the files it changed that host programs run or obey "
       "(.para/ setup scripts, .envrc, editor tasks, hooks): point the reviewer at them; in "
       "left_out, what of the agent's git work in its sandbox was refused (its files were still "
       "committed).",
       hints(false, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::finish_session(repo, ss::FinishRequest{.message = a["commit_message"],
                                                           .session = opt_string(a, "session"),
                                                           .branch = opt_string(a, "branch"),
                                                           .cwd = repo.root});
       },
       ss::finish_text, true},
      {"para_resume", "Resume a session",
       "Continue an EXISTING session: repair its worktree if it is missing and relaunch its agent "
       "with the settings the session stored (sandbox, network, skip-permissions; flags "
       "override), with `prompt` as new instructions (else its original task). Fails while its "
       "agent is still running (use para_wait). Returns whether the worktree was repaired and "
       "the agent launched.",
       hints(false, false, false),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         Result<std::optional<std::string>> file = repo_file(repo, a, "file");
         if (!file) return Result<json>(fail(file.error()));
         return ss::resume_session(repo, ss::ResumeRequest{.session = opt_string(a, "session"),
                                                           .prompt = opt_string(a, "prompt"),
                                                           .prompt_file = *file,
                                                           .dangerously_skip_permissions = flag(
                                                               a, "dangerously_skip_permissions"),
                                                           .sandbox = sandbox_flags(a),
                                                           .cwd = repo.root});
       },
       ss::message_text, true},
      {"para_list", "List sessions",
       "List the repository's sessions: status (Active, Review), branch, worktree, the agent's "
       "state (running, exited with code, stopped), its latest status report, and anything an "
       "interrupted command left behind (para clean repairs it). Read-only; call it whenever you "
       "need the current picture.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::list_sessions(repo, ss::ListRequest{.verbose = flag(a, "verbose"),
                                                        .archived = flag(a, "archived"),
                                                        .cwd = repo.root});
       },
       [](const json& r) { return ss::list_text(r, false); }},
      {"para_recover", "Recover a cancelled session",
       "Restore a cancelled session from its archived branch: branch para/<name> and a worktree "
       "at the normal path. Without session_name, list the archives (name, branch, when).",
       hints(false, false, false),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::recover_session(repo, opt_string(a, "session_name"));
       },
       ss::recover_text, true},
      {"para_config_show", "Show the configuration",
       "Show para's effective configuration (user file merged with the project's "
       ".para/config.toml): agent command, sandbox defaults and allowed domains, proxy, docker. "
       "Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json&, ToolContext&) -> Result<json> {
         return json{
             {"effective", repo.config.effective},
             {"files",
              {{"user", repo.config.user_file},
               {"project", repo.config.project_file.empty() ? json(nullptr)
                                                            : json(repo.config.project_file)}}}};
       },
       [](const json& r) { return r["effective"].dump(2) + "\n"; }},
      {"para_config_set", "Set a configuration key",
       "Set one configuration key (dotted path, e.g. sandbox.allowed_domains) in the user file, "
       "or the project file with project=true. The value is typed and validated by the config "
       "schema before anything is written (lists as comma-separated text). Returns the typed "
       "value.",
       hints(false, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) -> Result<json> {
         const std::string file =
             flag(a, "project") ? ss::project_config_path(repo.root) : ss::user_config_path();
         const std::string key = a["path"];
         if (auto refused = ss::refused_through_mcp(key)) return fail(*refused);
         if (auto refused = flag(a, "project") ? ss::refused_in_project(key) : std::nullopt) {
           return fail(*refused);
         }
         Result<json> typed = ss::set_config_value(file, key, a["value"]);
         if (!typed) return fail(typed.error());
         return json{{"file", file}, {"key", key}, {"value", *typed}};
       },
       [](const json& r) {
         return "Configuration updated: " + ss::str(r, "key") + " = " + r["value"].dump() + "\n";
       }},
      {"para_cancel", "Cancel a session",
       "DESTRUCTIVE for uncommitted work: stop a session's agent, archive its branch to "
       "para/archived/<time>/<name> (recoverable with para_recover) and remove its worktree. "
       "Refuses when the worktree has uncommitted changes unless force=true (they are lost). "
       "Never use it on a session whose work you want reviewed: use para_finish.",
       hints(false, true, false),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::cancel_session(repo, ss::CancelRequest{.session = opt_string(a, "session_name"),
                                                           .force = flag(a, "force"),
                                                           .cwd = repo.root});
       },
       ss::cancel_text, true},
      {"para_status_show", "Show agents' status reports",
       "Show what agents reported with `para status`: current task, test status "
       "(passed/failed/unknown), todo progress, whether blocked, diff size, last update. One "
       "session or all. Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::show_status(repo, opt_string(a, "session"));
       },
       ss::status_show_text},
      {"para_logs", "Read a session's agent output",
       "The last lines of a session's log: everything its agent printed, and para's markers "
       "(agent started, exited with code N). Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::read_logs(repo, ss::LogsRequest{.session = a["session"],
                                                    .lines = a.value("lines", size_t(100))});
       },
       ss::logs_text},
      {"para_diff", "Show a session's changes",
       "The session's changes against the commit it started from: committed and uncommitted, "
       "new files included (stat=true for a summary). Use it to review before para_finish. "
       "Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::session_diff(repo, a["session"], flag(a, "stat"));
       },
       ss::diff_text},
      {"para_network_log", "Show a session's network decisions",
       "Every decision the session's domain-filtering proxy made (network-isolated sessions): "
       "host, port, resolved address, allowed or denied and why, bytes each way. Use it to see "
       "which domain an agent needed; add it with allowed_domains on para_resume. Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext&) {
         return ss::read_logs(repo, ss::LogsRequest{.session = a["session"],
                                                    .lines = a.value("limit", size_t(100)),
                                                    .network = true});
       },
       ss::logs_text},
      {"para_wait", "Wait for a session's agent",
       "Block until the session's agent exits (or timeout_seconds pass), sending progress "
       "notifications about once a second. Returns the agent's final state and exit code and its "
       "latest status report; then review with para_diff and para_finish. Read-only.",
       hints(true, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext& ctx) {
         const double seconds = a.value("timeout_seconds", 600.0);
         return ss::wait_for_agent(repo, a["session"],
                                   std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)),
                                   progress_of(ctx));
       },
       ss::wait_text},
      {"para_docker_build", "Build a container image",
       "Build the Docker image container sessions run in (para_start with container=true), "
       "from a directory with a Dockerfile, through the Docker Engine API; sends progress "
       "notifications per build step. Use when para_start reports that the image is missing. "
       "Returns the image id and tag.",
       hints(false, false, true),
       [](const ss::Repo& repo, const json& a, ToolContext& ctx) {
         return ss::build_agent_image(
             ss::BuildImageRequest{.context = a["context"],
                                   .tag = opt_string(a, "tag"),
                                   .add_files = a.value("add_files", std::vector<std::string>{}),
                                   .no_cache = flag(a, "no_cache"),
                                   .cwd = repo.root},
             progress_of(ctx));
       },
       ss::message_text},
  };
}

// Resource contents: one JSON text.
json json_contents(const std::string& uri, const json& value) {
  return json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", value.dump(2)}}});
}

std::string dispatch_prompt(const std::string& goal, const std::string& constraints) {
  return "You are orchestrating parallel AI coding agents with para's MCP tools.\n\nGoal:\n" +
         goal + "\n\n" + (constraints.empty() ? "" : "Constraints:\n" + constraints + "\n\n") +
         "1. Read the code you need, then split the goal into independent tasks that touch "
         "different files (2-6 tasks; fewer is better than conflicting ones).\n"
         "2. For each task write tasks/TASK_<n>_<slug>.md: what to build, which files, which "
         "tests must pass, and end with: run `para finish \"<message>\"` when done.\n"
         "3. Start one session per task: para_start {\"name\": \"<slug>\", \"file\": "
         "\"tasks/TASK_<n>_<slug>.md\", \"sandbox_no_network\": true} (add allowed_domains "
         "for package registries the task needs; use container=true for untrusted code).\n"
         "4. Watch with para_list and para_status_show; block with para_wait per session.\n"
         "5. Review each with para_diff. para_finish the good ones (their branches await a human "
         "review); para_resume with a prompt to fix one; para_cancel what should be dropped.\n"
         "6. Report the branches and what each contains. Never merge them yourself.\n";
}

}  // namespace

Result<void> register_para_tools(Server& server, const ParaToolsOptions& options) {
  const std::string repo_path = options.repo;
  auto open = [repo_path]() { return ss::open_repo(repo_path); };
  // The server starts even when the repository is unusable (an MCP client
  // shows a server that fails to start only as "failed to connect"); every
  // call then answers with the reason and what to do.
  if (Result<ss::Repo> probe = open(); !probe) {
    log::warn("mcp") << "the para tools cannot work yet: " << probe.error().message;
  }

  for (Spec& spec : specs(repo_path)) {
    const std::string name = spec.name;
    auto run = spec.run;
    auto text = spec.text;
    const bool changes = spec.changes_sessions;
    Server* srv = &server;
    Tool tool{.name = name,
              .title = spec.title,
              .description = spec.description,
              .input_schema = schemas::get("tools/" + name + ".input"),
              .output_schema = schemas::get("tools/" + name + ".output"),
              .annotations = spec.annotations,
              .handler = [open, run, text, changes, srv](const json& args,
                                                         ToolContext& ctx) -> Result<ToolResult> {
                Result<ss::Repo> repo = open();
                if (!repo) return fail(repo.error());
                Result<json> result = run(*repo, args, ctx);
                if (!result) return fail(result.error());
                if (changes) {  // para://sessions/{name} come and go with sessions
                  srv->notify_resource_updated("para://sessions");
                  srv->notify_resource_list_changed();
                }
                ToolResult out;
                out.content = json::array({text_content(text(*result))});
                out.structured = std::move(*result);
                return out;
              }};
    if (auto r = server.add_tool(std::move(tool)); !r) return r;
  }

  auto listing = [open]() -> Result<json> {
    Result<ss::Repo> repo = open();
    if (!repo) return fail(repo.error());
    return ss::list_sessions(*repo, ss::ListRequest{.cwd = repo->root});
  };
  if (auto r = server.add_resource(Resource{
          .uri = "para://config",
          .name = "config",
          .title = "para configuration",
          .description = "The effective configuration (user file merged with the project's).",
          .mime_type = "application/json",
          .read = [open](const std::string& uri, ToolContext&) -> Result<json> {
            Result<ss::Repo> repo = open();
            if (!repo) return fail(repo.error());
            return json_contents(uri, repo->config.effective);
          }});
      !r) {
    return r;
  }
  if (auto r = server.add_resource(
          Resource{.uri = "para://sessions",
                   .name = "sessions",
                   .title = "para sessions",
                   .description = "Every session with its agent and status report (as para_list).",
                   .mime_type = "application/json",
                   .read = [listing](const std::string& uri, ToolContext&) -> Result<json> {
                     Result<json> list = listing();
                     if (!list) return fail(list.error());
                     return json_contents(uri, *list);
                   }});
      !r) {
    return r;
  }
  auto session_names = [open]() {
    std::vector<std::string> names;
    if (Result<ss::Repo> repo = open(); repo) names = ss::session_names(*repo);
    return names;
  };
  auto complete_name = [session_names](const std::string&, const std::string& prefix, const json&) {
    std::vector<std::string> out;
    for (const std::string& n : session_names()) {
      if (n.rfind(prefix, 0) == 0) out.push_back(n);
    }
    return out;
  };
  if (auto r = server.add_resource_template(ResourceTemplate{
          .uri_template = "para://sessions/{name}",
          .name = "session",
          .title = "A para session",
          .description = "One session as para_list describes it.",
          .mime_type = "application/json",
          .read = [open](const std::string& uri, const std::map<std::string, std::string>& vars,
                         ToolContext&) -> Result<json> {
            Result<ss::Repo> repo = open();
            if (!repo) return fail(repo.error());
            const std::string name = vars.at("name");
            if (Result<ss::SessionState> s = ss::read_session(*repo, name); !s)
              return fail(s.error());
            return json_contents(uri, ss::describe_session(*repo, name, true));
          },
          .list =
              [session_names]() {
                std::vector<Resource> out;
                for (const std::string& n : session_names()) {
                  out.push_back(Resource{.uri = "para://sessions/" + n,
                                         .name = n,
                                         .title = "Session " + n,
                                         .mime_type = "application/json"});
                }
                return out;
              },
          .complete = complete_name});
      !r) {
    return r;
  }
  if (auto r = server.add_resource_template(ResourceTemplate{
          .uri_template = "para://sessions/{name}/log",
          .name = "session-log",
          .title = "A session's agent output",
          .description = "The last 1,000 lines of the session's log.",
          .mime_type = "text/plain",
          .read = [open](const std::string& uri, const std::map<std::string, std::string>& vars,
                         ToolContext&) -> Result<json> {
            Result<ss::Repo> repo = open();
            if (!repo) return fail(repo.error());
            Result<json> logs =
                ss::read_logs(*repo, ss::LogsRequest{.session = vars.at("name"), .lines = 1000});
            if (!logs) return fail(logs.error());
            return json::array(
                {{{"uri", uri}, {"mimeType", "text/plain"}, {"text", ss::logs_text(*logs)}}});
          },
          .complete = complete_name});
      !r) {
    return r;
  }
  return server.add_prompt(Prompt{
      .name = "para_dispatch",
      .title = "Split work into para sessions",
      .description = "Guides a model through splitting a goal into independent tasks, one "
                     "sandboxed para session each, then waiting, reviewing and finishing them.",
      .arguments = {{.name = "goal",
                     .title = "Goal",
                     .description = "The overall change to make",
                     .required = true},
                    {.name = "constraints",
                     .title = "Constraints",
                     .description = "Limits: allowed domains, files not to touch, deadlines"}},
      .handler = [](const std::map<std::string, std::string>& args, ToolContext&) -> Result<json> {
        const auto c = args.find("constraints");
        return json{
            {"description", "Dispatch work to parallel para sessions"},
            {"messages", json::array({prompt_message(
                             "user", text_content(dispatch_prompt(
                                         args.at("goal"), c == args.end() ? "" : c->second)))})}};
      }});
}

std::string para_instructions() {
  return "para runs AI coding agents in parallel, each in its own git worktree and branch "
         "(para/<name>), inside a sandbox, and leaves the branches for a person to review.\n"
         "Workflow: split the work into independent tasks (the para_dispatch prompt helps); "
         "para_start one session per task with a prompt or a task file (sandbox_no_network "
         "for network isolation through a domain-filtering proxy, container for Docker); watch "
         "with para_list, para_status_show and para_logs; block on para_wait; review with "
         "para_diff; then para_finish (commits to the branch, nothing is merged) or para_resume "
         "with new instructions, or para_cancel (archives the branch; para_recover restores it).\n"
         "Sessions outlive this server. Failed operations return isError with what to do next.";
}

}  // namespace para::mcp
