// para resume: repair a session's worktree if it is missing, rewrite the
// agent instructions, and relaunch the agent with the settings the session
// stored (sandbox, skip-permissions), flags overriding them.

#include <sys/stat.h>

#include <filesystem>

#include "core/clock.h"
#include "core/fs.h"
#include "session/agent.h"
#include "session/internal.h"
#include "session/ops.h"
#include "session/sandbox_settings.h"
#include "session/sandboxing.h"
#include "session/session_proxy.h"
#include "session/store.h"
#include "session/supervisor.h"
#include "session/worktree.h"

namespace para::session {
namespace {

using nlohmann::json;

// para's lookup: the exact name, else the first session whose name starts
// with the argument (for timestamp-suffixed names).
Result<std::string> find_session(const Repo& repo, const std::string& wanted) {
  if (path_exists(repo.state_path(wanted))) return wanted;
  for (const std::string& n : session_names(repo)) {
    if (n.rfind(wanted, 0) == 0) return n;
  }
  Result<SessionState> missing = read_session(repo, wanted);
  return fail(missing.error());
}

}  // namespace

Result<json> resume_session(const Repo& repo, const ResumeRequest& rq) {
  Result<std::optional<std::string>> prompt = load_prompt(rq.prompt, rq.prompt_file, rq.cwd);
  if (!prompt) return fail(prompt.error());
  Result<std::string> wanted = resolve_session(repo, rq.session, rq.cwd, "resume");
  if (!wanted) return fail(wanted.error());
  Result<std::string> name = find_session(repo, *wanted);
  if (!name) return fail(name.error());
  Result<FileLock> lock = lock_session(repo, *name);
  if (!lock) return fail(lock.error());
  Result<SessionState> s = read_session(repo, *name);
  if (!s) return fail(s.error());
  if (s->status == SessionStatus::starting || s->status == SessionStatus::cancelled) {
    return fail(Errc::conflict, "session '" + *name +
                                    "' was interrupted while starting or cancelling; run para "
                                    "clean to repair it");
  }
  if (supervisor_running(*s)) {
    return fail(Errc::conflict,
                "the agent of session '" + *name + "' is still running (pid " +
                    std::to_string(s->agent.pid.value_or(0)) +
                    "); wait for it (para wait, or the para_wait tool), or finish or cancel the "
                    "session");
  }

  SandboxSettings stored{s->sandbox_enabled, s->sandbox_profile.value_or("standard"),
                         s->network_mode, s->allowed_domains};
  Result<SandboxSettings> sandbox = resolve_sandbox(repo.config, rq.sandbox, stored);
  if (!sandbox) return fail(sandbox.error());
  if (sandbox->enabled) {
    Result<bool> usable = sandbox_usable(repo.config);
    if (!usable) return fail(usable.error());
    if (!*usable) {
      sandbox->enabled = false;
      sandbox->network_mode = "open";
    }
  }
  if (sandbox->network_mode == "proxied") {
    SessionState probe = *s;
    probe.allowed_domains = sandbox->allowed_domains;
    if (auto p = session_proxy_policy(repo, probe); !p) return fail(p.error());
  }
  const bool skip = s->dangerous_skip_permissions || rq.dangerously_skip_permissions;

  // The prompt for the relaunch: the new one, else the session's task.
  std::optional<std::string> run_prompt = *prompt ? *prompt : s->task_description;
  std::vector<std::string> command = repo.config.agent_command;
  if (skip) {
    command.insert(command.end(), repo.config.skip_permissions_args.begin(),
                   repo.config.skip_permissions_args.end());
  }
  const std::string prompt_file =
      *prompt ? repo.session_dir(*name) + "/resume_prompt.md" : repo.task_path(*name);
  if (run_prompt) {
    Result<std::vector<std::string>> argv = expand_agent_command(
        command, AgentValues{*run_prompt, prompt_file, *name, s->worktree_path});
    if (!argv) return fail(argv.error());
    if (auto r = check_agent_command(*argv); !r) return fail(r.error());
  }

  // Repair the worktree.
  bool repaired = false;
  std::error_code ec;
  if (std::filesystem::is_directory(s->worktree_path, ec) &&
      !std::filesystem::is_empty(s->worktree_path, ec) &&
      !repo.worktree_admin_dir(s->worktree_path)) {
    // Files without a registration: git may reconnect them (a moved admin
    // directory); otherwise they may be uncommitted work, never deleted here.
    (void)git_locked(repo, {"worktree", "repair", s->worktree_path});
    if (!repo.worktree_admin_dir(s->worktree_path)) {
      return fail(Errc::conflict,
                  "the worktree " + s->worktree_path + " of session '" + *name +
                      "' has files but git has no registration for it. Move anything you want "
                      "to keep out of it, remove the directory, then run para resume " +
                      *name + " again");
    }
  }
  if (!std::filesystem::is_directory(s->worktree_path, ec) ||
      !repo.worktree_admin_dir(s->worktree_path)) {
    Result<std::optional<std::string>> tip = git_resolve(repo.main(), "refs/heads/" + s->branch);
    if (!tip) return fail(tip.error());
    if (!*tip) {
      return fail(Errc::not_found, "the branch " + s->branch + " of session '" + *name +
                                       "' is gone, so its worktree cannot be restored");
    }
    (void)remove_worktree(repo, s->worktree_path);
    if (auto r = add_worktree(repo, *s, false, ""); !r) return fail(r.error());
    repaired = true;
  }
  if (auto r = write_session_files(repo, *s); !r) return fail(r.error());

  std::string context_path;
  if (*prompt) {
    // para's resume context, beside the work (excluded from commits).
    const std::string dir = s->worktree_path + "/.para/sessions/" + *name;
    context_path = dir + "/resume_context.md";
    // The agent writes this tree: a symlinked component would make para
    // create files wherever it points.
    std::string walked = s->worktree_path;
    for (const std::string part : {".para", "sessions", name->c_str()}) {
      walked += "/" + part;
      struct stat st;
      if (::lstat(walked.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        return fail(Errc::conflict, walked +
                                        " is not a directory (a symlink?); para does not "
                                        "write through it. Remove it and resume again.");
      }
    }
    if (auto r = make_dirs(dir); !r) return fail(r.error());
    if (auto r = write_file_atomic(context_path, "# Resume Context\n\n" + **prompt + "\n"); !r) {
      return fail(r.error());
    }
    if (auto r = write_file_atomic(prompt_file, **prompt, 0600); !r) return fail(r.error());
  }

  Result<SessionState> updated = update_session(repo, *name, [&](SessionState& st) {
    st.worktree_git_dir = s->worktree_git_dir;
    st.sandbox_enabled = sandbox->enabled;
    st.sandbox_profile = sandbox->profile;
    st.network_mode = sandbox->network_mode;
    st.allowed_domains = sandbox->allowed_domains;
    st.dangerous_skip_permissions = skip;
    st.agent_command = command;
    st.prompt_file = prompt_file;
    if (run_prompt) st.status = SessionStatus::active;
    st.last_activity = rfc3339(std::chrono::system_clock::now());
  });
  if (!updated) return fail(updated.error());

  bool launched = false;
  if (run_prompt) {
    Result<SupervisorInfo> info = launch_supervisor(repo, *name);
    if (!info) return fail(info.error());
    launched = true;
  }
  return json{{"session", *name},
              {"repaired_worktree", repaired},
              {"agent_launched", launched},
              {"resume_context", context_path.empty() ? json(nullptr) : json(context_path)},
              {"message", "session '" + *name + "' resumed" +
                              std::string(repaired ? " (its worktree was restored)" : "") +
                              (launched ? "; the agent is running" : "; no agent was launched")}};
}

}  // namespace para::session
