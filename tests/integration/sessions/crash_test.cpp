// Must-show 5 of issue 2: concurrent starts and kill -9 at random moments.
// Whatever a crash leaves must be shown by `para list` and repaired by
// `para clean`.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "core/process.h"
#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

pid_t spawn_para(const ParaRepo& r, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {built_binary("para")};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<pid_t> pid = spawn(SpawnOptions{.argv = argv, .env = r.env(), .cwd = r.path()});
  REQUIRE(pid);
  return *pid;
}

int wait_exit(pid_t pid) {
  Result<ExitStatus> st = wait_for(pid, std::chrono::seconds(60));
  REQUIRE(st);
  return st->exit_code;
}

// Every artifact a session can leave: names of state files, worktree
// directories, registered worktrees and para/* branches.
std::set<std::string> artifacts(const ParaRepo& r) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(r.state_dir(), ec)) {
    out.insert("file:" + e.path().filename().string());
  }
  for (const auto& e : fs::directory_iterator(r.path() + "/.para/worktrees", ec)) {
    out.insert("worktree:" + e.path().filename().string());
  }
  const std::string branches =
      r.repo().git({"branch", "--list", "para/*", "--format=%(refname:short)"}).out;
  size_t start = 0;
  while (start < branches.size()) {
    size_t end = branches.find('\n', start);
    out.insert("branch:" + branches.substr(start, end - start));
    start = end + 1;
  }
  const std::string wts = r.repo().git({"worktree", "list", "--porcelain"}).out;
  for (size_t p = wts.find("worktree "); p != std::string::npos; p = wts.find("worktree ", p + 1)) {
    const std::string path = wts.substr(p + 9, wts.find('\n', p) - p - 9);
    if (path != r.path()) out.insert("registered:" + fs::path(path).filename().string());
  }
  return out;
}

// Waits until git processes the killed para started have finished (they
// hold index.lock or ref locks while they run).
void wait_for_git(const ParaRepo& r) {
  wait_until(
      [&] {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(r.path() + "/.git", ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (it->path().extension() == ".lock") return false;
        }
        return true;
      },
      std::chrono::seconds(10));
}

// Checks that every artifact belongs to a session `list` shows or to a
// repair it lists, then that `clean --force` leaves a consistent repository.
void check_shown_then_repaired(const ParaRepo& r) {
  json list = r.para_json({"list"});
  std::string shown = list["sessions"].dump() + list["orphans"].dump() + list["problems"].dump();
  for (const std::string& a : artifacts(r)) {
    const std::string name = a.substr(a.find(':') + 1);
    if (name == ".locks" || name.rfind("corrupt", 0) == 0) continue;
    std::string session = name;
    for (const char* suffix : {".state", ".network.log", ".log", ".task", ".status.json"}) {
      const std::string s = suffix;
      if (session.size() > s.size() &&
          session.compare(session.size() - s.size(), s.size(), s) == 0) {
        session.resize(session.size() - s.size());
        break;
      }
    }
    if (session.rfind("para/", 0) == 0) session = session.substr(5);
    if (session.find(".tmp.") != std::string::npos) session = name;  // shown as a stale file
    CAPTURE(a);
    CHECK(shown.find(session) != std::string::npos);
  }
  Completed clean = r.para({"clean", "--force"});
  CHECK_MESSAGE(clean.exit_code == 0, clean.err);
  json after = r.para_json({"list"});
  CHECK(after["orphans"].empty());
  CHECK(after["problems"].empty());
  for (const json& s : after["sessions"]) {
    CHECK(s["interrupted"] == false);
    if (s["status"] == "Active") CHECK(s["worktree_exists"] == true);
  }
  // git agrees: every registered worktree under .para exists and has a state.
  for (const std::string& a : artifacts(r)) {
    if (a.rfind("registered:", 0) == 0) {
      CHECK(fs::exists(r.state_dir() + "/" + a.substr(11) + ".state"));
    }
  }
  CHECK(r.repo().git({"worktree", "list", "--porcelain"}).out.find("prunable") ==
        std::string::npos);
  CHECK(r.repo().git({"fsck", "--no-progress", "--connectivity-only"}).exit_code == 0);
}

}  // namespace

