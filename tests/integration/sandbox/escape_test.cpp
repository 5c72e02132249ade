// The escape suite (reference/sandbox-anchors.md §D): real probes inside real
// bubblewrap sandboxes. Every attempt that must be blocked is checked twice:
// the probe's own report, and the host afterwards (nothing changed). Next to
// each, the legitimate counterpart must work. Cost: about 150 sandboxes,
// ~10-20 ms each.

#include <doctest/doctest.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <sstream>

#include "core/fs.h"
#include "sandbox/launch.h"
#include "tests/integration/sandbox/fixture.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;

bool no_bwrap() {
  return !bwrap_works();
}

std::string unique(const std::string& stem) {
  return stem + "-" + random_hex(4);
}

// The probe run on the host, outside any sandbox: proves a target is live.
bool host_probe_allowed(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {probe_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, {"PATH=/usr/bin:/bin"}, "/").exit_code == 0;
}

}  // namespace

TEST_SUITE("sandbox/escape") {
  TEST_CASE("writes outside the writable roots fail, whichever way the path is spelled" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    const std::string readme_before = read_text(h.repo + "/README.md");
    std::filesystem::create_symlink(h.repo, h.worktree + "/link-out");
    struct Row {
      const char* how;
      std::vector<std::string> probe;
      std::string host_path;  // must not exist afterwards (empty: checked elsewhere)
    };
    const std::vector<Row> rows = {
        {"absolute path in the main worktree", {"write", h.repo + "/README.md"}, ""},
        {"absolute path in the home directory",
         {"write", h.home + "/planted"},
         h.home + "/planted"},
        {"absolute system path", {"write", "/etc/para-planted"}, "/etc/para-planted"},
        {"'..' into another session",
         {"write", h.worktree + "/../" + h.other + "/planted"},
         h.other_worktree + "/planted"},
        {"a symlink made on the host",
         {"write", h.worktree + "/link-out/planted"},
         h.repo + "/planted"},
        {"/proc/self/root",
         {"write", "/proc/self/root" + h.repo + "/planted2"},
         h.repo + "/planted2"},
        {"a hard link to an outside file",
         {"link", h.repo + "/README.md", h.worktree + "/hard"},
         h.worktree + "/hard"},
    };
    for (const Row& r : rows) {
      CAPTURE(r.how);
      std::string out;
      CHECK_FALSE(probe_allowed(p, r.probe, &out));
      CAPTURE(out);
      if (!r.host_path.empty()) CHECK_FALSE(std::filesystem::exists(r.host_path));
    }
    CHECK(read_text(h.repo + "/README.md") == readme_before);

    // A symlink made inside the sandbox leads to the same read-only mount.
    CHECK(probe_allowed(p, {"symlink", h.home, h.worktree + "/link-home"}));
    CHECK_FALSE(probe_allowed(p, {"write", h.worktree + "/link-home/planted"}));
    CHECK_FALSE(std::filesystem::exists(h.home + "/planted"));

    // Renaming an ancestor of a protected path, to recreate it unprotected.
    CHECK_FALSE(probe_allowed(p, {"rename", h.worktree + "/sub", h.worktree + "/sub2"}));
    CHECK_FALSE(probe_allowed(p, {"rename", h.worktree + "/.claude", h.worktree + "/claude2"}));
    CHECK_FALSE(probe_allowed(p, {"rename", h.worktree, h.worktree + "-moved"}));
    CHECK(std::filesystem::is_directory(h.worktree + "/sub/nested/.git/hooks"));
  }

  TEST_CASE("the legitimate counterparts: the worktree, TMPDIR, caches and ~/.claude are writable" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    // Tool caches are writable too, in the session's own layer (next case).
    CHECK(probe_allowed(p, {"write", h.home + "/.cache/tool/new"}));
    for (const std::string& path : {h.worktree + "/new-file", h.worktree + "/sub/nested/file",
                                    p.tmpdir + "/scratch", h.home + "/.claude/projects/y.jsonl"}) {
      CAPTURE(path);
      CHECK(probe_allowed(p, {"write", path}));
      CHECK(std::filesystem::exists(path));
    }
    CHECK(probe_allowed(p, {"append", h.home + "/.claude.json"}));
    CHECK(probe_allowed(p, {"rename", h.worktree + "/new-file", h.worktree + "/renamed"}));
    // /tmp inside is private: writable, and nothing reaches the host's /tmp.
    const std::string private_tmp = "/tmp/" + unique("para-private");
    CHECK(probe_allowed(p, {"write", private_tmp}));
    CHECK_FALSE(std::filesystem::exists(private_tmp));
    // The rest of the filesystem is readable.
    CHECK(probe_allowed(p, {"read", "/etc/os-release"}));
    CHECK(probe_allowed(p, {"read", h.repo + "/README.md"}));
    CHECK(probe_allowed(p, {"read", h.other_worktree + "/README.md"}));
    CHECK(probe_allowed(p, {"list", "/usr/bin"}));
  }

  TEST_CASE("a tool cache carries nothing to the host or to another session" *
            doctest::skip(no_bwrap())) {
    // Code the user later runs from a cache, outside any sandbox: npx's
    // package directory and a cached file the host already has.
    SandboxHost h;
    const std::string npx = h.home + "/.npm/_npx/1a2b/node_modules/tool/index.js";
    std::filesystem::create_directories(std::filesystem::path(npx).parent_path());
    write_text(npx, "original\n");
    // A pre-commit hook repository: its .git/hooks is a protected name, so
    // the directories above it are mount points in the sandbox.
    const std::string hook_repo = h.home + "/.cache/pre-commit/repo1a2b";
    std::filesystem::create_directories(hook_repo + "/.git/hooks");
    write_text(hook_repo + "/hook.py", "original\n");
    const sb::Policy p = h.policy();
    REQUIRE(p.cache_overlays.size() == 2);  // ~/.cache and ~/.npm (the others do not exist)

    // The agent sees the host's cache and may change it, replace it or add
    // to it, as package managers do...
    const std::string entry = h.home + "/.cache/tool/entry";
    const std::string planted = h.home + "/.cache/tool/planted";
    CHECK(in_sandbox(p, {"/bin/cat", entry}).out == "cached\n");
    CHECK(probe_allowed(p, {"write", npx}));
    CHECK(probe_allowed(p, {"append", entry}));
    CHECK(probe_allowed(p, {"write", planted}));
    CHECK(probe_allowed(p, {"unlink", h.home + "/.npm/_npx/1a2b/node_modules/tool/index.js"}));
    CHECK(probe_allowed(p, {"write", hook_repo + "/hook.py"}));
    CHECK(probe_allowed(p, {"write", hook_repo + "/planted.py"}));
    // ...and a later run of the same session finds its own writes.
    Completed again = in_sandbox(p, {"/bin/cat", planted, entry});
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("cached\n") != std::string::npos);
    CHECK(again.out.size() > std::string("cached\n").size());
    CHECK(in_sandbox(p, {"/bin/cat", npx}).exit_code != 0);  // deleted, in its view

    // The host's cache is unchanged.
    CHECK(read_text(npx) == "original\n");
    CHECK(read_text(entry) == "cached\n");
    CHECK_FALSE(std::filesystem::exists(planted));
    CHECK(read_text(hook_repo + "/hook.py") == "original\n");
    CHECK_FALSE(std::filesystem::exists(hook_repo + "/planted.py"));

    // Another session (its own runtime directory) sees the host's cache only.
    sb::PolicyInputs other_in = h.inputs();
    other_in.runtime_dir = h.runtime + "-second";
    Result<sb::Policy> other = sb::build_policy(other_in);
    REQUIRE(other);
    REQUIRE(sb::prepare_host(*other));
    CHECK(in_sandbox(*other, {"/bin/cat", npx}).out == "original\n");
    CHECK(in_sandbox(*other, {"/bin/cat", entry}).out == "cached\n");
    CHECK(in_sandbox(*other, {"/bin/cat", planted}).exit_code != 0);
  }

  TEST_CASE("without an overlay a tool cache is private and starts empty, never shared" *
            doctest::skip(no_bwrap())) {
    // A real failure: overlayfs cannot name an upper directory whose path
    // holds a ',' (here the session's runtime directory, from TMPDIR).
    SandboxHost h;
    sb::PolicyInputs in = h.inputs();
    in.runtime_dir = h.runtime + ",comma";
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    REQUIRE(sb::prepare_host(*p));
    const std::string entry = h.home + "/.cache/tool/entry";
    Completed c =
        in_sandbox(*p, {"/bin/sh", "-c",
                        "cat " + entry + "; mkdir -p " + h.home + "/.cache/tool && echo " +
                            "new > " + entry + " && cat " + entry});
    CHECK(c.out == "new\n");
    CHECK(c.exit_code == 0);
    CHECK(c.out.find("cached") == std::string::npos);
    CHECK(c.err.find("starts empty in this sandbox") != std::string::npos);
    CHECK(read_text(entry) == "cached\n");
  }

  TEST_CASE("two sandboxes of one session never share a cache layer" * doctest::skip(no_bwrap())) {
    // `para shell` beside the running agent: overlayfs must not mount one
    // upper directory twice, so the second sandbox writes to a layer of its own.
    SandboxHost h;
    const sb::Policy p = h.policy();
    const std::string cache = h.home + "/.cache/tool";
    Result<sb::Launched> first = sb::launch(
        p, {"/bin/sh", "-c", "echo first > " + cache + "/first; sleep 60"}, sb::LaunchOptions{});
    REQUIRE(first);
    const std::string session_layer = p.cache_overlays.front().dir + "/upper";
    REQUIRE(wait_until([&] { return std::filesystem::exists(session_layer + "/tool/first"); }));

    Completed second = in_sandbox(
        p, {"/bin/sh", "-c", "echo second > " + cache + "/second; cat " + cache + "/second"});
    CHECK(second.out == "second\n");
    // The launcher's lock stays outside: a host directory descriptor
    // inside would lead anywhere through openat(fd, "..").
    const std::string fds = in_sandbox(p, {"/bin/ls", "-l", "/proc/self/fd"}).out;
    CAPTURE(fds);
    CHECK(fds.find("/caches") == std::string::npos);
    sb::kill_sandbox(*first);
    (void)sb::wait_sandboxed(*first);
    CHECK_FALSE(std::filesystem::exists(session_layer + "/tool/second"));
    CHECK_FALSE(std::filesystem::exists(cache + "/second"));  // nor on the host

    // The session's next sandbox has the session layer again.
    Completed next = in_sandbox(p, {"/bin/sh", "-c", "cat " + cache + "/first; ls " + cache});
    CHECK(next.out.find("first\n") == 0);
    CHECK(next.out.find("second") == std::string::npos);
  }

  TEST_CASE("every protected path stays read-only and unchanged" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    const std::string g = h.git_dir, w = h.worktree, s = h.state;
    const std::vector<std::string> existing = {
        g + "/config", g + "/info/exclude", g + "/refs/heads/main",
        g + "/worktrees/" + h.session + "/commondir", g + "/worktrees/" + h.session + "/gitdir",
        // missing before: a placeholder is made
        g + "/worktrees/" + h.session + "/config.worktree", h.repo + "/.para/config.toml",
        h.repo + "/.para/setup.sh", h.other_worktree + "/README.md", s + "/" + h.other + ".state",
        s + "/" + h.session + ".state", s + "/" + h.other + ".log", h.home + "/.gitconfig",
        h.home + "/.bashrc", h.home + "/.profile", h.home + "/.claude/settings.json",
        w + "/.claude/commands/deploy.md", w + "/.envrc", w + "/.vscode/tasks.json",
        w + "/sub/nested/.git/config", w + "/.git"};
    for (const std::string& path : existing) {
      CAPTURE(path);
      const std::string before = read_text(path);
      CHECK_FALSE(probe_allowed(p, {"append", path}));
      CHECK_FALSE(probe_allowed(p, {"write", path}));
      CHECK(read_text(path) == before);
    }
    const std::vector<std::string> new_files = {g + "/hooks/pre-commit",
                                                g + "/packed-refs",
                                                g + "/objects/info/alternates",
                                                g + "/refs/tags/v1",
                                                h.repo + "/.para/setup-worktree.sh",
                                                s + "/" + h.other + "/status.json",
                                                h.home + "/.claude/hooks/hook.sh",
                                                h.home + "/.claude/commands/x.md",
                                                w + "/.claude/commands/new.md",
                                                w + "/sub/nested/.git/hooks/pre-commit",
                                                h.other_worktree + "/planted"};
    for (const std::string& path : new_files) {
      CAPTURE(path);
      CHECK_FALSE(probe_allowed(p, {"write", path}));
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  TEST_CASE("the status directory is the one writable place under .para" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    std::filesystem::create_symlink(h.session + "/status.json",
                                    h.state + "/" + h.session + ".status.json");
    const sb::Policy p = h.policy();
    CHECK(probe_allowed(p, {"write", h.state + "/" + h.session + "/status.json"}));
    CHECK(probe_allowed(p, {"write", h.state + "/" + h.session + ".status.json"}));
    CHECK(probe_allowed(p, {"write", h.state + "/" + h.session + "/status.json.tmp"}));
    CHECK(probe_allowed(p, {"rename", h.state + "/" + h.session + "/status.json.tmp",
                            h.state + "/" + h.session + "/status.json"}));
    CHECK_FALSE(probe_allowed(p, {"write", h.state + "/" + h.session + ".status.tmp"}));
    // para itself is on PATH inside, for `para status`.
    Completed c = in_sandbox(p, {"para", "--version"});
    CHECK(c.exit_code == 0);
    CHECK(c.out.find("para ") == 0);
  }

  TEST_CASE("git commit moves the session branch and no other ref" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string main_before = h.git_out({"rev-parse", "refs/heads/main"});
    const std::string other_before = h.git_out({"rev-parse", "refs/heads/para/" + h.other});
    const std::string mine_before = h.git_out({"rev-parse", "refs/heads/para/" + h.session});
    sb::Policy p = h.policy();
    write_text(h.worktree + "/work.txt", "agent work\n");
    Completed commit = in_sandbox(
        p,
        {"sh", "-c", "git add work.txt && git commit -q -m 'agent commit' && git rev-parse HEAD"});
    REQUIRE_MESSAGE(commit.exit_code == 0, commit.err);
    const std::string inside_head = trim(commit.out);
    // Moving other refs fails, or lands in the private copy and is dropped.
    for (const std::vector<std::string>& attempt :
         {std::vector<std::string>{"git", "update-ref", "refs/heads/main", "HEAD"},
          {"git", "branch", "-f", "main", "HEAD"},
          {"git", "tag", "v1"},
          {"git", "update-ref", "refs/remotes/origin/main", "HEAD"}}) {
      CAPTURE(attempt[1]);
      CHECK(in_sandbox(p, attempt).exit_code != 0);
    }
    in_sandbox(p, {"git", "update-ref", "refs/heads/para/" + h.other, "HEAD"});
    in_sandbox(p, {"git", "update-ref", "refs/heads/para/archived/x/" + h.other, "HEAD"});
    Result<sb::SyncNotes> synced = sb::sync_session_ref(p);
    REQUIRE(synced);
    CHECK(synced->empty());
    CHECK(h.git_out({"rev-parse", "refs/heads/para/" + h.session}) == inside_head);
    CHECK(inside_head != mine_before);
    CHECK(h.git_out({"rev-parse", "refs/heads/main"}) == main_before);
    CHECK(h.git_out({"rev-parse", "refs/heads/para/" + h.other}) == other_before);
    CHECK_FALSE(
        h.git({"rev-parse", "--verify", "-q", "refs/heads/para/archived/x/" + h.other}).ok());
    CHECK_FALSE(h.git({"rev-parse", "--verify", "-q", "refs/tags/v1"}).ok());
    CHECK(h.git_out({"log", "-1", "--format=%s", "para/" + h.session}) == "agent commit");

    // Pointing HEAD at main inside is undone before any host-side git runs.
    CHECK(in_sandbox(p, {"git", "symbolic-ref", "HEAD", "refs/heads/main"}).exit_code == 0);
    Result<bool> restored = sb::restore_session_head(p);
    REQUIRE(restored);
    CHECK(*restored);
    CHECK(h.git_out({"symbolic-ref", "HEAD"}, h.worktree) == "refs/heads/para/" + h.session);
    // A bogus value written to the private ref is refused, not copied, and
    // the private copy goes back to the branch's value.
    write_text(p.git->private_refs + "/" + h.session, "not-a-commit\n");
    Result<sb::SyncNotes> refused = sb::sync_session_ref(p);
    REQUIRE(refused);
    REQUIRE(refused->size() == 1);
    CHECK(refused->front().find("not an object name") != std::string::npos);
    CHECK(h.git_out({"rev-parse", "refs/heads/para/" + h.session}) == inside_head);
    CHECK(read_text(p.git->private_refs + "/" + h.session) == inside_head + "\n");
  }

  TEST_CASE("a branch moved on the host meanwhile: the sandbox's commit waits until it is merged" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string branch = "para/" + h.session;
    sb::Policy p = h.policy();
    write_text(h.worktree + "/work.txt", "agent work\n");
    Completed commit = in_sandbox(
        p, {"sh", "-c", "git add work.txt && git commit -q -m agent && git rev-parse HEAD"});
    REQUIRE_MESSAGE(commit.exit_code == 0, commit.err);
    const std::string agent = trim(commit.out);
    // Meanwhile the branch moves on the host (plumbing: the worktree's
    // index holds the agent's staging).
    const std::string base = h.git_out({"rev-parse", branch});
    const std::string host = h.git_out({"commit-tree", base + "^{tree}", "-p", base, "-m", "host"});
    REQUIRE(h.git({"update-ref", "refs/heads/" + branch, host}).exit_code == 0);
    Result<sb::SyncNotes> moved = sb::sync_session_ref(p);
    REQUIRE_FALSE(moved);
    CHECK(moved.error().code == Errc::conflict);
    CHECK(moved.error().message.find("git merge " + agent) != std::string::npos);
    CHECK(h.git_out({"rev-parse", branch}) == host);  // nothing overwritten
    // Once the branch holds the sandbox's commit (here a merge of both),
    // the work has arrived.
    const std::string merged =
        h.git_out({"commit-tree", agent + "^{tree}", "-p", host, "-p", agent, "-m", "merge"});
    REQUIRE(h.git({"update-ref", "refs/heads/" + branch, merged}).exit_code == 0);
    Result<sb::SyncNotes> settled = sb::sync_session_ref(p);
    REQUIRE(settled);
    CHECK(settled->empty());
    CHECK(h.git_out({"rev-parse", branch}) == merged);
    CHECK(trim(read_text(sb::base_path(p))) == merged);
    CHECK(trim(read_text(p.git->private_refs + "/" + h.session)) == merged);
  }

  TEST_CASE("read-denied secrets show nothing" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    for (const char* secret :
         {".ssh/id_ed25519", ".aws/credentials", ".gnupg/private-keys-v1.d/key",
          ".config/gh/hosts.yml", ".docker/config.json", ".kube/config", ".netrc",
          ".git-credentials", ".local/share/jupyter/runtime/jpserver-4242.json"}) {
      CAPTURE(secret);
      std::string out;
      probe_allowed(p, {"read", h.home + "/" + secret}, &out);
      CHECK(out.find(kSecret) == std::string::npos);
      // Nor can the secret be moved or copied out of its store.
      CHECK_FALSE(probe_allowed(p, {"rename", h.home + "/" + secret, h.worktree + "/stolen"}));
    }
    CHECK_FALSE(probe_allowed(p, {"list", h.home + "/.ssh"}));
    CHECK_FALSE(probe_allowed(p, {"write", h.home + "/.ssh/authorized_keys"}));
    // The host still has them, and the sandbox still reads the rest of home.
    CHECK(read_text(h.home + "/.ssh/id_ed25519").find(kSecret) != std::string::npos);
    CHECK(probe_allowed(p, {"read", h.home + "/.gitconfig"}));
  }

  TEST_CASE(
      "Claude Code's IDE lock files can be neither read nor planted; the rest of ~/.claude is "
      "writable" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string ide = h.home + "/.claude/ide";
    // Missing: the agent cannot create a lock file for the host's Claude Code to follow.
    sb::Policy p = h.policy();
    probe_allowed(p, {"mkdir", ide});
    CHECK_FALSE(probe_allowed(p, {"write", ide + "/4242.lock"}));
    CHECK_FALSE(std::filesystem::exists(ide + "/4242.lock"));
    // Present (an IDE extension is running): its token cannot be read.
    write_text(ide + "/4242.lock", std::string("{\"authToken\": \"") + kSecret + "\"}\n", 0600);
    p = h.policy();
    std::string out;
    probe_allowed(p, {"read", ide + "/4242.lock"}, &out);
    CHECK(out.find(kSecret) == std::string::npos);
    CHECK_FALSE(probe_allowed(p, {"list", ide}));
    CHECK_FALSE(probe_allowed(p, {"write", ide + "/4343.lock"}));
    CHECK_FALSE(std::filesystem::exists(ide + "/4343.lock"));
    // The legitimate counterpart: Claude Code's own state is writable.
    CHECK(probe_allowed(p, {"append", h.home + "/.claude/projects/x.jsonl"}));
    CHECK(probe_allowed(p, {"write", h.home + "/.claude/new-state.json"}));
  }

  TEST_CASE("host Unix sockets cannot be reached: docker.sock, ssh-agent, D-Bus" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string run_dir = "/run/" + unique("para-test");
    std::filesystem::create_directories(run_dir);
    struct Cleanup {
      std::string d;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    } cleanup{run_dir};
    const std::string agent_dir = h.dir / unique("ssh");
    std::filesystem::create_directories(agent_dir);
    const std::string abstract = unique("para-test-dbus");
    LoopbackServer docker(LoopbackServer::Kind::unix_path, run_dir + "/docker.sock");
    LoopbackServer dbus(LoopbackServer::Kind::unix_path, run_dir + "/bus");
    LoopbackServer dbus_abstract(LoopbackServer::Kind::unix_abstract, abstract);
    LoopbackServer agent(LoopbackServer::Kind::unix_path, agent_dir + "/agent.1");
    LoopbackServer home_agent(LoopbackServer::Kind::unix_path, h.home + "/agent.sock");
    LoopbackServer in_worktree(LoopbackServer::Kind::unix_path, h.worktree + "/dev.sock");
    const std::vector<std::string> paths = {run_dir + "/docker.sock", run_dir + "/bus",
                                            agent_dir + "/agent.1", h.home + "/agent.sock",
                                            h.worktree + "/dev.sock"};
    for (const std::string& path : paths) {
      CAPTURE(path);
      REQUIRE(host_probe_allowed({"connect-unix", path}));  // live on the host
    }
    REQUIRE(host_probe_allowed({"connect-abstract", abstract}));

    sb::PolicyInputs in = h.inputs();
    in.environment.push_back("SSH_AUTH_SOCK=" + h.home + "/agent.sock");
    Result<sb::Policy> built = sb::build_policy(in);
    REQUIRE(built);
    REQUIRE(sb::prepare_host(*built));
    for (const sb::Policy& p : {*built, h.policy("standard", true, sb::NetworkMode::none)}) {
      CAPTURE(sb::network_mode_name(p.network));
      const int hits_before = docker.hits() + dbus.hits() + dbus_abstract.hits() + agent.hits() +
                              home_agent.hits() + in_worktree.hits();
      for (const std::string& path : paths) {
        CAPTURE(path);
        CHECK_FALSE(probe_allowed(p, {"connect-unix", path}));
      }
      CHECK_FALSE(probe_allowed(p, {"connect-abstract", abstract}));
      CHECK_FALSE(probe_allowed(p, {"socket-unix"}));
      CHECK(probe_allowed(p, {"socketpair"}));  // reaches nothing; node needs it
      CHECK(docker.hits() + dbus.hits() + dbus_abstract.hits() + agent.hits() + home_agent.hits() +
                in_worktree.hits() ==
            hits_before);
    }
    // Second layer, independent of the seccomp filter: the host socket
    // directories are empty inside and env-named sockets are covered.
    const sb::Policy& p = *built;
    CHECK_FALSE(probe_allowed(p, {"list", run_dir}));
    CHECK_FALSE(probe_allowed(p, {"list", agent_dir}));
    std::string out;
    probe_allowed(p, {"read", h.home + "/agent.sock"}, &out);
    CHECK(out.find("ENXIO") == std::string::npos);  // a /dev/null, not a socket
    Completed env = in_sandbox(p, {"env"});
    CHECK(env.out.find("SSH_AUTH_SOCK") == std::string::npos);
    if (std::filesystem::exists("/var/run/docker.sock")) {
      CHECK_FALSE(probe_allowed(p, {"connect-unix", "/var/run/docker.sock"}));
      std::string listing;
      probe_allowed(p, {"list", "/var/run"}, &listing);
      CHECK(listing.find("docker.sock") == std::string::npos);
    }
  }

  TEST_CASE("the session keyring's secrets and io_uring are out of reach in every network mode" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    // A session keyring of this test process's own, holding a secret: para
    // and its sandboxes inherit it, as they inherit a user's login keyring.
    if (::syscall(__NR_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0) {
      MESSAGE("SKIPPED: this machine refuses kernel keyrings (" << std::strerror(errno) << ")");
      return;
    }
    const long key = ::syscall(__NR_add_key, "user", "para-test-secret", kSecret,
                               std::strlen(kSecret), KEY_SPEC_SESSION_KEYRING);
    REQUIRE(key >= 0);
    struct Revoke {
      long key;
      ~Revoke() { ::syscall(__NR_keyctl, KEYCTL_REVOKE, key); }
    } revoke{key};
    REQUIRE(host_probe_allowed({"keyring-read"}));  // the probe finds it outside

    for (const sb::Policy& p :
         {h.policy("standard"), h.policy("standard", true, sb::NetworkMode::none)}) {
      CAPTURE(sb::network_mode_name(p.network));
      std::string out;
      CHECK_FALSE(probe_allowed(p, {"keyring-read"}, &out));
      CHECK(out.find(kSecret) == std::string::npos);
      CHECK_FALSE(probe_allowed(p, {"keyring-add"}));
      CHECK_FALSE(probe_allowed(p, {"io-uring"}));
      CHECK(probe_allowed(p, {"write", h.worktree + "/work.txt"}));  // legitimate work
    }
    // standard-proxied, through para with the relay: the same filter, minus the Unix-socket rule.
    for (const char* what : {"keyring-read", "keyring-add", "io-uring"}) {
      CAPTURE(what);
      Completed c = run_cmd({built_binary("para"), "sandbox", "run", "--profile",
                             "standard-proxied", "--", probe_path(), what},
                            h.env, h.repo);
      CHECK(c.exit_code == 1);
      CHECK(c.out.find("BLOCKED") != std::string::npos);
      CHECK(c.out.find(kSecret) == std::string::npos);
    }
    Completed ok = run_cmd({built_binary("para"), "sandbox", "run", "--profile", "standard-proxied",
                            "--", probe_path(), "write", h.repo + "/work.txt"},
                           h.env, h.repo);
    CHECK(ok.exit_code == 0);
  }

  TEST_CASE(
      "with TMPDIR outside /tmp, another session's proxy socket and temp files are out of reach" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    // A TMPDIR that the sandbox's empty /tmp does not cover: under the build tree.
    const char* build = std::getenv("PARA_BUILD_ROOT");
    REQUIRE(build != nullptr);
    std::string tmpdir = std::string(build) + "/rt-XXXXXX";
    REQUIRE(::mkdtemp(tmpdir.data()) != nullptr);
    struct Cleanup {
      std::string d;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    } cleanup{tmpdir};
    const std::string root = tmpdir + "/para-" + std::to_string(::getuid());
    const std::string other = root + "/0123456789abcdef-other1";
    std::filesystem::create_directories(other + "/tmp");
    std::filesystem::permissions(root, std::filesystem::perms::owner_all);
    write_text(other + "/tmp/notes.txt", std::string(kSecret) + "\n");
    LoopbackServer other_proxy(LoopbackServer::Kind::unix_path, other + "/proxy.sock");
    REQUIRE(host_probe_allowed({"connect-unix", other + "/proxy.sock"}));  // live on the host

    std::vector<std::string> env = h.env;
    env.push_back("TMPDIR=" + tmpdir);
    const auto run = [&](const std::vector<std::string>& command) {
      std::vector<std::string> argv = {built_binary("para"), "sandbox",          "run",
                                       "--profile",          "standard-proxied", "--"};
      argv.insert(argv.end(), command.begin(), command.end());
      return run_cmd(argv, env, h.repo);
    };
    // The run's own runtime directory is beside the other session's.
    Completed own = run({"sh", "-c",
                         "echo ok > \"$TMPDIR/mine\" && cat \"$TMPDIR/mine\" && "
                         "echo \"$TMPDIR\""});
    REQUIRE(own.exit_code == 0);
    CHECK(own.out.rfind("ok\n" + root + "/", 0) == 0);  // legitimate work in its own TMPDIR

    const int hits_before = other_proxy.hits();
    Completed connect = run({probe_path(), "connect-unix", other + "/proxy.sock"});
    CHECK(connect.exit_code == 1);
    CHECK(other_proxy.hits() == hits_before);
    Completed read = run({probe_path(), "read", other + "/tmp/notes.txt"});
    CHECK(read.exit_code == 1);
    CHECK(read.out.find(kSecret) == std::string::npos);
    CHECK(run({probe_path(), "list", root}).out.find("other1") == std::string::npos);
  }

  TEST_CASE("secret-looking variables do not reach the sandbox unless forwarded" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    sb::PolicyInputs in = h.inputs();
    for (const char* kv :
         {"GITHUB_TOKEN=ghp-leak-1", "MY_SERVICE_PASSWORD=pw-leak-2", "npm_config__auth=np-leak-3",
          "ANTHROPIC_API_KEY=sk-agent-4", "PARA_TEST_ORDINARY=1", "NPM_TOKEN=npm-fwd-5",
          "AWS_SESSION_TOKEN=aws-fwd-6", "DATABASE_URL=postgres://app:dbpw-leak-7@db/app",
          "MYSQL_PWD=mysql-leak-8", "DEPLOY_HELPER=ghp_0123456789abcdefghijABCDEFGHIJleak9",
          "PARA_TEST_HOMEPAGE=https://example.org/a:b"}) {
      in.environment.push_back(kv);
    }
    in.forward_env = {"NPM_TOKEN", "AWS_*"};
    Result<sb::Policy> built = sb::build_policy(in);
    REQUIRE(built);
    REQUIRE(sb::prepare_host(*built));
    Completed env = in_sandbox(*built, {"env"});
    REQUIRE(env.exit_code == 0);
    for (const char* absent : {"GITHUB_TOKEN", "ghp-leak-1", "MY_SERVICE_PASSWORD", "pw-leak-2",
                               "npm_config__auth", "np-leak-3", "DATABASE_URL", "dbpw-leak-7",
                               "MYSQL_PWD", "mysql-leak-8", "DEPLOY_HELPER", "leak9"}) {
      CAPTURE(absent);
      CHECK(env.out.find(absent) == std::string::npos);
    }
    for (const char* present :
         {"\nANTHROPIC_API_KEY=sk-agent-4\n", "\nPARA_TEST_ORDINARY=1\n", "\nNPM_TOKEN=npm-fwd-5\n",
          "\nAWS_SESSION_TOKEN=aws-fwd-6\n", "\nPARA_TEST_HOMEPAGE=https://example.org/a:b\n"}) {
      CAPTURE(present);
      CHECK(("\n" + env.out).find(present) != std::string::npos);
    }
  }

  TEST_CASE("no namespaces, mounts or ptrace inside; host processes are invisible" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    CHECK_FALSE(probe_allowed(p, {"userns"}));
    CHECK_FALSE(probe_allowed(p, {"mountns"}));
    CHECK_FALSE(probe_allowed(p, {"mount", h.worktree + "/sub"}));
    CHECK_FALSE(probe_allowed(p, {"umount", h.worktree + "/.envrc"}));
    CHECK_FALSE(probe_allowed(p, {"umount", h.git_dir + "/refs/heads/para"}));
    CHECK_FALSE(probe_allowed(p, {"remount-rw", h.repo}));
    CHECK_FALSE(probe_allowed(p, {"tiocsti"}));  // no controlling terminal: new session

    const std::string marker = "4242." + std::to_string(::getpid());
    Result<pid_t> host_sleep = spawn(SpawnOptions{.argv = {"sleep", marker}});
    REQUIRE(host_sleep);
    REQUIRE(wait_until([&] { return !host_processes_with(marker).empty(); }));
    CHECK_FALSE(probe_allowed(p, {"find-process", marker}));
    CHECK_FALSE(probe_allowed(p, {"ptrace", std::to_string(*host_sleep)}));
    CHECK(process_exists(*host_sleep));
    ::kill(*host_sleep, SIGKILL);
    (void)wait_for(*host_sleep, std::nullopt);
    // Its own processes are visible to it. The background sleep may not have
    // exec'd yet when the probe first looks, so it looks a few times.
    Completed own =
        in_sandbox(p, {"sh", "-c",
                       "sleep 3 & for i in 1 2 3 4 5 6 7 8 9 10; do " + probe_path() +
                           " find-process 'sleep 3' && exit 0; sleep 0.1; done; exit 1"});
    CHECK(own.exit_code == 0);
    Completed status = in_sandbox(p, {"cat", "/proc/self/status"});
    CHECK(status.out.find("NoNewPrivs:\t1") != std::string::npos);
    CHECK(status.out.find("CapEff:\t0000000000000000") != std::string::npos);
  }

  TEST_CASE("nothing outlives the sandbox" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    const sb::Policy p = h.policy();
    const std::string marker = "313." + std::to_string(::getpid());
    CHECK(probe_allowed(p, {"spawn-daemon", marker}));
    CHECK(wait_until([&] { return host_processes_with(marker).empty(); }, std::chrono::seconds(5)));

    // Killing the sandbox (what the supervisor does) ends everything inside,
    // once the command runs and also during bwrap's set-up.
    for (const bool at_once : {false, true}) {
      CAPTURE(at_once);
      const std::string m1 = "271." + std::to_string(::getpid()) + (at_once ? "1" : "2");
      Result<sb::Launched> l = sb::launch(
          p, {"sh", "-c", "sleep " + m1 + "1 & sleep " + m1 + "2 & wait"}, sb::LaunchOptions{});
      REQUIRE(l);
      const auto sleeps = [&] {
        int n = 0;
        for (pid_t pid : host_processes_with(m1)) {
          n += read_text("/proc/" + std::to_string(pid) + "/cmdline").starts_with("sleep") ? 1 : 0;
        }
        return n;
      };
      if (!at_once) REQUIRE(wait_until([&] { return sleeps() == 2; }));
      sb::kill_sandbox(*l);
      (void)sb::wait_sandboxed(*l);
      CHECK(wait_until([&] { return host_processes_with(m1).empty(); }, std::chrono::seconds(5)));
    }
  }

  TEST_CASE("an empty network namespace reaches nothing on the host" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    const LoopbackTargets servers;
    const std::vector<LoopbackTargets::Target> targets = servers.all();
    for (const auto& t : targets) REQUIRE_MESSAGE(host_probe_allowed(t.probe), t.what);
    const sb::Policy offline = h.policy("standard", true, sb::NetworkMode::none);
    const sb::Policy open = h.policy("standard");
    for (const auto& t : targets) {
      CAPTURE(t.what);
      const int before = t.server->hits();
      CHECK_FALSE(probe_allowed(offline, t.probe));
      CHECK(t.server->hits() == before);
      CHECK(probe_allowed(open, t.probe));  // the standard profile shares the host network
    }
    CHECK_FALSE(probe_allowed(offline, {"icmp", "127.0.0.1"}));
    // No route anywhere but the sandbox's own loopback.
    Completed routes = in_sandbox(offline, {"cat", "/proc/net/route"});
    CHECK(routes.out.find("\n") == routes.out.rfind("\n"));  // the header line only
    Completed routes6 = in_sandbox(offline, {"cat", "/proc/net/ipv6_route"});
    std::istringstream lines(routes6.out);
    for (std::string line; std::getline(lines, line);) {
      CAPTURE(line);
      CHECK(line.ends_with(" lo"));
    }
    Completed links = in_sandbox(offline, {"cat", "/proc/net/dev"});
    CHECK(links.out.find("lo:") != std::string::npos);
    CHECK(links.out.find("eth") == std::string::npos);
  }

  TEST_CASE("standard-proxied fails closed without the relay or the proxy socket" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    sb::PolicyInputs in = h.inputs("standard-proxied");
    in.relay_bin.clear();
    Result<sb::Policy> p = sb::build_policy(in);
    REQUIRE(p);
    Result<sb::Launched> l = sb::launch(*p, {"true"}, {});
    REQUIRE_FALSE(l);
    CHECK(l.error().code == Errc::unavailable);
    CHECK(l.error().message.find("para-relay") != std::string::npos);
    in.relay_bin = "/bin/true";  // present, but no proxy listening
    in.proxy_socket = h.runtime + "/proxy.sock";
    p = sb::build_policy(in);
    REQUIRE(p);
    l = sb::launch(*p, {"true"}, {});
    REQUIRE_FALSE(l);
    CHECK(l.error().message.find("proxy") != std::string::npos);
  }
}

}  // namespace para::test
