// para start: validate everything, then create the session in an order that
// a crash at any point leaves visible (status Starting with our pid) and
// repairable (para clean), and roll back on any later failure.

#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "core/display_text.h"
#include "core/fs.h"
#include "core/log.h"
#include "session/agent.h"
#include "session/container.h"
#include "session/internal.h"
#include "session/names.h"
#include "session/ops.h"
#include "session/procs.h"
#include "session/sandbox_settings.h"
#include "session/sandboxing.h"
#include "session/session_proxy.h"
#include "session/setup_script.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string absolute(const std::string& path, const std::string& cwd) {
  if (path.empty() || path[0] == '/') return path;
  return (fs::path(cwd.empty() ? current_dir() : cwd) / path).lexically_normal().string();
}

}  // namespace

Result<std::optional<std::string>> load_prompt(const std::optional<std::string>& text,
                                               const std::optional<std::string>& file,
                                               const std::string& cwd) {
  if (text && file) {
    return fail(Errc::invalid_argument,
                "give the prompt either as text (-p/prompt) or as a file (-f/file), not both");
  }
  std::string prompt;
  if (file) {
    if (file->empty()) return fail(Errc::invalid_argument, "the prompt file name is empty");
    const std::string path = *file == "-" ? "/dev/stdin" : absolute(*file, cwd);
    Result<std::string> content = read_file(path, size_t(16) << 20);
    if (!content) {
      return fail(Errc::invalid_argument,
                  "cannot read the prompt file " + path + ": " + content.error().message);
    }
    prompt = std::move(*content);
  } else if (text) {
    prompt = *text;
  } else {
    return std::optional<std::string>();
  }
  if (prompt.find('\0') != std::string::npos) {
    return fail(Errc::invalid_argument, "the prompt contains a NUL byte; prompts must be text");
  }
  if (!valid_utf8(prompt)) {
    return fail(Errc::invalid_argument,
                std::string("the prompt") + (file ? " file" : "") +
                    " is not UTF-8 text; convert it first (e.g. iconv -f latin1 -t utf-8)");
  }
  if (prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail(Errc::invalid_argument,
                "the prompt is empty; give a task, or start without a prompt to get a worktree "
                "without an agent");
  }
  return std::optional<std::string>(std::move(prompt));
}

Result<void> check_agent_command(const std::vector<std::string>& argv) {
  const std::string& program = argv.front();
  Result<std::string> found =
      program.find('/') == std::string::npos
          ? find_program(program)
          : (::access(program.c_str(), X_OK) == 0 ? Result<std::string>(program)
                                                  : Result<std::string>(fail(Errc::not_found, "")));
  if (!found) {
    return fail(Errc::unavailable,
                "the agent program '" + program +
                    "' was not found. Install it, or set the agent command in your config, e.g. "
                    "para config set agent.command \"my-agent,--task,{prompt}\"");
  }
  return {};
}