TEST_SUITE("integration/sessions/crash") {
  TEST_CASE("ten concurrent starts, five with the same name: exactly one of those wins") {
    ParaRepo r;
    std::vector<pid_t> same, distinct;
    for (int i = 0; i < 5; ++i) same.push_back(spawn_para(r, {"start", "contested"}));
    for (int i = 0; i < 5; ++i)
      distinct.push_back(spawn_para(r, {"start", "own" + std::to_string(i)}));
    int winners = 0;
    for (pid_t p : same) winners += wait_exit(p) == 0;
    CHECK(winners == 1);
    for (pid_t p : distinct) CHECK(wait_exit(p) == 0);
    json list = r.para_json({"list"});
    CHECK(list["sessions"].size() == 6);
    CHECK(list["problems"].empty());
    CHECK(list["orphans"].empty());
    for (const std::string name : {"contested", "own0", "own4"}) {
      json state = json::parse(read_text(r.state_dir() + "/" + name + ".state"), nullptr, false);
      CHECK_FALSE(state.is_discarded());
      CHECK(state["status"] == "Active");
    }
  }

  TEST_CASE(
      "kill -9 of para start at random moments leaves only what list shows and clean repairs") {
    ParaRepo r;
    // Odd runs start an agent: their supervisor is spawned before the
    // worktree is made and must not outlive a start that never finished.
    r.set_agent({r.script("agent.sh", "#!/bin/sh\nexec sleep 30\n")});
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> delay_us(0, 60000);
    for (int run = 0; run < 20; ++run) {
      const std::string name = "s" + std::to_string(run);
      CAPTURE(name);
      std::vector<std::string> args = {"start", name};
      if (run % 2 == 1) args.insert(args.end(), {"-p", "go"});
      const pid_t pid = spawn_para(r, args);
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
      ::kill(pid, SIGKILL);
      (void)wait_for(pid, std::chrono::seconds(10));
      // Children of the killed para (git) finish on their own.
      wait_for_git(r);
      check_shown_then_repaired(r);
      // A supervisor still running belongs to a session that list shows
      // as running its agent.
      REQUIRE(wait_until([&] {
        json list = r.para_json({"list"});
        for (const std::string& supervised : live_supervisors(r.path())) {
          bool running = false;
          for (const json& s : list["sessions"]) {
            running |= s["name"] == supervised && s["agent"]["state"] == "running";
          }
          if (!running) return false;
        }
        return true;
      }));
    }
    r.kill_everything();
  }

  TEST_CASE(
      "kill -9 of para finish at random moments leaves only what list shows and clean repairs") {
    ParaRepo r;
    std::mt19937 rng(54321);
    std::uniform_int_distribution<int> delay_us(0, 80000);
    for (int run = 0; run < 20; ++run) {
      const std::string name = "f" + std::to_string(run);
      CAPTURE(name);
      REQUIRE(r.para({"start", name}).exit_code == 0);
      for (int i = 0; i < 20; ++i) {
        write_text(r.worktree(name) + "/file" + std::to_string(i) + ".txt", name);
      }
      const pid_t pid = spawn_para(r, {"finish", "work of " + name, name});
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
      ::kill(pid, SIGKILL);
      (void)wait_for(pid, std::chrono::seconds(10));
      wait_for_git(r);
      check_shown_then_repaired(r);
      // Either the finish completed, or running it again completes it.
      json list = r.para_json({"list"});
      // A finish killed while removing the worktree leaves nothing half
      // deleted at its path for this finish to commit as deletions.
      for (const json& s : list["sessions"]) {
        if (s["name"] == name) {
          Completed again = r.para({"finish", "work of " + name, name});
          CHECK_MESSAGE(again.exit_code == 0, again.err);
        }
      }
      // The work is on the branch either way, all of it.
      for (int i = 0; i < 20; ++i) {
        CHECK(r.repo().git({"show", "para/" + name + ":file" + std::to_string(i) + ".txt"}).out ==
              name);
      }
    }
  }
}

}  // namespace para::test
