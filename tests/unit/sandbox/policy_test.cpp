#include "sandbox/policy.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "sandbox/bwrap.h"
#include "tests/unit/sandbox/fake_fs.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;
using sb::PathKind;

bool listed(const std::vector<sb::PathRule>& rules, const std::string& path) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const sb::PathRule& r) { return r.path == path; });
}

}  // namespace

TEST_SUITE("sandbox/policy") {
  TEST_CASE("para's legacy profile names map to standard; unknown names list the choices") {
    for (const std::string& name : sb::profile_names()) {
      CAPTURE(name);
      Result<sb::Profile> p = sb::resolve_profile(name);
      REQUIRE(p);
      CHECK(p->name == (name == "standard-proxied" ? "standard-proxied" : "standard"));
    }
    CHECK(sb::resolve_profile("restrictive")->network == sb::NetworkMode::open);
    CHECK(sb::resolve_profile("standard-proxied")->network == sb::NetworkMode::proxied);
    Result<sb::Profile> bad = sb::resolve_profile("paranoid");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("standard-proxied") != std::string::npos);
  }

  TEST_CASE("a session policy: writable roots, protected paths and hidden secrets") {
    const FakeFs fs = reference_host();
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE(p);
    const std::string r = "/work/repo", g = r + "/.git", w = r + "/.para/worktrees/agent1";
    for (const std::string& path :
         {w, std::string("/tmp/para-1000/x-agent1/tmp"), r + "/.para/state/agent1",
          g + "/worktrees/agent1", std::string("/home/dev/.claude"),
          std::string("/home/dev/.claude.json"), std::string("/home/dev/.cache")}) {
      CAPTURE(path);
      CHECK(listed(p->writable, path));
    }
    CHECK_FALSE(listed(p->writable, r));
    CHECK_FALSE(listed(p->writable, r + "/.para"));
    for (const std::string& path :
         {g + "/config", g + "/hooks", g + "/info", g + "/objects/info", g + "/packed-refs",
          g + "/worktrees/agent1/commondir", w + "/.git", w + "/.envrc", w + "/sub/.git/hooks",
          w + "/sub/.git/config", std::string("/home/dev/.gitconfig"),
          std::string("/home/dev/.bashrc"), std::string("/home/dev/.claude/settings.json"),
          std::string("/home/dev/.claude/hooks")}) {
      CAPTURE(path);
      CHECK(listed(p->protect, path));
    }
    CHECK(listed(p->deny_read, "/home/dev/.ssh"));
    CHECK(listed(p->deny_read, "/home/dev/.netrc"));
    CHECK_FALSE(listed(p->deny_read, "/home/dev/.kube"));  // absent: nothing to hide
    CHECK(listed(p->hidden, "/tmp"));
    CHECK(listed(p->hidden, "/run"));
    REQUIRE(p->git);
    CHECK(p->git->ref_file == g + "/refs/heads/para/agent1");
    CHECK_FALSE(listed(p->writable, g + "/objects"));  // the private store is bound there
    REQUIRE(p->private_binds.size() == 5);
    CHECK(p->private_binds[0].target == g + "/refs/heads/para");
    CHECK(p->private_binds[2].source == "/tmp/para-1000/x-agent1/git/objects");
    CHECK(p->private_binds[2].target == g + "/objects");
    CHECK_FALSE(p->private_binds[2].read_only);
    CHECK(p->private_binds[3].target == g + "/objects/info");
    CHECK(p->private_binds[3].read_only);
    CHECK(p->private_binds[4].source == g + "/objects");
    CHECK(p->private_binds[4].target == sb::kSharedObjectsInside);
    CHECK(p->private_binds[4].read_only);
  }

  TEST_CASE(
      "the environment: policy variables set, host sockets removed, secrets kept only in the "
      "base") {
    const FakeFs fs = reference_host();
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard-proxied"));
    REQUIRE(p);
    const std::vector<std::string> env = sb::final_environment(*p);
    const auto has = [&](const std::string& kv) {
      return std::find(env.begin(), env.end(), kv) != env.end();
    };
    CHECK(has("HTTPS_PROXY=http://127.0.0.1:8877"));
    CHECK(has("NO_PROXY=localhost,127.0.0.1,::1"));
    CHECK(has("TMPDIR=/tmp/para-1000/x-agent1/tmp"));
    CHECK(has("PARA_BIN=/run/para/bin/para"));
    CHECK(has("PATH=/run/para/bin:/usr/bin:/bin"));
    CHECK(has("ANTHROPIC_API_KEY=sk-secret-value"));  // the agent needs its key
    CHECK(std::none_of(env.begin(), env.end(),
                       [](const std::string& kv) { return kv.starts_with("SSH_AUTH_SOCK="); }));
    for (const auto& [k, v] : p->env_set) CHECK(v.find("sk-secret") == std::string::npos);
  }

  TEST_CASE("secret-looking names are recognised by their parts, in any case") {
    struct Row {
      const char* name;
      bool secret;
    };
    for (const Row& r : {Row{"GITHUB_TOKEN", true},
                         {"github_token", true},
                         {"AWS_SECRET_ACCESS_KEY", true},
                         {"AWS_ACCESS_KEY_ID", true},
                         {"NPM_TOKEN", true},
                         {"PGPASSWORD", true},
                         {"MY_SERVICE_PASSWORD", true},
                         {"LDAP_PASSWD", true},
                         {"GOOGLE_APPLICATION_CREDENTIALS", true},
                         {"STRIPE_APIKEY", true},
                         {"DEPLOY_PRIVATE_KEY", true},
                         {"GH_AUTH", true},
                         {"npm_config__auth", true},
                         {"DOCKER_AUTH_CONFIG", true},
                         {"OAUTH_CLIENT", true},
                         {"PROXY_AUTHORIZATION", true},
                         {"MYSQL_PWD", true},
                         {"SMTP_PASS", true},
                         {"GPG_PASSPHRASE", true},
                         {"STRIPE_KEY", true},
                         {"sentry_key", true},
                         {"GH_PAT", true},
                         {"ENCRYPTION_KEY_V2", true},
                         {"DEPLOY_KEY_B64", true},
                         {"MASTER_KEY_", true},
                         {"PRIVKEY", true},
                         {"SESSION_COOKIE", true},
                         {"BEARER", true},
                         {"CI_JOB_JWT", true},
                         {"ConnectionStrings__Default", true},
                         {"PATCH_LEVEL", false},
                         {"KEY_V2", false},
                         {"V2", false},
                         {"PWD", false},
                         {"OLDPWD", false},
                         {"KEY", false},
                         {"PASSAGE_DIR", false},
                         {"PATH", false},
                         {"HOME", false},
                         {"LANG", false},
                         {"TERM", false},
                         {"KEYBOARD", false},
                         {"XKB_DEFAULT_LAYOUT", false},
                         {"GIT_AUTHOR_NAME", false},
                         {"GIT_AUTHOR_EMAIL", false},
                         {"XAUTHORITY", false},
                         {"GIT_ASKPASS", false},
                         {"SSH_KEY_PATH", false}}) {
      CAPTURE(r.name);
      CHECK(sb::secret_looking_name(r.name) == r.secret);
    }
  }

  TEST_CASE("secret-looking values are recognised whatever the variable is called") {
    struct Row {
      const char* value;
      bool secret;
    };
    for (const Row& r : {Row{"postgres://app:hunter2@db.internal:5432/app", true},
                         {"https://user:ghp-or-anything@github.com/org/repo.git", true},
                         {"redis://:s3cret@cache:6379/0", true},
                         {"ghp_0123456789abcdefghijABCDEFGHIJ012345", true},
                         {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", true},
                         {"glpat-abcdefghij0123456789", true},
                         {"xoxb-1234-5678-abcdefghij", true},
                         {"npm_0123456789abcdefghijABCDEFGHIJ0123", true},
                         {"AKIAIOSFODNN7EXAMPLE", true},
                         {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", true},
                         {"Server=db;User Id=app;Password=hunter2;", true},
                         {"{\"user\": \"app\", \"password\": \"hunter2\"}", true},
                         {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl", true},
                         {"eyJ.not-a-token", false},
                         {"https://example.org/path?q=a:b@c", false},
                         {"https://user@registry.example.org/simple", false},
                         {"http://host:8080/x", false},
                         {"/usr/local/bin:/usr/bin:/bin", false},
                         {"ghp_", false},
                         {"ghp_short", false},
                         {"sk-", false},
                         {"AKIA is an AWS prefix, explained in prose", false},
                         {"en_US.UTF-8", false},
                         {"", false}}) {
      CAPTURE(r.value);
      CHECK(sb::secret_looking_value(r.value) == r.secret);
    }
  }

  TEST_CASE(
      "secret-looking variables are removed unless forwarded, and a note names them without "
      "values") {
    const FakeFs fs = reference_host();
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    in.environment = {"PATH=/usr/bin:/bin",
                      "LANG=C.UTF-8",
                      "GIT_AUTHOR_NAME=Dev",
                      "PARA_TEST_ORDINARY=1",
                      "GITHUB_TOKEN=ghp-value-1",
                      "MY_SERVICE_PASSWORD=pw-value-2",
                      "aws_secret_access_key=aws-value-3",
                      "ANTHROPIC_API_KEY=sk-value-4",
                      "ANTHROPIC_AUTH_TOKEN=at-value-5",
                      "CLAUDE_CODE_OAUTH_TOKEN=oa-value-6",
                      "OPENAI_API_KEY=oai-value-7",
                      "NPM_TOKEN=npm-value-8",
                      "AWS_SESSION_TOKEN=aws-value-9",
                      "AWS_ACCESS_KEY_ID=aws-value-10",
                      "PARA_MCP_AUTH_TOKEN=mcp-value-11"};
    in.forward_env = {"NPM_TOKEN", "AWS_*", "PARA_MCP_AUTH_TOKEN"};
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    const std::vector<std::string> env = sb::final_environment(*p);
    const auto has_name = [&](const std::string& name) {
      return std::any_of(env.begin(), env.end(),
                         [&](const std::string& kv) { return kv.starts_with(name + "="); });
    };
    for (const char* kept :
         {"PATH", "LANG", "GIT_AUTHOR_NAME", "PARA_TEST_ORDINARY", "ANTHROPIC_API_KEY",
          "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "OPENAI_API_KEY", "NPM_TOKEN",
          "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"}) {
      CAPTURE(kept);
      CHECK(has_name(kept));
    }
    // AWS_* is case-sensitive, as the environment is; PARA_MCP_AUTH_TOKEN
    // is para's own and is never forwarded.
    for (const char* gone :
         {"GITHUB_TOKEN", "MY_SERVICE_PASSWORD", "aws_secret_access_key", "PARA_MCP_AUTH_TOKEN"}) {
      CAPTURE(gone);
      CHECK_FALSE(has_name(gone));
    }
    const auto note = std::find_if(p->notes.begin(), p->notes.end(), [](const std::string& n) {
      return n.find("look like secrets") != std::string::npos;
    });
    REQUIRE(note != p->notes.end());
    CHECK(note->find("GITHUB_TOKEN, MY_SERVICE_PASSWORD, aws_secret_access_key.") !=
          std::string::npos);
    CHECK(note->find("sandbox.forward_env") != std::string::npos);
    CHECK(note->find("~/.config/para/config.toml") != std::string::npos);
    for (const std::string& n : p->notes) {
      CAPTURE(n);
      CHECK(n.find("-value-") == std::string::npos);
    }
    for (const std::string& name : p->env_unset) CHECK(name.find('=') == std::string::npos);
  }

  TEST_CASE("without secret-looking variables there is no note about them") {
    const FakeFs fs = reference_host();
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    in.environment = {"PATH=/usr/bin:/bin", "ANTHROPIC_API_KEY=sk-value"};
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(std::none_of(p->notes.begin(), p->notes.end(), [](const std::string& n) {
      return n.find("look like secrets") != std::string::npos;
    }));
  }

  TEST_CASE("forward_env patterns: exact names, PREFIX*, and * alone") {
    const std::vector<std::string> patterns = {"NPM_TOKEN", "AWS_*"};
    CHECK(sb::env_name_matches("NPM_TOKEN", patterns));
    CHECK_FALSE(sb::env_name_matches("NPM_TOKENS", patterns));
    CHECK_FALSE(sb::env_name_matches("NPM_TOKE", patterns));
    CHECK(sb::env_name_matches("AWS_", patterns));
    CHECK(sb::env_name_matches("AWS_SECRET_ACCESS_KEY", patterns));
    CHECK_FALSE(sb::env_name_matches("MY_AWS_KEY", patterns));
    CHECK_FALSE(sb::env_name_matches("aws_secret", patterns));
    CHECK(sb::env_name_matches("ANYTHING", {"*"}));
  }

  TEST_CASE("bad inputs are refused with a message naming the field") {
    const FakeFs fs = reference_host();
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    in.worktree = "relative/path";
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE_FALSE(p);
    CHECK(p.error().message.find("worktree") != std::string::npos);
    in = reference_inputs(fs, "standard");
    in.home = "/home/dev/../root";
    CHECK_FALSE(sb::build_policy(in));
    in = reference_inputs(fs, "standard");
    in.session = "-bad";
    CHECK_FALSE(sb::build_policy(in));
    in = reference_inputs(fs, "standard");
    in.proxy_port = 70000;
    CHECK_FALSE(sb::build_policy(in));
    in = reference_inputs(fs, "standard");
    in.session = "other1";  // no G/worktrees/other1: not a linked worktree of G
    CHECK_FALSE(sb::build_policy(in));
  }

  TEST_CASE("a protected name that is a symlink protects its directory, or fails at the top") {
    FakeFs fs = reference_host();
    const std::string w = "/work/repo/.para/worktrees/agent1";
    fs.link(w + "/sub/.vscode", "/elsewhere");
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE(p);
    CHECK(listed(p->protect, w + "/sub"));
    fs.link(w + "/.mcp.json", "/elsewhere/mcp.json");
    p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE_FALSE(p);
    CHECK(p.error().message.find(".mcp.json") != std::string::npos);
  }

  TEST_CASE(
      "a symlinked ~/.claude entry is refused; a symlinked file outside writable roots is not") {
    // A stow-style link in the writable ~/.claude: the agent could replace
    // the link, and the user's own Claude Code would then read its file.
    for (const std::string name : {"CLAUDE.md", "settings.json", "hooks"}) {
      CAPTURE(name);
      FakeFs fs = reference_host();
      fs.link("/home/dev/.claude/" + name, "/home/dev/dotfiles/claude/x");
      Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard"));
      REQUIRE_FALSE(p);
      CHECK(p.error().message.find("/home/dev/.claude/" + name +
                                   " is a symlink directly inside the writable "
                                   "/home/dev/.claude,") != std::string::npos);
      CHECK(p.error().message.find("Replace the symlink") != std::string::npos);
    }
    // The home directory is read-only: a symlinked ~/.bashrc stays protected
    // (its target is under the read-only root too).
    FakeFs fs = reference_host();
    fs.link("/home/dev/.bashrc", "/home/dev/dotfiles/bashrc");
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE(p);
    CHECK_FALSE(listed(p->writable, "/home/dev/dotfiles/bashrc"));
  }

  TEST_CASE(
      "configured lists: deny_read replaces the default, extra_writable never undoes a deny") {
    FakeFs fs = reference_host();
    fs.add("/data/shared");
    fs.add("/home/dev/.ssh/cache");
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    in.deny_read = std::vector<std::string>{"~/.aws"};
    in.extra_writable = {"/data/shared", "~/.ssh/cache"};
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(listed(p->deny_read, "/home/dev/.aws"));
    CHECK_FALSE(listed(p->deny_read, "/home/dev/.ssh"));
    CHECK(listed(p->writable, "/data/shared"));
    in.deny_read.reset();
    p = sb::build_policy(in);
    REQUIRE(p);
    CHECK_FALSE(listed(p->writable, "/home/dev/.ssh/cache"));
    in.extra_writable = {"relative"};
    CHECK_FALSE(sb::build_policy(in));
  }

  TEST_CASE(
      "what host programs run or load from ~/.claude is protected; Claude Code's own state is "
      "not") {
    FakeFs fs = reference_host();
    const std::string c = "/home/dev/.claude";
    fs.add(c + "/local/claude", PathKind::file);
    fs.add(c + "/statusline-command.sh", PathKind::file);
    fs.add(c + "/history.jsonl", PathKind::file);
    fs.add(c + "/shell-snapshots/snapshot-bash-1.sh", PathKind::file);
    fs.add(c + "/projects/-home-dev-other/memory/MEMORY.md", PathKind::file);
    const std::string own = "-work-repo--para-worktrees-agent1";
    fs.add(c + "/projects/" + own + "/memory");
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE(p);
    for (const std::string& path :
         {c + "/local", c + "/statusline-command.sh", c + "/projects/-home-dev-other/memory"}) {
      CAPTURE(path);
      CHECK(listed(p->protect, path));
    }
    // The repository's memory is protected before it exists (a placeholder).
    CHECK(listed(p->protect_missing, c + "/projects/-work-repo/memory"));
    CHECK(listed(p->hidden, c + "/shell-snapshots"));  // an empty one of its own
    CHECK_FALSE(listed(p->protect, c + "/history.jsonl"));
    CHECK_FALSE(listed(p->protect, c + "/projects/" + own + "/memory"));  // its own memory
    CHECK_FALSE(listed(p->protect, c + "/projects"));
    // The empty directory lands on top of the writable ~/.claude.
    const sb::BwrapPlan plan = sb::bwrap_plan(*p, {"true"});
    const auto at = [&](const std::string& target) {
      return std::find_if(plan.mounts.begin(), plan.mounts.end(),
                          [&](const sb::MountOp& m) { return m.target == target; }) -
             plan.mounts.begin();
    };
    CHECK(at(c) < at(c + "/shell-snapshots"));
    CHECK(plan.mounts[at(c + "/shell-snapshots")].kind == sb::MountKind::tmpfs);
  }

  TEST_CASE(
      "credential files beyond ~/.git-credentials are hidden, and sockets by their real path") {
    FakeFs fs = reference_host();
    for (const char* file : {"/home/dev/.config/git/credentials", "/home/dev/.pgpass",
                             "/home/dev/.bash_history", "/home/dev/.cache/huggingface/token"}) {
      fs.add(file, PathKind::file);
    }
    fs.add("/home/dev/.1password/agent.sock", PathKind::other);
    fs.add("/run/docker.sock", PathKind::other);
    fs.link("/var/run", "/run");
    fs.link("/var/run/docker.sock", "/run/docker.sock");
    sb::PolicyInputs in = reference_inputs(fs, "standard-proxied");
    in.environment.push_back("DOCKER_HOST=unix:///var/run/docker.sock");
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    for (const char* path :
         {"/home/dev/.config/git/credentials", "/home/dev/.pgpass", "/home/dev/.bash_history",
          "/home/dev/.cache/huggingface/token", "/home/dev/.1password"}) {
      CAPTURE(path);
      CHECK(listed(p->deny_read, path));
    }
    // /var/run/docker.sock is /run/docker.sock, under the hidden /run: no
    // bind of its own (bwrap could not make one at the symlink's path).
    CHECK_FALSE(listed(p->deny_read, "/run/docker.sock"));
    CHECK_FALSE(listed(p->deny_read, "/var/run/docker.sock"));
  }

  TEST_CASE("when the bounded scan stops early, the protected names git tracks are protected") {
    FakeFs fs = reference_host();
    const std::string w = "/work/repo/.para/worktrees/agent1";
    // Directories enough to use up the scan before it reaches services/.
    for (int i = 0; i < 20001; ++i) fs.add(w + "/junk/d" + std::to_string(i));
    fs.add(w + "/services/api/.vscode/tasks.json", PathKind::file);
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(p->scan_incomplete);
    CHECK_FALSE(listed(p->protect, w + "/services/api/.vscode"));
    in.tracked_protected = {"services/api/.vscode/tasks.json", "src/main.c"};
    p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(listed(p->protect, w + "/services/api/.vscode"));
  }

  TEST_CASE("tool caches are writable through a layer of the session's own") {
    FakeFs fs = reference_host();
    fs.add("/home/dev/.cargo/registry");
    fs.add("/home/dev/.npm");
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    const auto layer = [&](const std::string& cache) {
      for (const sb::CacheOverlay& o : p->cache_overlays) {
        if (o.cache == cache) return o.dir;
      }
      return std::string();
    };
    CHECK(p->cache_overlays.size() == 3);  // the caches that exist
    CHECK(layer("/home/dev/.cache") == "/tmp/para-1000/x-agent1/caches/cache");
    CHECK(layer("/home/dev/.cargo/registry") == "/tmp/para-1000/x-agent1/caches/cargo-registry");
    CHECK(listed(p->writable, "/home/dev/.npm"));
    // The bwrap plan binds the layer's merged view at the cache.
    const sb::BwrapPlan plan = sb::bwrap_plan(*p, {"true"});
    const auto bind = std::find_if(plan.mounts.begin(), plan.mounts.end(),
                                   [](const auto& m) { return m.target == "/home/dev/.npm"; });
    REQUIRE(bind != plan.mounts.end());
    CHECK(bind->source == "/tmp/para-1000/x-agent1/caches/npm/merged");

    // Nothing inside a cache is bound from the host read-write, not even
    // the directories above a hidden path (pins elsewhere).
    fs.add("/home/dev/.cache/app/state/token");
    in.deny_read = std::vector<std::string>{"~/.cache/app/state/token"};
    p = sb::build_policy(in);
    REQUIRE(p);
    REQUIRE(listed(p->deny_read, "/home/dev/.cache/app/state/token"));
    for (const sb::MountOp& m : sb::bwrap_plan(*p, {"true"}).mounts) {
      CAPTURE(m.target);
      if (sb::path_within(m.target, "/home/dev/.cache") && m.target != "/home/dev/.cache") {
        CHECK((m.kind != sb::MountKind::bind && m.kind != sb::MountKind::pin));
      }
    }
    in.deny_read.reset();

    // Listed in sandbox.extra_writable, a cache is shared with the host, as asked.
    in.extra_writable = {"~/.npm"};
    p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(layer("/home/dev/.npm").empty());
    CHECK(listed(p->writable, "/home/dev/.npm"));

    // A home whose path an overlay mount cannot name: read-only, with a note.
    FakeFs odd = reference_host();
    odd.add("/home/a,b/.npm");
    in = reference_inputs(odd, "standard");
    in.home = "/home/a,b";
    p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(p->cache_overlays.empty());
    CHECK_FALSE(listed(p->writable, "/home/a,b/.npm"));
    CHECK(std::any_of(p->notes.begin(), p->notes.end(), [](const std::string& n) {
      return n.find("/home/a,b/.npm stays read-only") != std::string::npos;
    }));
  }

  TEST_CASE("outside a session the worktree's own .git and .para are protected") {
    FakeFs fs = reference_host();
    sb::PolicyInputs in = reference_inputs(fs, "standard");
    in.session.clear();
    in.worktree = "/work/repo";
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(listed(p->writable, "/work/repo"));
    CHECK(listed(p->protect, "/work/repo/.para"));
    CHECK(listed(p->protect, "/work/repo/.git/config"));
    CHECK_FALSE(p->git);
  }

  TEST_CASE("other sessions' runtime directories are hidden wherever TMPDIR puts them") {
    FakeFs fs = reference_host();
    fs.add("/home/dev/tmp/para-1000/x-agent1/tmp");
    fs.add("/home/dev/tmp/para-1000/x-other/tmp");
    fs.add("/work/repo/.rt/tmp");
    sb::PolicyInputs in = reference_inputs(fs, "standard-proxied");
    in.runtime_dir = "/home/dev/tmp/para-1000/x-agent1";
    in.proxy_socket = in.runtime_dir + "/proxy.sock";
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    CHECK(listed(p->hidden, "/home/dev/tmp/para-1000"));
    // This session's temp directory is bound back after the parent is emptied.
    const sb::BwrapPlan plan = sb::bwrap_plan(*p, {"true"});
    const auto at = [&](sb::MountKind kind, const std::string& target) {
      auto it = std::find_if(plan.mounts.begin(), plan.mounts.end(), [&](const sb::MountOp& m) {
        return m.kind == kind && m.target == target;
      });
      return it - plan.mounts.begin();
    };
    const auto hidden = at(sb::MountKind::tmpfs, "/home/dev/tmp/para-1000");
    const auto own_tmp = at(sb::MountKind::bind, in.runtime_dir + "/tmp");
    REQUIRE(hidden < static_cast<long>(plan.mounts.size()));
    REQUIRE(own_tmp < static_cast<long>(plan.mounts.size()));
    CHECK(hidden < own_tmp);

    // Under /tmp it is hidden with /tmp; nothing more is added.
    p = sb::build_policy(reference_inputs(fs, "standard"));
    REQUIRE(p);
    CHECK_FALSE(listed(p->hidden, "/tmp/para-1000"));
    // A parent that holds what the sandbox works in is never hidden.
    in.runtime_dir = "/work/repo/.rt";
    in.proxy_socket = in.runtime_dir + "/proxy.sock";
    p = sb::build_policy(in);
    REQUIRE(p);
    CHECK_FALSE(listed(p->hidden, "/work/repo"));
  }

  TEST_CASE("paths that host programs run or obey are recognised at any depth") {
    for (const char* path :
         {".para/setup.sh", ".para/config.toml", ".envrc", "web/.envrc", ".vscode/tasks.json",
          "a/b/.husky/pre-commit", ".mcp.json", ".claude/settings.json", ".claude/hooks/x.sh"}) {
      CAPTURE(path);
      CHECK(sb::host_runs_or_obeys(path));
    }
    for (const char* path : {"src/main.cpp", ".envrc.example", "docs/vscode.md", "para/setup.sh",
                             ".claude/CLAUDE.md", "x.para/setup.sh"}) {
      CAPTURE(path);
      CHECK_FALSE(sb::host_runs_or_obeys(path));
    }
  }

  TEST_CASE("session names follow para's rules") {
    CHECK(sb::validate_session_name("quiet_phoenix"));
    CHECK(sb::validate_session_name("a"));
    CHECK(sb::validate_session_name(std::string(50, 'x')));
    CHECK_FALSE(sb::validate_session_name(std::string(51, 'x')));
    CHECK_FALSE(sb::validate_session_name(""));
    CHECK_FALSE(sb::validate_session_name("_x"));
    CHECK_FALSE(sb::validate_session_name("a/b"));
    CHECK_FALSE(sb::validate_session_name("a.b"));
  }
}

}  // namespace para::test
