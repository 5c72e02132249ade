#include "tests/unit/sandbox/fake_fs.h"

namespace para::test {

using sandbox::PathKind;

void FakeFs::add(const std::string& path, PathKind kind) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    kinds_.emplace(path.substr(0, slash), PathKind::directory);
  }
  kinds_["/"] = PathKind::directory;
  kinds_[path] = kind;
}

void FakeFs::link(const std::string& path, const std::string& target) {
  add(path, PathKind::symlink);
  links_[path] = target;
}

PathKind FakeFs::kind(const std::string& path) const {
  auto it = kinds_.find(path);
  return it == kinds_.end() ? PathKind::missing : it->second;
}

std::vector<std::string> FakeFs::children(const std::string& dir) const {
  std::vector<std::string> out;
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  for (auto it = kinds_.lower_bound(prefix); it != kinds_.end() && it->first.starts_with(prefix);
       ++it) {
    const std::string rest = it->first.substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;
}

std::string FakeFs::resolve(const std::string& path) const {
  auto it = links_.find(path);
  return it == links_.end() ? path : it->second;
}

FakeFs reference_host() {
  FakeFs fs;
  const std::string r = "/work/repo", g = r + "/.git", w = r + "/.para/worktrees/agent1";
  for (const char* d : {"/tmp", "/run", "/var/tmp", "/etc", "/usr/bin"}) fs.add(d);
  fs.add("/etc/passwd", PathKind::file);
  for (const std::string& d :
       {g + "/objects/info", g + "/hooks", g + "/info", g + "/refs/heads/para",
        g + "/worktrees/agent1", r + "/.para/state/agent1", r + "/.para/worktrees/other1",
        w + "/src", w + "/sub/.git/hooks"}) {
    fs.add(d);
  }
  for (const std::string& f :
       {g + "/config", g + "/packed-refs", g + "/refs/heads/main", g + "/refs/heads/para/agent1",
        g + "/worktrees/agent1/commondir", g + "/worktrees/agent1/gitdir",
        g + "/worktrees/agent1/HEAD", r + "/README.md", r + "/.para/config.toml",
        r + "/.para/state/agent1.state", w + "/.git", w + "/.envrc", w + "/src/main.c",
        w + "/sub/.git/config"}) {
    fs.add(f, PathKind::file);
  }
  const std::string h = "/home/dev";
  for (const std::string& d :
       {h + "/.ssh", h + "/.aws", h + "/.cache", h + "/.claude/commands", h + "/.claude/agents",
        h + "/.claude/hooks", h + "/.claude/skills", h + "/.claude/plugins"}) {
    fs.add(d);
  }
  for (const std::string& f :
       {h + "/.netrc", h + "/.gitconfig", h + "/.bashrc", h + "/.claude.json",
        h + "/.claude/settings.json", h + "/.claude/settings.local.json"}) {
    fs.add(f, PathKind::file);
  }
  fs.add("/tmp/para-1000/x-agent1/tmp");
  return fs;
}

sandbox::PolicyInputs reference_inputs(const FakeFs& fs, const std::string& profile) {
  sandbox::PolicyInputs in;
  in.repo_root = "/work/repo";
  in.git_common_dir = "/work/repo/.git";
  in.worktree = "/work/repo/.para/worktrees/agent1";
  in.session = "agent1";
  in.state_dir = "/work/repo/.para/state";
  in.runtime_dir = "/tmp/para-1000/x-agent1";
  in.home = "/home/dev";
  in.profile = profile;
  in.proxy_socket = "/tmp/para-1000/x-agent1/proxy.sock";
  in.proxy_port = 8877;
  in.para_bin = "/usr/bin/para";
  in.relay_bin = "/usr/bin/para-relay";
  in.environment = {"PATH=/usr/bin:/bin", "HOME=/home/dev", "ANTHROPIC_API_KEY=sk-secret-value",
                    "SSH_AUTH_SOCK=/tmp/ssh-x/agent.1"};
  in.fs = &fs;
  return in;
}

}  // namespace para::test
