// What an agent leaves in its worktree never makes para, running on the
// host, execute the agent's code, write through its symlinks, read through
// them, or hand it descriptors. Each case reproduces a finding of a sandbox
// review; the agent's moves are made here directly in the worktree (what a
// sandboxed agent can write there), then para's host-side commands run.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool agent_done(const ParaRepo& r, const std::string& name) {
  json list = r.para_json({"list"});
  for (const json& s : list["sessions"]) {
    if (s["name"] == name) return s["agent"]["state"] != "running";
  }
  return false;
}

Completed git_in(const ParaRepo& r, const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir});
  Completed c = run_cmd(args, r.env(), dir);
  REQUIRE_MESSAGE(c.exit_code == 0, c.err);
  return c;
}

}  // namespace

TEST_SUITE("integration/sessions/host_safety") {
  TEST_CASE("an embedded repository's filters never run in host-side git (list, diff, finish)") {
    ParaRepo r;
    REQUIRE(r.para({"start", "nest"}).exit_code == 0);
    const std::string wt = r.worktree("nest");
    const std::string marker = r.scratch() + "/PWNED";
    // The agent: a repository inside the worktree whose config defines a
    // clean filter that its .gitattributes applies, recorded as a gitlink.
    fs::create_directories(wt + "/sub");
    git_in(r, wt + "/sub", {"init", "-q", "-b", "main"});
    git_in(r, wt + "/sub", {"config", "filter.x.clean", "sh -c 'id > " + marker + "; cat'"});
    write_text(wt + "/sub/.gitattributes", "* filter=x\n");
    write_text(wt + "/sub/f", "data\n");
    git_in(r, wt + "/sub", {"add", "-A"});
    git_in(r, wt + "/sub", {"commit", "-q", "-m", "inner"});
    fs::remove(marker);
    git_in(r, wt, {"add", "sub"});
    git_in(r, wt, {"commit", "-q", "-m", "embed"});
    write_text(wt + "/top.txt", "the agent's work\n");
    // A changed mtime makes git look inside the embedded repository again.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    write_text(wt + "/sub/f", "data\n");

    CHECK(r.para({"list", "-v"}).exit_code == 0);
    CHECK(r.para({"diff", "nest"}).exit_code == 0);
    CHECK(r.para({"status", "show", "nest"}).exit_code == 0);
    Completed finish = r.para({"finish", "work", "nest"});
    CHECK_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK_FALSE(fs::exists(marker));
    // The legitimate work is committed.
    CHECK(r.repo().git_out({"show", "para/nest:top.txt"}) == "the agent's work");
  }

  TEST_CASE("a rewritten commondir never decides which config para's own git reads") {
    ParaRepo r;
    REQUIRE(r.para({"start", "cd"}).exit_code == 0);
    const std::string wt = r.worktree("cd");
    const std::string admin = r.path() + "/.git/worktrees/cd";
    const std::string marker = r.scratch() + "/PWNED";
    // The agent's own "common directory": the repository's objects and
    // refs, plus a config whose clean filter runs code, applied to all.
    const std::string fake = r.scratch() + "/fake";
    fs::create_directories(fake + "/info");
    fs::copy(r.path() + "/.git/refs", fake + "/refs", fs::copy_options::recursive);
    fs::copy_file(r.path() + "/.git/HEAD", fake + "/HEAD");
    fs::create_directories(fake + "/objects/info");
    write_text(fake + "/objects/info/alternates", r.path() + "/.git/objects\n");
    write_text(fake + "/config",
               "[core]\n\trepositoryformatversion = 0\n[filter \"x\"]\n\tclean = sh -c 'id > " +
                   marker + "; cat'\n");
    write_text(fake + "/info/attributes", "* filter=x\n");
    write_text(admin + "/commondir", fake + "\n");
    write_text(wt + "/work.txt", "the agent's work\n");

    const std::string tip = r.repo().git_out({"rev-parse", "para/cd"});
    CHECK(r.para({"list", "-v"}).exit_code == 0);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"diff", "cd"},
          std::vector<std::string>{"finish", "work", "cd"}}) {
      Completed c = r.para(args);
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("commondir (session 'cd') names " + fake) != std::string::npos);
    }
    CHECK_FALSE(fs::exists(marker));
    CHECK(r.repo().git_out({"rev-parse", "para/cd"}) == tip);
    CHECK(read_text(wt + "/work.txt") == "the agent's work\n");
    // Put back, the same finish commits the work to the session's branch.
    write_text(admin + "/commondir", "../..\n");
    Completed finish = r.para({"finish", "work", "cd"});
    CHECK_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK_FALSE(fs::exists(marker));
    CHECK(r.repo().git_out({"show", "para/cd:work.txt"}) == "the agent's work");
  }

  TEST_CASE("CLAUDE.local.md and .para planted as symlinks are never written through") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh", "#!/bin/sh\ntrue\n")});
    REQUIRE(r.para({"start", "links"}).exit_code == 0);
    const std::string wt = r.worktree("links");
    const std::string victim = r.scratch() + "/victim.txt";
    const std::string victim_dir = r.scratch() + "/victim-dir";
    write_text(victim, "the user's file\n");
    fs::create_directories(victim_dir);
    fs::remove(wt + "/CLAUDE.local.md");
    fs::create_symlink(victim, wt + "/CLAUDE.local.md");
    fs::create_directory_symlink(victim_dir, wt + "/.para");

    Completed resume = r.para({"resume", "links", "-p", "continue"});
    CHECK(resume.exit_code == 1);
    CHECK(resume.err.find("does not write through it") != std::string::npos);
    CHECK(read_text(victim) == "the user's file\n");
    CHECK(fs::is_empty(victim_dir));
    // Without the .para link, resume replaces the CLAUDE.local.md link by a file.
    fs::remove(wt + "/.para");
    Completed again = r.para({"resume", "links"});
    CHECK_MESSAGE(again.exit_code == 0, again.err);
    CHECK(read_text(victim) == "the user's file\n");
    CHECK_FALSE(fs::is_symlink(wt + "/CLAUDE.local.md"));
    CHECK(read_text(wt + "/CLAUDE.local.md").find("links") != std::string::npos);
  }

  TEST_CASE("para diff does not copy a file the agent's index links to") {
    ParaRepo r;
    REQUIRE(r.para({"start", "idx"}).exit_code == 0);
    const std::string secret = r.scratch() + "/id_ed25519";
    write_text(secret, "SECRETKEY\n");
    const std::string admin = git_in(r, r.worktree("idx"), {"rev-parse", "--absolute-git-dir"}).out;
    const std::string index = admin.substr(0, admin.size() - 1) + "/index";
    fs::remove(index);
    fs::create_symlink(secret, index);
    Completed diff = r.para({"diff", "idx"});  // the committed diff, at most
    CHECK(diff.out.find("SECRETKEY") == std::string::npos);
    CHECK(diff.err.find("SECRETKEY") == std::string::npos);
    for (const auto& e : fs::directory_iterator(r.state_dir())) {
      CHECK(e.path().filename().string().find("diff-index") == std::string::npos);
    }
  }

  TEST_CASE("a FIFO planted as the worktree's HEAD does not hang para") {
    ParaRepo r;
    REQUIRE(r.para({"start", "fifo"}).exit_code == 0);
    const std::string admin =
        git_in(r, r.worktree("fifo"), {"rev-parse", "--absolute-git-dir"}).out;
    const std::string head = admin.substr(0, admin.size() - 1) + "/HEAD";
    fs::remove(head);
    REQUIRE(::mkfifo(head.c_str(), 0644) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    Completed finish = r.para({"finish", "msg", "fifo"});
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
    CHECK(finish.exit_code != 0);
    CHECK(finish.err.find("not a regular file") != std::string::npos);
    Completed list = r.para({"list", "-v"});
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  }

  TEST_CASE("descriptors para inherits from its caller do not reach the agent") {
    ParaRepo r;
    const std::string seen = r.scratch() + "/fds.txt";
    r.set_agent({r.script("agent.sh", "#!/bin/sh\nls /proc/self/fd > " + seen + "\n")});
    // The caller holds fd 7 open on its home directory, without close-on-exec.
    Completed c = run_cmd({"bash", "-c", "exec 7<\"$0\"; exec \"$1\" start fds -p go", r.scratch(),
                           built_binary("para")},
                          r.env(), r.path());
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    REQUIRE(wait_until([&] { return agent_done(r, "fds"); }));
    const std::string fds = read_text(seen);
    CHECK(fds.find("\n7\n") == std::string::npos);
    CHECK(fds.rfind("7\n", 0) != 0);
  }
}

}  // namespace para::test
