// No para command deletes what is not its own or loses work: clean touches
// only registered, clean worktrees; a moved or copied repository's state
// never reaches the original; the worktrees directory may be a symlink.
// Each case is a finding of a review that reproduced the loss on the old code.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool has_action(const json& clean, const std::string& kind, const std::string& target_end) {
  for (const json& a : clean["actions"]) {
    const std::string target = a["target"];
    if (a["kind"] == kind && target.size() >= target_end.size() &&
        target.compare(target.size() - target_end.size(), target_end.size(), target_end) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_SUITE("integration/sessions/work_safety") {
  TEST_CASE(
      "worktree and state directories that hold the repository, .git or each other are "
      "refused") {
    ParaRepo r;
    for (const std::string& bad :
         {std::string("subtrees_dir = \".\""), std::string("subtrees_dir = \"./\""),
          std::string("subtrees_dir = \".para\""), std::string("subtrees_dir = \".git/wt\""),
          std::string("state_dir = \".para/worktrees/s\"")}) {
      CAPTURE(bad);
      fs::create_directories(r.path() + "/.para");
      write_text(r.path() + "/.para/config.toml", "[directories]\n" + bad + "\n");
      const std::string before = r.snapshot();
      Completed c = r.para({"start", "x"});
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("directories.") != std::string::npos);
      CHECK(r.snapshot() == before);
      CHECK_FALSE(fs::exists(r.path() + "/.para/state"));
      Completed clean = r.para({"clean", "--force"});
      CHECK(clean.exit_code == 1);
      CHECK(fs::exists(r.path() + "/.git/HEAD"));
      CHECK(fs::exists(r.path() + "/.para/config.toml"));
    }
    fs::remove(r.path() + "/.para/config.toml");
    Completed set = r.para({"config", "set", "directories.subtrees_dir", "."});
    CHECK(set.exit_code == 1);
    CHECK(set.err.find("repository itself") != std::string::npos);
  }

  TEST_CASE("clean removes only registered worktrees without changes; everything else stays") {
    ParaRepo r;
    REQUIRE(r.para({"start", "dirty"}).exit_code == 0);
    REQUIRE(r.para({"start", "tidy"}).exit_code == 0);
    write_text(r.worktree("dirty") + "/precious.txt", "unsaved work\n");
    // Their state is lost (deleted by hand, or moved aside as corrupt).
    fs::remove(r.state_dir() + "/dirty.state");
    fs::remove(r.state_dir() + "/tidy.state");
    // Things in the worktrees directory that are not worktrees at all.
    fs::create_directories(r.worktree("notes"));
    write_text(r.worktree("notes") + "/todo.txt", "mine\n");
    write_text(r.path() + "/.para/worktrees/README", "mine too\n");
    fs::create_directories(r.worktree("empty"));

    json plan = r.para_json({"clean", "--dry-run"});
    CHECK(has_action(plan, "orphan_worktree_kept", "/dirty"));
    CHECK(has_action(plan, "orphan_worktree", "/tidy"));
    CHECK(has_action(plan, "orphan_worktree", "/empty"));
    CHECK_FALSE(has_action(plan, "orphan_worktree", "/notes"));
    CHECK_FALSE(has_action(plan, "orphan_worktree", "/README"));

    Completed clean = r.para({"clean", "--force"});
    CHECK(clean.exit_code == 1);  // the kept worktree is reported as not cleaned
    CHECK(clean.out.find("uncommitted changes") != std::string::npos);
    CHECK(clean.err.find("did not complete") != std::string::npos);
    CHECK(read_text(r.worktree("dirty") + "/precious.txt") == "unsaved work\n");
    CHECK_FALSE(fs::exists(r.worktree("tidy")));
    CHECK_FALSE(fs::exists(r.worktree("empty")));
    CHECK(read_text(r.worktree("notes") + "/todo.txt") == "mine\n");
    CHECK(read_text(r.path() + "/.para/worktrees/README") == "mine too\n");
  }

  TEST_CASE("a symlinked worktrees directory: resume keeps the files, finish works inside it") {
    ParaRepo r;
    TempDir disk;
    fs::create_directories(r.path() + "/.para");
    fs::create_directory_symlink(disk.path(), r.path() + "/.para/worktrees");
    REQUIRE(r.para({"start", "linked"}).exit_code == 0);
    write_text(r.worktree("linked") + "/precious.txt", "work\n");
    Completed resume = r.para({"resume", "linked"});
    CHECK_MESSAGE(resume.exit_code == 0, resume.err);
    CHECK(read_text(r.worktree("linked") + "/precious.txt") == "work\n");
    Completed finish = r.para({"finish", "linked work"}, r.worktree("linked"));
    CHECK_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK(r.repo().git_out({"show", "para/linked:precious.txt"}) == "work");
  }

  TEST_CASE("a copied repository's sessions act on the copy, never on the original") {
    ParaRepo r;
    REQUIRE(r.para({"start", "x"}).exit_code == 0);
    write_text(r.worktree("x") + "/precious.txt", "original's work\n");
    TempDir copies;
    const std::string copy = copies.path() + "/copy";
    fs::copy(r.path(), copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    const std::string before = r.snapshot();
    Completed cancel = run_cmd({built_binary("para"), "cancel", "--force", "x"}, r.env(), copy);
    CAPTURE(cancel.err);
    CHECK(read_text(r.worktree("x") + "/precious.txt") == "original's work\n");
    CHECK(r.snapshot() == before);
  }

  TEST_CASE("names git cannot use, directories git does not know and gone branches are reported") {
    ParaRepo r;
    auto git = [&](std::vector<std::string> args) {
      args.insert(args.begin(), "git");
      return run_cmd(args, r.env(), r.path());
    };
    REQUIRE(r.para({"start", "x"}).exit_code == 0);  // .para/ exists
    // para/foo/bar (not a session's) makes para/foo impossible for git.
    REQUIRE(git({"branch", "para/foo/bar"}).exit_code == 0);
    Completed start = r.para({"start", "foo"});
    CHECK(start.exit_code == 1);
    CHECK(start.err.find("branches named para/foo/... exist, so git cannot create the branch "
                         "para/foo") != std::string::npos);
    CHECK_FALSE(fs::exists(r.worktree("foo")));
    CHECK_FALSE(fs::exists(r.state_dir() + "/foo.state"));
    // clean leaves it alone: recover could not take the name foo/bar back.
    CHECK(r.para({"clean", "--force"}).exit_code == 0);
    CHECK(r.repo().git_out({"branch", "--list", "para/foo/bar"}) == "para/foo/bar");

    // A directory git has no registration for: reported, kept.
    fs::create_directories(r.path() + "/.para/worktrees/lo");
    write_text(r.path() + "/.para/worktrees/lo/junk", "mine\n");
    Completed clean = r.para({"clean", "--force"});
    CHECK(clean.exit_code == 1);
    CHECK(clean.out.find("unowned_directory_kept: " + r.path() + "/.para/worktrees/lo") !=
          std::string::npos);
    CHECK(read_text(r.path() + "/.para/worktrees/lo/junk") == "mine\n");
    fs::remove_all(r.path() + "/.para/worktrees/lo");

    // A corrupt state beside a worktree with changes: the worktree, its
    // branch and its log stay, and the next clean does not fail on them.
    r.set_agent({r.script("agent.sh", "#!/bin/sh\necho work > f\necho out\n")});
    REQUIRE(r.para({"start", "c1", "-p", "x"}).exit_code == 0);
    REQUIRE(r.para({"wait", "c1"}).exit_code == 0);
    write_text(r.state_dir() + "/c1.state", "");
    CHECK(r.para({"clean", "--force"}).exit_code == 0);  // the state is moved aside
    Completed again = r.para({"clean", "--force"});
    CHECK(again.out.find("orphan_worktree_kept") != std::string::npos);
    CHECK(again.out.find("orphan_branch") == std::string::npos);
    CHECK(fs::exists(r.state_dir() + "/c1.log"));
    CHECK(r.repo().git_out({"branch", "--list", "--format=%(refname:short)", "para/c1"}) ==
          "para/c1");

    // Cancelling a session whose branch was deleted by hand archives nothing.
    REQUIRE(r.para({"start", "b1"}).exit_code == 0);
    REQUIRE(git({"worktree", "remove", "--force", r.worktree("b1")}).exit_code == 0);
    REQUIRE(git({"branch", "-D", "para/b1"}).exit_code == 0);
    json cancelled = r.para_json({"cancel", "b1"});
    check_output_schema("para_cancel", cancelled);
    CHECK(cancelled["archived_branch"].is_null());
    CHECK(cancelled["message"].get<std::string>().find("nothing to recover") != std::string::npos);
  }

  TEST_CASE("a start killed after its agent launched is completed by clean, not undone") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh", "#!/bin/sh\necho important > work.txt\nexec sleep 300\n")});
    REQUIRE(r.para({"start", "late", "-p", "x"}).exit_code == 0);
    REQUIRE(wait_until([&] { return fs::exists(r.worktree("late") + "/work.txt"); }));
    // What a kill -9 between the agent's launch and the end of the start
    // leaves: the state still says Starting, owned by a process now gone,
    // its pid since reused (here by init, which started at another time).
    json state = json::parse(read_text(r.state_dir() + "/late.state"));
    state["status"] = "Starting";
    state["owner_pid"] = 1;
    state["owner_start"] = 1099511627776;  // no process has started this late
    write_text(r.state_dir() + "/late.state", state.dump());
    json plan = r.para_json({"clean", "--dry-run"});
    CHECK(has_action(plan, "interrupted_start", "late"));
    REQUIRE(r.para({"clean", "--force"}).exit_code == 0);
    json list = r.para_json({"list"});
    REQUIRE(list["sessions"].size() == 1);
    CHECK(list["sessions"][0]["status"] == "Active");
    CHECK(list["sessions"][0]["agent"]["state"] == "running");
    CHECK(read_text(r.worktree("late") + "/work.txt") == "important\n");
    r.kill_everything();
  }

  TEST_CASE(
      "cancel stops the agent before it checks, so what the agent writes on its way out counts") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh",
                          "#!/bin/sh\ntrap 'echo last words > saved.txt; exit 0' TERM\n"
                          "touch started\nwhile :; do sleep 0.1; done\n")});
    REQUIRE(r.para({"start", "bye", "-p", "x"}).exit_code == 0);
    REQUIRE(wait_until([&] { return fs::exists(r.worktree("bye") + "/started"); }));
    // started is untracked already: commit it so that only saved.txt is new.
    REQUIRE(
        run_cmd({"git", "-C", r.worktree("bye"), "add", "started"}, r.env(), r.path()).exit_code ==
        0);
    REQUIRE(run_cmd({"git", "-C", r.worktree("bye"), "commit", "-qm", "s"}, r.env(), r.path())
                .exit_code == 0);
    Completed c = r.para({"cancel", "bye"});
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("uncommitted changes:\n  saved.txt") != std::string::npos);
    CHECK(c.err.find("Its agent was stopped; para resume runs it again.") != std::string::npos);
    CHECK(read_text(r.worktree("bye") + "/saved.txt") == "last words\n");
  }

  TEST_CASE(
      "clean keeps worktrees that hold work: a start someone worked in, commits off the branch") {
    ParaRepo r;
    auto set_state = [&](const std::string& name, const json& fields) {
      json state = json::parse(read_text(r.state_dir() + "/" + name + ".state"));
      state.update(fields);
      write_text(r.state_dir() + "/" + name + ".state", state.dump());
    };
    // A start interrupted (setup script killed, say) whose worktree the
    // user then edited: kept as a session, not undone.
    REQUIRE(r.para({"start", "edited"}).exit_code == 0);
    write_text(r.worktree("edited") + "/notes.txt", "mine\n");
    set_state("edited", {{"status", "Starting"}, {"owner_pid", 999999999}});
    // A finished session whose worktree (kept or restored) has a commit on a
    // detached HEAD, which no branch holds.
    REQUIRE(r.para({"start", "det"}).exit_code == 0);
    const std::string wt = r.worktree("det");
    REQUIRE(run_cmd({"git", "-C", wt, "checkout", "-q", "--detach"}, r.env(), r.path()).exit_code ==
            0);
    REQUIRE(run_cmd({"git", "-C", wt, "commit", "-q", "--allow-empty", "-m", "only here"}, r.env(),
                    r.path())
                .exit_code == 0);
    const std::string commit =
        run_cmd({"git", "-C", wt, "rev-parse", "HEAD"}, r.env(), r.path()).out;
    set_state("det", {{"status", "Review"}});
    REQUIRE(r.para({"clean", "--force"}).exit_code == 0);
    CHECK(read_text(r.worktree("edited") + "/notes.txt") == "mine\n");
    json list = r.para_json({"list"});
    for (const json& s : list["sessions"]) {
      if (s["name"] == "edited") CHECK(s["status"] == "Active");
    }
    CHECK(fs::is_directory(wt));
    CHECK(run_cmd({"git", "-C", wt, "rev-parse", "HEAD"}, r.env(), r.path()).out == commit);
  }

  TEST_CASE(
      "finish refuses a deleted branch and repositories inside the worktree, committing nothing") {
    ParaRepo r;
    REQUIRE(r.para({"start", "gone"}).exit_code == 0);
    write_text(r.worktree("gone") + "/work.txt", "work\n");
    REQUIRE(r.repo().git({"update-ref", "-d", "refs/heads/para/gone"}).exit_code == 0);
    Completed c = r.para({"finish", "done", "gone"});
    CHECK(c.exit_code != 0);
    CHECK(c.err.find("does not exist any more") != std::string::npos);
    // No root commit was made on a recreated branch.
    CHECK(r.repo().git({"rev-parse", "--verify", "-q", "refs/heads/para/gone"}).exit_code != 0);
    CHECK(read_text(r.worktree("gone") + "/work.txt") == "work\n");

    REQUIRE(r.para({"start", "nest"}).exit_code == 0);
    const std::string lib = r.worktree("nest") + "/lib";
    fs::create_directories(lib);
    REQUIRE(run_cmd({"git", "-C", lib, "init", "-q"}, r.env(), r.path()).exit_code == 0);
    write_text(lib + "/lib.c", "int x;\n");
    const std::string tip = r.repo().git_out({"rev-parse", "para/nest"});
    Completed n = r.para({"finish", "done", "nest"});
    CHECK(n.exit_code == 1);
    CHECK(n.err.find("git repositories of its own inside it:\n  lib/") != std::string::npos);
    CHECK(r.repo().git_out({"rev-parse", "para/nest"}) == tip);
    CHECK(read_text(lib + "/lib.c") == "int x;\n");
    fs::remove_all(lib + "/.git");  // its files are then committed as files
    REQUIRE(r.para({"finish", "done", "nest"}).exit_code == 0);
    CHECK(r.repo().git_out({"show", "para/nest:lib/lib.c"}) == "int x;");
  }

  TEST_CASE("clean drops only para's stale worktree registrations, never the user's") {
    ParaRepo r;
    TempDir elsewhere;
    const std::string mine = elsewhere.path() + "/mine";
    REQUIRE(r.repo().git({"worktree", "add", "-q", "-b", "mine", mine}).exit_code == 0);
    fs::rename(mine, elsewhere.path() + "/unmounted");  // its disk is away for a moment
    REQUIRE(r.para({"start", "gone"}).exit_code == 0);
    fs::remove_all(r.worktree("gone"));
    // What a removal cut short leaves: the worktree renamed aside, half deleted.
    const std::string aside = r.path() + "/.para/worktrees/.removing-old.123";
    fs::create_directories(aside);
    write_text(aside + "/left.txt", "x\n");
    CHECK(has_action(r.para_json({"clean", "--dry-run"}), "interrupted_removal",
                     ".removing-old.123"));
    REQUIRE(r.para({"clean", "--force"}).exit_code == 0);
    CHECK_FALSE(fs::exists(aside));
    const std::string list = r.repo().git_out({"worktree", "list", "--porcelain"});
    CHECK(list.find(mine) != std::string::npos);
    CHECK(list.find(r.worktree("gone")) == std::string::npos);
  }

  TEST_CASE("clean removes stray files only from a state directory para made") {
    ParaRepo r;
    // The user's own directory, named as the state directory.
    fs::create_directories(r.path() + "/logs");
    write_text(r.path() + "/logs/build.log", "important\n");
    write_text(r.path() + "/logs/run.task", "keep\n");
    REQUIRE(r.para({"config", "set", "directories.state_dir", "logs"}).exit_code == 0);
    REQUIRE(r.para({"start", "x2"}).exit_code == 0);
    json plan = r.para_json({"clean", "--dry-run"});
    CHECK_FALSE(has_action(plan, "stale_file", "/logs/build.log"));
    CHECK(r.para({"clean", "--force"}).exit_code == 0);
    CHECK(read_text(r.path() + "/logs/build.log") == "important\n");
    CHECK(read_text(r.path() + "/logs/run.task") == "keep\n");

    // A directory para made itself is swept as before.
    REQUIRE(r.para({"config", "set", "directories.state_dir", "para-state"}).exit_code == 0);
    REQUIRE(r.para({"start", "x3"}).exit_code == 0);
    CHECK(fs::exists(r.path() + "/para-state/.para-made"));
    write_text(r.path() + "/para-state/gone.log", "left by an interrupted start\n");
    CHECK(has_action(r.para_json({"clean", "--dry-run"}), "stale_file", "/para-state/gone.log"));
    CHECK(r.para({"clean", "--force"}).exit_code == 0);
    CHECK_FALSE(fs::exists(r.path() + "/para-state/gone.log"));
  }

  TEST_CASE("a moved repository's worktree is never removed unchecked; clean reconnects it") {
    ParaRepo r;
    REQUIRE(r.para({"start", "lost"}).exit_code == 0);
    write_text(r.worktree("lost") + "/precious.txt", "hours of work\n");
    // Moved: git's links between the repository and the worktree name the
    // old place. (Moved back at the end, for the fixture's cleanup.)
    const std::string moved = r.path() + "-moved";
    fs::rename(r.path(), moved);
    const std::string wt = moved + "/.para/worktrees/lost";
    auto para = [&](const std::vector<std::string>& args) {
      std::vector<std::string> argv = {built_binary("para")};
      argv.insert(argv.end(), args.begin(), args.end());
      return run_cmd(argv, r.env(), moved);
    };

    Completed cancel = para({"cancel", "lost"});
    CHECK(cancel.exit_code == 1);
    CHECK(cancel.err.find("cannot check session 'lost' for uncommitted changes") !=
          std::string::npos);
    CHECK(read_text(wt + "/precious.txt") == "hours of work\n");

    // para clean reconnects the worktree instead of pruning it away...
    Completed clean = para({"clean", "--force"});
    CHECK_MESSAGE(clean.exit_code == 0, clean.err);
    CHECK(clean.out.find("done: lost_registration: " + wt) != std::string::npos);
    CHECK(run_cmd({"git", "status", "--porcelain"}, r.env(), wt).out == "?? precious.txt\n");
    // ...so cancel sees the work again and asks for --force.
    Completed again = para({"cancel", "lost"});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("has uncommitted changes:\n  precious.txt") != std::string::npos);
    CHECK(read_text(wt + "/precious.txt") == "hours of work\n");
    fs::rename(moved, r.path());
  }

  TEST_CASE("finish and cancel refuse a worktree whose HEAD left the session's branch") {
    ParaRepo r;
    REQUIRE(r.para({"start", "moved"}).exit_code == 0);
    const std::string wt = r.worktree("moved");
    const std::string tip = r.repo().git_out({"rev-parse", "para/moved"});
    const std::vector<std::string> in_wt = {"git", "-C", wt};
    auto git_wt = [&](std::vector<std::string> args) {
      args.insert(args.begin(), in_wt.begin(), in_wt.end());
      return run_cmd(args, r.env(), wt);
    };
    REQUIRE(git_wt({"checkout", "-q", "--detach"}).exit_code == 0);
    write_text(wt + "/work.txt", "detached work\n");
    REQUIRE(git_wt({"add", "work.txt"}).exit_code == 0);
    REQUIRE(git_wt({"commit", "-q", "-m", "on a detached HEAD"}).exit_code == 0);
    const std::string before = r.snapshot();
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"finish", "done", "moved"},
          std::vector<std::string>{"cancel", "moved"}}) {
      CAPTURE(args);
      Completed c = r.para(args);
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("not on its branch para/moved") != std::string::npos);
      CHECK(c.err.find("detached at") != std::string::npos);
      CHECK(r.snapshot() == before);
    }
    CHECK(r.repo().git_out({"rev-parse", "para/moved"}) == tip);
    // Back on the branch with the commit merged, finish carries the work.
    REQUIRE(git_wt({"switch", "-q", "para/moved"}).exit_code == 0);
    REQUIRE(git_wt({"merge", "-q", "--ff-only", "HEAD@{1}"}).exit_code == 0);
    REQUIRE(r.para({"finish", "done", "moved"}).exit_code == 0);
    CHECK(r.repo().git_out({"show", "para/moved:work.txt"}) == "detached work");
  }

  TEST_CASE("cancelling the same name twice in one second keeps both archives") {
    ParaRepo r;
    for (int i = 0; i < 3; ++i) {
      REQUIRE(r.para({"start", "again"}).exit_code == 0);
      write_text(r.worktree("again") + "/n.txt", std::to_string(i) + "\n");
      REQUIRE(r.para({"finish", "round " + std::to_string(i), "again"}).exit_code == 0);
      REQUIRE(r.para({"resume", "again"}).exit_code == 0);
      Completed c = r.para({"cancel", "again"});
      CHECK_MESSAGE(c.exit_code == 0, c.err);
    }
    const std::string archives =
        r.repo().git_out({"for-each-ref", "--format=%(refname)", "refs/heads/para/archived/"});
    CHECK(std::count(archives.begin(), archives.end(), '\n') == 2);  // three lines
    CHECK(r.para_json({"list"})["problems"].empty());
    CHECK_FALSE(fs::exists(r.state_dir() + "/again.state"));
  }

  TEST_CASE("finish -b refuses para's namespace and names git cannot create, before committing") {
    ParaRepo r;
    REQUIRE(r.para({"start", "b1"}).exit_code == 0);
    r.repo().git_out({"branch", "topic"});
    r.repo().git_out({"branch", "deep/er"});
    write_text(r.worktree("b1") + "/w.txt", "work\n");
    const std::string before = r.snapshot();
    const std::pair<std::string, std::string> rows[] = {{"para/release", "para manages"},
                                                        {"HEAD", "reserved"},
                                                        {"topic/final", "'topic' exists"},
                                                        {"deep", "under 'deep/'"},
                                                        {"topic", "already exists"}};
    for (const auto& [branch, expect] : rows) {
      CAPTURE(branch);
      Completed c = r.para({"finish", "msg", "b1", "-b", branch});
      CHECK(c.exit_code == 1);
      CHECK(c.err.find(expect) != std::string::npos);
      CHECK(r.snapshot() == before);
    }
    REQUIRE(r.para({"finish", "msg", "b1", "-b", "feature/b1"}).exit_code == 0);
    CHECK(r.repo().git_out({"show", "feature/b1:w.txt"}) == "work");
    CHECK(r.para_json({"list"})["orphans"].empty());
  }

  TEST_CASE("a recorded agent pid that now leads an unrelated process group is never signalled") {
    ParaRepo r;
    REQUIRE(r.para({"start", "stale"}).exit_code == 0);
    // An unrelated process group leader (as after a reboot reused the pid).
    const pid_t victim = ::fork();
    REQUIRE(victim >= 0);
    if (victim == 0) {
      ::setsid();
      ::execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    while (::getpgid(victim) != victim) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // The session's record: a running agent whose supervisor is gone.
    json state = json::parse(read_text(r.state_dir() + "/stale.state"));
    state["agent"] = {{"state", "running"},
                      {"pid", victim},
                      {"pid_start", 1},
                      {"supervisor_pid", 999999999},
                      {"supervisor_start", 1}};
    write_text(r.state_dir() + "/stale.state", state.dump());
    Completed cancel = r.para({"cancel", "--force", "stale"});
    CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
    CHECK(::kill(victim, 0) == 0);  // still alive
    int status = 0;
    CHECK(::waitpid(victim, &status, WNOHANG) == 0);
    ::kill(victim, SIGKILL);
    ::waitpid(victim, &status, 0);
  }

  TEST_CASE("finish refuses unresolved merge conflicts instead of committing their markers") {
    ParaRepo r;
    REQUIRE(r.para({"start", "mc"}).exit_code == 0);
    const std::string wt = r.worktree("mc");
    auto git = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"git", "-C", wt});
      return run_cmd(args, r.env(), wt);
    };
    REQUIRE(git({"switch", "-q", "-c", "side"}).exit_code == 0);
    write_text(wt + "/a.txt", "side\n");
    REQUIRE(git({"add", "a.txt"}).exit_code == 0);
    REQUIRE(git({"commit", "-q", "-m", "side"}).exit_code == 0);
    REQUIRE(git({"switch", "-q", "para/mc"}).exit_code == 0);
    write_text(wt + "/a.txt", "mine\n");
    REQUIRE(git({"add", "a.txt"}).exit_code == 0);
    REQUIRE(git({"commit", "-q", "-m", "mine"}).exit_code == 0);
    REQUIRE(git({"merge", "side"}).exit_code == 1);  // a conflict in a.txt
    const std::string tip = r.repo().git_out({"rev-parse", "para/mc"});

    Completed finish = r.para({"finish", "done", "mc"});
    CHECK(finish.exit_code == 1);
    CHECK(finish.err.find("unresolved merge conflicts in:\n  a.txt") != std::string::npos);
    CHECK(r.repo().git_out({"rev-parse", "para/mc"}) == tip);
    // Resolved, the same finish commits the merge.
    write_text(wt + "/a.txt", "both\n");
    REQUIRE(git({"add", "a.txt"}).exit_code == 0);
    Completed resolved = r.para({"finish", "merge side", "mc"});
    CHECK_MESSAGE(resolved.exit_code == 0, resolved.err);
    CHECK(r.repo().git_out({"show", "para/mc:a.txt"}) == "both");
    CHECK(r.repo().git_out({"rev-list", "--parents", "-n", "1", "para/mc"}).size() > 82);
  }

  TEST_CASE("finish and clean keep a worktree whose submodules hold their own commits") {
    ParaRepo r;
    TempDir inner_dir;
    const std::string inner = inner_dir.path() + "/inner";
    auto git = [&](const std::string& dir, std::vector<std::string> args) {
      args.insert(args.begin(), {"git", "-c", "protocol.file.allow=always", "-C", dir});
      Completed c = run_cmd(args, r.env(), dir);
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
      return c.out;
    };
    fs::create_directories(inner);
    git(inner, {"init", "-q", "-b", "main"});
    write_text(inner + "/lib.txt", "v1\n");
    git(inner, {"add", "lib.txt"});
    git(inner, {"commit", "-q", "-m", "inner v1"});
    git(r.path(), {"submodule", "add", "-q", inner, "inner"});
    git(r.path(), {"commit", "-q", "-m", "add the submodule"});
    REQUIRE(r.para({"start", "sub"}).exit_code == 0);
    const std::string wt = r.worktree("sub");
    git(wt, {"submodule", "update", "--init", "-q"});
    write_text(wt + "/inner/lib.txt", "v2\n");
    git(wt + "/inner", {"commit", "-q", "-am", "inner v2"});
    const std::string inner_commit = git(wt + "/inner", {"rev-parse", "HEAD"});
    const std::string tip = r.repo().git_out({"rev-parse", "para/sub"});
    json done = r.para_json({"finish", "bump the submodule", "sub"});
    CHECK(done["worktree_removed"] == false);
    CHECK(done["committed"] == false);
    // The submodule's move is not committed silently: the result says so
    // and how to include it.
    const std::string message = done["message"];
    CHECK(message.find("inner changed inside a submodule and was not committed") !=
          std::string::npos);
    CHECK(message.find("git -C " + wt + " add inner, then para finish again") != std::string::npos);
    CHECK(r.repo().git_out({"rev-parse", "para/sub"}) == tip);
    git(wt, {"add", "inner"});
    json again = r.para_json({"finish", "bump the submodule", "sub"});
    CHECK(again["committed"] == true);
    CHECK(r.repo().git_out({"rev-parse", "para/sub:inner"}) + "\n" == inner_commit);
    CHECK(r.para({"clean", "--force"}).exit_code == 0);
    REQUIRE(fs::is_directory(wt + "/inner"));
    CHECK(git(wt + "/inner", {"cat-file", "-t", inner_commit.substr(0, 40)}) == "commit\n");
    // Nor does cancel throw the submodule's repository away unasked.
    Completed cancel = r.para({"cancel", "sub"});
    CHECK(cancel.exit_code == 1);
    CHECK(cancel.err.find("submodules' repositories") != std::string::npos);
    CHECK(git(wt + "/inner", {"cat-file", "-t", inner_commit.substr(0, 40)}) == "commit\n");
  }

  TEST_CASE(
      "a failing setup script's last output is in the error, as the rollback removes its "
      "log") {
    ParaRepo r;
    const std::string script =
        r.script("setup.sh",
                 "#!/bin/bash\necho 'installing deps'\necho 'npm ERR! missing' >&2\n"
                 "exit 3\n");
    REQUIRE(r.para({"start", "s1"}).exit_code == 0);  // .para/ and the lock files exist now
    REQUIRE(r.para({"cancel", "s1"}).exit_code == 0);
    const std::string before = r.snapshot();
    Completed c = r.para({"start", "s1", "--setup-script", script});
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("exit code 3") != std::string::npos);
    CHECK(c.err.find("installing deps") != std::string::npos);
    CHECK(c.err.find("npm ERR! missing") != std::string::npos);
    CHECK(r.snapshot() == before);
  }

  TEST_CASE("a state file naming another session or a foreign branch is corrupt, not followed") {
    ParaRepo r;
    REQUIRE(r.para({"start", "a"}).exit_code == 0);
    REQUIRE(r.para({"start", "b"}).exit_code == 0);
    write_text(r.worktree("a") + "/keep.txt", "a's work\n");
    json state = json::parse(read_text(r.state_dir() + "/b.state"));
    state["branch"] = "main";
    write_text(r.state_dir() + "/b.state", state.dump());
    Completed cancel = r.para({"cancel", "--force", "b"});
    CHECK(cancel.exit_code == 1);
    CHECK(cancel.err.find("corrupt") != std::string::npos);
    CHECK(r.repo().git({"rev-parse", "--verify", "-q", "refs/heads/main"}).exit_code == 0);
    state["branch"] = "para/b";
    state["worktree_path"] = r.worktree("a");
    write_text(r.state_dir() + "/b.state", state.dump());
    CHECK(r.para({"cancel", "--force", "b"}).exit_code == 0);
    CHECK(read_text(r.worktree("a") + "/keep.txt") == "a's work\n");
    CHECK_FALSE(fs::exists(r.worktree("b")));
  }
}

}  // namespace para::test
