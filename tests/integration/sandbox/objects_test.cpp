// The sandbox's private object store (sandbox/policy.h, SessionGit::objects):
// an agent that writes a file under an object's name changes only its own
// view; what reaches the repository is named by its content. Each blocked
// case sits next to the agent's legitimate commit, which must arrive.

#include <doctest/doctest.h>

#include <chrono>

#include "tests/integration/sandbox/fixture.h"
#include "tests/integration/sandbox/session_fixture.h"

namespace para::test {
namespace {

using nlohmann::json;

bool no_bwrap() {
  return !bwrap_works();
}

// Shell helper for the agents: the path of an object's loose file as git
// inside the sandbox sees it.
constexpr const char* kObjectPath =
    "obj() { echo \"$(git rev-parse --path-format=absolute --git-common-dir)/objects/"
    "$(echo $1 | cut -c1-2)/$(echo $1 | cut -c3-)\"; }\n";

void start_agent(const ParaRepo& r, const std::string& name, const std::string& body) {
  write_user_config(r, r.script(name + ".sh", std::string("#!/bin/sh\n") + kObjectPath + body));
  REQUIRE(r.para({"start", name, "--sandbox", "-p", "work"}).exit_code == 0);
}

void run_agent(const ParaRepo& r, const std::string& name, const std::string& body) {
  start_agent(r, name, body);
  REQUIRE(wait_until([&] { return agent_done(r, name); }, std::chrono::seconds(60)));
}

TEST_SUITE("sandbox/objects") {
  TEST_CASE("an object file the agent replaces changes only its view; its commit arrives" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const std::string readme = r.repo().git_out({"rev-parse", "main:README.md"});
    run_agent(r, "shadow",
              "blob=$(git rev-parse HEAD:README.md)\n"
              "fake=$(echo EVIL | git hash-object -w --stdin)\n"
              "mkdir -p \"$(dirname \"$(obj $blob)\")\"\n"
              "rm -f \"$(obj $blob)\"; cp \"$(obj $fake)\" \"$(obj $blob)\" && echo SHADOWED\n"
              "echo \"INSIDE $(git cat-file -p $blob)\"\n"
              "echo work > new.txt && git add new.txt && git commit -qm agent-work && "
              "echo COMMITTED\n");
    const std::string log = session_log(r, "shadow");
    INFO("session log: ", log);
    CHECK(log.find("SHADOWED") != std::string::npos);  // the attempt was made...
    CHECK(log.find("INSIDE EVIL") != std::string::npos);
    CHECK(log.find("COMMITTED") != std::string::npos);
    // ...and the repository's content under that name is what it was.
    CHECK(r.repo().git_out({"cat-file", "-p", readme}) == "# test repository");
    CHECK(r.repo().git_out({"show", "main:README.md"}) == "# test repository");
    // The agent's own work arrived, complete without the sandbox's store.
    CHECK(r.repo().git_out({"log", "-1", "--format=%s", "para/shadow"}) == "agent-work");
    CHECK(r.repo().git_out({"show", "para/shadow:new.txt"}) == "work");
    CHECK(r.repo().git_out({"show", "para/shadow:README.md"}) == "# test repository");
    Completed fsck = r.repo().git({"fsck", "--strict", "--no-progress"});
    CAPTURE(fsck.err);
    CHECK(fsck.exit_code == 0);
    // para finish commits in the worktree on the host, with the same objects.
    CHECK(r.para({"finish", "finished", "shadow"}).exit_code == 0);
    CHECK(r.repo().git({"fsck", "--no-progress"}).exit_code == 0);
  }

  TEST_CASE("a commit that names an object by a false name is not copied back" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const std::string main_before = r.repo().git_out({"rev-parse", "main"});
    run_agent(r, "claims",
              "fake=$(echo EVIL | git hash-object -w --stdin)\n"
              "good=$(echo GOOD | git hash-object --stdin)\n"
              "echo \"CLAIMED $good\"\n"
              "mkdir -p \"$(dirname \"$(obj $good)\")\"; cp \"$(obj $fake)\" \"$(obj $good)\"\n"
              "git update-index --add --cacheinfo 100644,$good,claimed.txt && "
              "git commit -qm claimed && echo COMMITTED\n");
    const std::string log = session_log(r, "claims");
    INFO("session log: ", log);
    CHECK(log.find("COMMITTED") != std::string::npos);  // inside, git believed the name
    const std::vector<std::string> claimed = lines_starting(log, "CLAIMED ");
    REQUIRE(claimed.size() == 1);
    // The repository never gets an object under the false name, and the
    // branch keeps its value.
    CHECK(r.repo().git({"cat-file", "-e", claimed[0].substr(8)}).exit_code != 0);
    CHECK(r.repo().git_out({"rev-parse", "para/claims"}) == main_before);
    CHECK(log.find("whose history lacks objects in the repository") != std::string::npos);
    CHECK(log.find("the branch keeps its value") != std::string::npos);
    // The repository is whole, the worktree's index included: the entry
    // that named the made-up object is unstaged.
    CHECK(log.find("index named objects the repository lacks for 1 file(s)") != std::string::npos);
    CHECK(r.repo().git({"fsck", "--no-progress", "--no-dangling", "main"}).exit_code == 0);
    CHECK(r.repo().git({"status", "--porcelain"}, r.worktree("claims")).exit_code == 0);
    // The refusal is reported once: finish succeeds, with nothing to commit.
    Completed finish = r.para({"finish", "claimed", "claims", "--json"});
    CAPTURE(finish.err);
    REQUIRE(finish.exit_code == 0);
    CHECK(json::parse(finish.out)["committed"] == false);
    CHECK(r.repo().git_out({"rev-parse", "para/claims"}) == main_before);
    // Until then the worktree's HEAD reflog named the agent's commit, whose
    // tree lacks the made-up blob; finish removed it with the worktree.
    const Completed fsck = r.repo().git({"fsck", "--no-progress", "--no-dangling"});
    CAPTURE(fsck.out);
    CAPTURE(fsck.err);
    CHECK(fsck.exit_code == 0);
  }

  TEST_CASE("objects git refuses are left out, and the agent's sound work arrives" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    // A tree too short to be one (written with --literally, which skips
    // git's checks) and a file under an object's name that is no object.
    run_agent(r, "odd",
              "echo sound > sound.txt && git add sound.txt && git commit -qm sound && "
              "echo COMMITTED\n"
              "bad=$(printf '100644 x\\0' | git hash-object -t tree --literally -w --stdin)\n"
              "echo \"BAD $bad\"\n"
              "junk=1234567890123456789012345678901234567890\n"
              "mkdir -p \"$(dirname \"$(obj $junk)\")\"; echo junk > \"$(obj $junk)\"\n"
              "echo staged > staged.txt && git add staged.txt && echo STAGED\n");
    const std::string log = session_log(r, "odd");
    INFO("session log: ", log);
    REQUIRE(log.find("STAGED") != std::string::npos);
    const std::vector<std::string> bad = lines_starting(log, "BAD ");
    REQUIRE(bad.size() == 1);
    CHECK(log.find("2 of the objects the sandbox wrote were not imported") != std::string::npos);
    // Left out...
    CHECK(r.repo().git({"cat-file", "-e", bad[0].substr(4)}).exit_code != 0);
    CHECK(r.repo().git({"cat-file", "-e", std::string(40, '1')}).exit_code != 0);
    // ...while the commit and the staged file arrived.
    CHECK(r.repo().git_out({"log", "-1", "--format=%s", "para/odd"}) == "sound");
    CHECK(r.repo().git_out({"show", "para/odd:sound.txt"}) == "sound");
    const std::string staged = r.repo().git_out({"hash-object", r.worktree("odd") + "/staged.txt"});
    CHECK(r.repo().git({"cat-file", "-e", staged}).exit_code == 0);
    Completed finish = r.para({"finish", "finished", "odd"});
    CAPTURE(finish.err);
    CHECK(finish.exit_code == 0);
    CHECK(r.repo().git_out({"show", "para/odd:staged.txt"}) == "staged");
    Completed fsck = r.repo().git({"fsck", "--strict", "--no-progress", "--no-dangling"});
    CAPTURE(fsck.err);
    CHECK(fsck.exit_code == 0);
  }

  TEST_CASE("many refused objects keep the import bounded, and finish commits the files" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    run_agent(r, "junk",
              "for i in $(seq 10 49); do\n"
              "  n=${i}00000000000000000000000000000000000000\n"
              "  mkdir -p \"$(dirname \"$(obj $n)\")\"; echo junk > \"$(obj $n)\"\n"
              "done\n"
              "echo work > work.txt && git add work.txt && git commit -qm work && echo DONE\n");
    const std::string log = session_log(r, "junk");
    INFO("session log: ", log);
    REQUIRE(log.find("DONE") != std::string::npos);
    CHECK(log.find("were not imported") != std::string::npos);
    CHECK(log.find("past 16 refusals, a refused batch was left out whole") != std::string::npos);
    Completed finish = r.para({"finish", "the work", "junk"});
    CAPTURE(finish.err);
    REQUIRE(finish.exit_code == 0);
    CHECK(r.repo().git_out({"show", "para/junk:work.txt"}) == "work");
  }

  TEST_CASE("a refused branch value or an unreadable index does not block finish" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const std::string main_before = r.repo().git_out({"rev-parse", "main"});
    run_agent(r, "ref",
              "echo work > work.txt\n"
              "echo 1111111111111111111111111111111111111111 > "
              "\"$(git rev-parse --git-common-dir)/refs/heads/para/ref\" && echo SET\n");
    const std::string log = session_log(r, "ref");
    INFO("session log: ", log);
    REQUIRE(log.find("SET") != std::string::npos);
    CHECK(log.find("which is not a commit in the repository; the branch keeps its value") !=
          std::string::npos);
    CHECK(r.repo().git_out({"rev-parse", "para/ref"}) == main_before);
    CHECK(session_state(r, "ref")["sandbox_notes"].size() == 1);
    Completed finish = r.para({"finish", "the work", "ref", "--json"});
    CAPTURE(finish.err);
    REQUIRE(finish.exit_code == 0);
    // The supervisor's note reaches finish's answer once, for the reviewer.
    const json finished = json::parse(finish.out);
    REQUIRE(finished["left_out"].size() == 1);
    CHECK(finished["left_out"][0].get<std::string>().find("not a commit in the repository") !=
          std::string::npos);
    CHECK(finished["message"].get<std::string>().find("the branch keeps its value") !=
          std::string::npos);
    CHECK_FALSE(session_state(r, "ref").contains("sandbox_notes"));
    CHECK(r.repo().git_out({"show", "para/ref:work.txt"}) == "work");
    CHECK(r.repo().git_out({"rev-parse", "para/ref~1"}) == main_before);

    // An agent still running when finish stops it: the notes its
    // supervisor writes while stopping reach finish's answer too.
    start_agent(r, "late",
                "echo work > work.txt\n"
                "echo 1111111111111111111111111111111111111111 > "
                "\"$(git rev-parse --git-common-dir)/refs/heads/para/late\" && echo SET\n"
                "sleep 60\n");
    REQUIRE(wait_until([&] { return session_log(r, "late").find("SET") != std::string::npos; },
                       std::chrono::seconds(60)));
    Completed late = r.para({"finish", "the work", "late", "--json"});
    CAPTURE(late.err);
    REQUIRE(late.exit_code == 0);
    const json stopped = json::parse(late.out);
    REQUIRE(stopped["left_out"].size() == 1);
    CHECK(stopped["left_out"][0].get<std::string>().find("not a commit in the repository") !=
          std::string::npos);
    CHECK(r.repo().git_out({"show", "para/late:work.txt"}) == "work");

    run_agent(r, "index",
              "echo work > work.txt\n"
              "echo garbage > \"$(git rev-parse --git-dir)/index\" && echo BROKEN\n");
    const std::string second = session_log(r, "index");
    INFO("second session log: ", second);
    REQUIRE(second.find("BROKEN") != std::string::npos);
    CHECK(second.find("the worktree's index could not be read") != std::string::npos);
    finish = r.para({"finish", "the work", "index"});
    CAPTURE(finish.err);
    REQUIRE(finish.exit_code == 0);
    CHECK(r.repo().git_out({"show", "para/index:work.txt"}) == "work");
    CHECK(r.repo().git_out({"show", "para/index:README.md"}) == "# test repository");
  }

  // para diff of a running agent shows its worktree without the sandbox's
  // objects: git reads an unchanged file from the worktree, not the object.
  TEST_CASE("a running agent's work shows in para diff; what it staged is imported at its end" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    // The files are older than the index by more than git's racy window,
    // so git on the host trusts the index's names instead of hashing them.
    start_agent(r, "live",
                "echo committed > c.txt && echo staged > s.txt && sleep 1.2\n"
                "git add c.txt && git commit -qm c && git add s.txt && echo READY\n"
                "i=0; while [ ! -f go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n");
    REQUIRE(wait_until([&] { return session_log(r, "live").find("READY") != std::string::npos; },
                       std::chrono::seconds(60)));
    // Both blobs are only in the sandbox's store so far.
    const std::string staged = r.repo().git_out({"hash-object", r.worktree("live") + "/s.txt"});
    CHECK(r.repo().git({"cat-file", "-e", staged}).exit_code != 0);
    Completed diff = r.para({"diff", "live"});
    CAPTURE(diff.err);
    CHECK(diff.exit_code == 0);
    CHECK(diff.out.find("+committed") != std::string::npos);
    CHECK(diff.out.find("+staged") != std::string::npos);
    CHECK(r.repo().git({"cat-file", "-e", staged}).exit_code != 0);  // not copied by the diff
    write_text(r.worktree("live") + "/go", "");
    REQUIRE(wait_until([&] { return agent_done(r, "live"); }, std::chrono::seconds(60)));
    // At its end they are imported: the staged blob too, which no commit names yet.
    CHECK(r.repo().git({"cat-file", "-e", staged}).exit_code == 0);
    CHECK(r.para({"finish", "live-done", "live"}).exit_code == 0);
    CHECK(r.repo().git({"fsck", "--no-progress"}).exit_code == 0);
  }
}

}  // namespace
}  // namespace para::test
