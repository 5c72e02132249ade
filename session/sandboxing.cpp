#include "session/sandboxing.h"

#include <limits.h>
#include <stdlib.h>

#include "core/fs.h"
#include "core/log.h"
#include "core/process.h"
#include "sandbox/launch.h"
#include "session/git.h"
#include "session/worktree.h"

namespace para::session {
namespace {

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

std::string expand_home(const std::string& path) {
  if (path == "~") return home_directory();
  if (path.rfind("~/", 0) == 0) return home_directory() + path.substr(1);
  return path;
}

}  // namespace

void apply_config(const Config& c, sandbox::PolicyInputs& in) {
  in.proxy_port = c.proxy.port;
  in.allowed_domains = c.sandbox.allowed_domains;
  if (c.sandbox.deny_read || !c.sandbox.deny_read_extra.empty()) {
    std::vector<std::string> deny =
        c.sandbox.deny_read ? *c.sandbox.deny_read : sandbox::default_deny_read();
    for (const std::string& p : c.sandbox.deny_read_extra) deny.push_back(p);
    for (std::string& p : deny) p = expand_home(p);
    in.deny_read = deny;
  }
  in.extra_writable = c.sandbox.extra_writable;
  in.forward_env = c.sandbox.forward_env;
  if (Result<std::string> para = sibling_program("para"); para) in.para_bin = *para;
  if (Result<std::string> relay = sibling_program("para-relay"); relay) in.relay_bin = *relay;
}

sandbox::PolicyInputs policy_inputs(const Repo& repo, const SessionState& s,
                                    const std::vector<std::string>& environment) {
  const Config& c = repo.config;
  sandbox::PolicyInputs in;
  in.repo_root = repo.root;
  in.git_common_dir = repo.common_dir;
  in.worktree = s.worktree_path;
  in.session = s.name;
  in.branch_prefix = c.branch_prefix;
  in.worktree_gitdir = s.worktree_git_dir.value_or("");
  in.state_dir = repo.state_dir();
  in.runtime_dir = s.runtime_dir.value_or(repo.runtime_dir(s.name));
  in.objects_dir = in.runtime_dir + "/git/objects";  // kept when a run replaces runtime_dir
  in.home = real(home_directory());
  in.profile = s.sandbox_profile.value_or("standard");
  in.proxy_socket = in.runtime_dir + "/proxy.sock";
  apply_config(c, in);
  for (const std::string& d : s.allowed_domains) in.allowed_domains.push_back(d);
  in.environment = environment;
  return in;
}

Result<sandbox::Policy> session_policy(const Repo& repo, const SessionState& state,
                                       const std::vector<std::string>& environment) {
  sandbox::PolicyInputs in = policy_inputs(repo, state, environment);
  Result<sandbox::Policy> policy = sandbox::build_policy(in);
  if (!policy || !policy->scan_incomplete) return policy;
  // The bounded scan stopped early (an agent can make directories enough to
  // starve it): what git tracks is protected all the same.
  Result<GitTarget> wt = worktree_target(repo, state);
  if (!wt) return fail(wt.error());
  Result<std::string> files = git_out(*wt, {"ls-files", "-z"});
  if (!files) return fail(files.error());
  for (size_t start = 0; start < files->size();) {
    const size_t end = std::min(files->find('\0', start), files->size());
    std::string path = files->substr(start, end - start);
    if (sandbox::host_runs_or_obeys(path)) in.tracked_protected.push_back(std::move(path));
    start = end + 1;
  }
  if (in.tracked_protected.empty()) return policy;
  return sandbox::build_policy(in);
}

Result<std::vector<std::string>> settle_sandboxed_git(const Repo& repo, const SessionState& state) {
  if (!state.sandbox_enabled && !state.is_container) return std::vector<std::string>{};
  Result<sandbox::Policy> policy = session_policy(repo, state, {});
  if (!policy) return fail(policy.error());
  // Containers on a remote engine had no private refs (no git inside).
  if (state.is_container && (!policy->git || !path_exists(policy->git->private_refs))) {
    return std::vector<std::string>{};
  }
  Result<std::vector<std::string>> notes = sandbox::sync_session_ref(*policy);
  if (!notes) return fail(notes.error());
  Result<bool> restored = sandbox::restore_session_head(*policy);
  if (!restored) return fail(restored.error());
  if (*restored) {
    notes->push_back("the agent had pointed its worktree's HEAD away from " + state.branch +
                     "; it was pointed back");
  }
  // The branch is settled by now: an index left as it was (a sandbox still
  // holding index.lock) is a note, not a failure of the whole step.
  Result<std::optional<std::string>> index = sandbox::unstage_missing_objects(*policy);
  if (!index) {
    notes->push_back(index.error().message);
  } else if (*index) {
    notes->push_back(**index);
  }
  return notes;
}

Result<bool> sandbox_usable(const Config& config) {
  Result<sandbox::BwrapInfo> bwrap = sandbox::check_available();
  if (bwrap) return true;
  if (!config.sandbox.fail_open) return fail(bwrap.error());
  log::warn("sandbox") << bwrap.error().message
                       << " -- running WITHOUT a sandbox because sandbox.fail_open is true";
  return false;
}

}  // namespace para::session