Result<json> start_session(const Repo& repo, const StartRequest& rq, const Progress& progress) {
  // ---- Validate everything before touching anything.
  Result<std::optional<std::string>> current = git_main_branch(repo.common_dir, repo.main());
  if (!current) return fail(current.error());
  if (!*current) {
    return fail(Errc::conflict,
                "HEAD is detached in " + repo.root +
                    "; para branches new sessions from the current branch, so check out a branch "
                    "first (git switch <branch>)");
  }
  const std::string parent = **current;

  Result<std::optional<std::string>> prompt = load_prompt(rq.prompt, rq.prompt_file, rq.cwd);
  if (!prompt) return fail(prompt.error());

  std::string name;
  if (rq.name) {
    if (auto v = validate_session_name(*rq.name); !v) return fail(v.error());
    name = *rq.name;
  } else {
    name = generate_session_name([&](const std::string& candidate) {
      // A branch of that name (left by git, or archived names' parents) is
      // read from the ref files: no git process per try.
      return path_exists(repo.state_path(candidate)) ||
             path_exists(repo.worktree_path(candidate)) ||
             git_branch_exists(repo.common_dir, repo.branch(candidate));
    });
  }

  Result<SandboxSettings> sandbox = resolve_sandbox(repo.config, rq.sandbox, std::nullopt);
  if (!sandbox) return fail(sandbox.error());
  const ContainerFlags& cf = rq.container;
  const bool container =
      cf.container || cf.image || !cf.allow_domains.empty() || !cf.docker_args.empty();
  if (!cf.container && container) {
    return fail(Errc::invalid_argument,
                "--docker-image, --allow-domains and --docker-args apply to container sessions; "
                "add --container (MCP: container=true)");
  }
  json container_settings = json::object();
  bool local_engine = false;
  if (container) {
    // The container is the sandbox: bubblewrap is not used, and asking for
    // network isolation (--allow-domains or a proxied/no-network profile)
    // gives the container no network but the session proxy.
    for (const std::string& d : cf.allow_domains) sandbox->allowed_domains.push_back(d);
    const bool isolated = sandbox->network_mode == "proxied" || !cf.allow_domains.empty();
    sandbox->enabled = false;
    sandbox->network_mode = isolated ? "proxied" : "open";
    Result<json> checked = check_container_request(repo, cf, isolated, &local_engine);
    if (!checked) return fail(checked.error());
    container_settings = std::move(*checked);
  }
  // The supervisor starts as early as possible, so that its own start (a
  // process, the Docker daemon's connection, the session proxy) overlaps
  // this command's work; it launches the agent on go() below (supervisor.h).
  // Until the state is written it touches nothing, so a request refused
  // below leaves nothing behind. On a local engine it also checks the daemon
  // and the image meanwhile; the start waits for that before the container
  // can be made (daemon_checked()), and rolls back if it failed. Otherwise
  // (a remote engine, where the insecure-TCP warning belongs on this
  // command's stderr, or no agent) this command checks, before anything exists.
  const std::optional<std::string> image =
      container ? std::optional<std::string>(container_settings["image"].get<std::string>())
                : std::nullopt;
  const bool supervisor_checks = *prompt && container && local_engine;
  std::optional<PendingSupervisor> pending;
  if (*prompt) {
    Result<PendingSupervisor> spawned =
        spawn_supervisor(repo, name, container, supervisor_checks ? image : std::nullopt);
    if (!spawned) return fail(spawned.error());
    pending.emplace(std::move(*spawned));
  }
  if (container && !supervisor_checks) {
    Result<docker::Client> client = docker::Client::from_env();
    if (!client) return fail(client.error());
    if (auto r = check_daemon_has_image(*client, *image); !r) return fail(r.error());
  }
  std::string sandbox_note;
  if (sandbox->enabled) {
    Result<bool> usable = sandbox_usable(repo.config);
    if (!usable) return fail(usable.error());
    if (!*usable) {
      sandbox->enabled = false;
      sandbox->network_mode = "open";
      sandbox_note = " WITHOUT a sandbox (bubblewrap is unavailable and sandbox.fail_open is on)";
    }
  }

  std::vector<std::string> agent_command = repo.config.agent_command;
  if (rq.dangerously_skip_permissions) {
    agent_command.insert(agent_command.end(), repo.config.skip_permissions_args.begin(),
                         repo.config.skip_permissions_args.end());
  }
  if (*prompt && !container) {  // a container's agent is in its image
    Result<std::vector<std::string>> argv = expand_agent_command(
        agent_command, AgentValues{**prompt, repo.task_path(name), name, repo.worktree_path(name)});
    if (!argv) return fail(argv.error());
    if (auto r = check_agent_command(*argv); !r) return fail(r.error());
  }

  // A container session's setup script runs inside its container (the
  // supervisor execs it before the agent); docker.setup_script is its default.
  std::optional<std::string> setup_request = rq.setup_script;
  if (container && !setup_request && repo.config.docker.setup_script) {
    setup_request = absolute(*repo.config.docker.setup_script, repo.root);
  }
  Result<std::optional<std::string>> setup = find_setup_script(repo, setup_request, rq.cwd);
  if (!setup) return fail(setup.error());

  // ---- Reserve the name.
  // The first session of a repository creates .para/, which no rollback
  // removes; there the daemon check is awaited first, so that a missing
  // image leaves the repository as it was.
  bool check_pending = supervisor_checks;
  if (check_pending && !path_exists(repo.para_dir())) {
    check_pending = false;
    if (auto r = pending->daemon_checked(); !r) return fail(r.error());
  }
  if (auto r = ensure_para_dirs(repo); !r) return fail(r.error());
  Result<FileLock> lock = lock_session(repo, name);
  if (!lock) return fail(lock.error());
  const std::string branch = repo.branch(name);
  if (path_exists(repo.state_path(name))) {
    return fail(Errc::already_exists, "session '" + name + "' already exists. Use 'para resume " +
                                          name + "' to continue it, or pick another name.");
  }
  if (path_exists(repo.worktree_path(name))) {
    return fail(Errc::already_exists,
                "the worktree path " + repo.worktree_path(name) +
                    " already exists but no session owns it; run para clean, or pick another name");
  }
  if (std::filesystem::is_directory(repo.common_dir + "/refs/heads/" + branch)) {
    return fail(Errc::already_exists, "branches named " + branch +
                                          "/... exist, so git cannot create the branch " + branch +
                                          "; pick another name (git branch --list '" + branch +
                                          "/*' shows them)");
  }
  if (git_branch_exists(repo.common_dir, branch)) {
    return fail(Errc::already_exists,
                "the branch " + branch +
                    " already exists (from an earlier session?). Pick another "
                    "name, or recover it with para recover / delete it with git branch -D " +
                    branch);
  }

  SessionState s;
  if (sandbox->network_mode == "proxied") {
    // Validate the allowlist now: a bad domain must fail before anything exists.
    SessionState probe;
    probe.name = name;
    probe.allowed_domains = sandbox->allowed_domains;
    if (auto p = session_proxy_policy(repo, probe); !p) return fail(p.error());
  }
  s.name = name;
  s.branch = branch;
  s.worktree_path = repo.worktree_path(name);
  s.created_at = rfc3339(std::chrono::system_clock::now());
  s.status = SessionStatus::starting;
  take_ownership(s);
  s.parent_branch = parent;
  s.task_description = *prompt ? std::optional<std::string>(**prompt) : std::nullopt;
  s.dangerous_skip_permissions = rq.dangerously_skip_permissions;
  s.sandbox_enabled = sandbox->enabled;
  if (sandbox->enabled || rq.sandbox.profile) s.sandbox_profile = sandbox->profile;
  s.network_mode = sandbox->network_mode;
  s.allowed_domains = sandbox->allowed_domains;
  s.agent_command = agent_command;
  s.setup_script = *setup;
  s.is_container = container;
  s.container = container_settings;
  s.runtime_dir = repo.runtime_dir(name);
  if (*prompt) s.prompt_file = repo.task_path(name);
  if (auto r = write_session(repo, s); !r) return fail(r.error());

  // ---- Create; from here on a failure rolls back.
  if (pending) pending->state_written();
  bool supervisor_started = false;
  auto rollback = [&](const Error& error) -> Error {
    log::debug("start") << "rolling back session " << name << ": " << error.message;
    if (pending) pending->abort();
    if (supervisor_started) {
      if (Result<SessionState> now = read_session(repo, name); now) (void)stop_agent(repo, *now);
    }
    (void)remove_worktree(repo, s.worktree_path);
    (void)git_locked(repo, {"branch", "-D", branch});
    remove_session_files(repo, name);
    return error;
  };

  if (*prompt) {
    if (auto r = write_file_atomic(repo.task_path(name), **prompt, 0600); !r) {
      return fail(rollback(r.error()));
    }
  }
  if (auto r = register_worktree(repo, s, true, "HEAD"); !r) return fail(rollback(r.error()));
  if (check_pending) {
    if (auto r = pending->daemon_checked(); !r) return fail(rollback(r.error()));
  }
  // The admin directory is recorded with Active below; the supervisor and
  // every reader find it from git's files meanwhile (worktree_target).
  // A container session's container is made once the files are checked
  // out: its read-only mounts cover the protected files among them.
  if (auto r = check_out_worktree(s); !r) return fail(rollback(r.error()));
  if (pending) pending->registered();
  if (auto r = write_session_files(repo, s); !r) return fail(rollback(r.error()));
  if (*setup && !container) {
    if (progress.report) progress.report(0, std::nullopt, "running setup script " + **setup);
    if (auto r = run_setup_script(repo, s, **setup); !r) return fail(rollback(r.error()));
  }

  // The caller gave up (an MCP client's notifications/cancelled): undo it
  // all while no agent runs yet. Once one does, the session stays.
  if (progress.cancelled && progress.cancelled()) {
    return fail(rollback(Error{Errc::conflict, "the start was cancelled; nothing was kept"}));
  }
  json agent = nullptr;
  if (*prompt) {
    Result<SupervisorInfo> info = pending->go();
    supervisor_started = info.has_value();
    if (!info) return fail(rollback(info.error()));
    agent = {{"pid", info->agent_pid}, {"supervisor_pid", info->supervisor_pid}};
  }
  Result<SessionState> done = update_session(repo, name, [&](SessionState& st) {
    st.status = SessionStatus::active;
    release_ownership(st);
    st.worktree_git_dir = s.worktree_git_dir;
  });
  if (!done) return fail(rollback(done.error()));
  if (auto r = ensure_ignores(repo); !r) {
    log::warn("start") << "could not update .gitignore: " << r.error().message;
  }
  return json{{"session", describe_session(repo, name, false)},
              {"agent_launched", static_cast<bool>(*prompt)},
              {"log_path", repo.log_path(name)},
              {"message", "session '" + name + "' started on branch " + branch +
                              (*prompt ? "; the agent is running" : "; no prompt, so no agent") +
                              sandbox_note}};
}

}  // namespace para::session
