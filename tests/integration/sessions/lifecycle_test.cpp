// Must-show 1, 2 and 6 of issue 2: whole session lifecycles on real git
// repositories through the built para binary, with real agent processes.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json session_entry(const json& list, const std::string& name) {
  for (const json& s : list["sessions"]) {
    if (s["name"] == name) return s;
  }
  return nullptr;
}

bool agent_done(const ParaRepo& r, const std::string& name) {
  json s = session_entry(r.para_json({"list"}), name);
  return !s.is_null() && s["agent"]["state"] != "running";
}

}  // namespace

TEST_SUITE("integration/sessions/lifecycle") {
  TEST_CASE("mcp init writes a Claude Code entry, keeps other servers and updates in place") {
    ParaRepo r;
    write_text(r.path() + "/.mcp.json",
               R"({"mcpServers": {"other": {"type": "stdio", "command": "x"}}})");
    json first = r.para_json({"mcp", "init"});
    CHECK(first["result"] == "added");
    json doc = json::parse(read_text(r.path() + "/.mcp.json"));
    CHECK(doc["mcpServers"]["other"]["command"] == "x");
    CHECK(doc["mcpServers"]["para"]["type"] == "stdio");
    CHECK(doc["mcpServers"]["para"]["args"] == json({"--repo", r.path()}));
    CHECK(r.para_json({"mcp", "init"})["result"] == "already up to date");
    CHECK(r.para_json({"mcp", "init", "--http", "http://127.0.0.1:8765/mcp"})["result"] ==
          "updated");
    doc = json::parse(read_text(r.path() + "/.mcp.json"));
    CHECK(doc["mcpServers"]["para"] ==
          json({{"type", "http"}, {"url", "http://127.0.0.1:8765/mcp"}}));
    CHECK(read_text(r.path() + "/.gitignore").find(".mcp.json") != std::string::npos);
    write_text(r.path() + "/.mcp.json", "{broken");
    Completed bad = r.para({"mcp", "init"});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("not a JSON object") != std::string::npos);
    CHECK(read_text(r.path() + "/.mcp.json") == "{broken");
  }

  TEST_CASE("start, status from inside the worktree, finish: the branch holds the agent's commit") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh", "#!/bin/sh\necho 'feature' > feature.txt\necho done\n")});
    json started = r.para_json({"start", "feat", "-p", "add a feature"});
    check_output_schema("para_start", started);
    REQUIRE(wait_until([&] { return agent_done(r, "feat"); }));

    Completed status = r.para({"status", "implementing", "--tests", "passed", "--todos", "1/2"},
                              r.worktree("feat"));
    REQUIRE_MESSAGE(status.exit_code == 0, status.err);
    json shown = r.para_json({"status", "show", "feat"});
    check_output_schema("para_status_show", shown);
    CHECK(shown["status"]["current_task"] == "implementing");
    CHECK(shown["status"]["todos_completed"] == 1);
    CHECK(shown["status"]["diff_stats"]["additions"] == 1);

    json finished = r.para_json({"finish", "Add the feature"}, r.worktree("feat"));
    check_output_schema("para_finish", finished);
    CHECK(r.repo().git_out({"show", "para/feat:feature.txt"}) == "feature");
    CHECK(r.repo().git_out({"log", "-1", "--format=%s", "para/feat"}) == "Add the feature");
    // para's own files never reach the commit.
    CHECK(r.repo().git_out({"show", "--name-only", "--format=", "para/feat"}) == "feature.txt");
    CHECK_FALSE(fs::exists(r.worktree("feat")));
    CHECK(r.repo().git_out({"worktree", "list", "--porcelain"}).find("feat") == std::string::npos);
    json list = r.para_json({"list", "-v", "-a"});
    check_output_schema("para_list", list);
    json s = session_entry(list, "feat");
    CHECK(s["status"] == "Review");
    check_output_schema("para_diff", r.para_json({"diff", "feat"}));
    check_output_schema("para_logs", r.para_json({"logs", "feat"}));
    check_output_schema("para_config_show", r.para_json({"config", "show"}));
  }

  TEST_CASE("status summary counts the reports as para does: active, stale, blocked, tests") {
    ParaRepo r;
    json empty = r.para_json({"status", "summary"});
    CHECK(empty["total_sessions"] == 0);
    CHECK(empty["overall_progress"].is_null());
    for (const char* name : {"one", "two", "three"})
      REQUIRE(r.para({"start", name}).exit_code == 0);
    REQUIRE(
        r.para({"status", "tests pass", "--tests", "passed", "--todos", "1/4"}, r.worktree("one"))
            .exit_code == 0);
    REQUIRE(r.para({"status", "stuck", "--tests", "failed", "--todos", "2/2", "--blocked"},
                   r.worktree("two"))
                .exit_code == 0);
    REQUIRE(r.para({"status", "old news", "--tests", "unknown"}, r.worktree("three")).exit_code ==
            0);
    // A report a day old is stale (para's 24 h threshold).
    const std::string path = r.state_dir() + "/three/status.json";
    json old = json::parse(read_text(path));
    old["last_update"] = "2020-01-01T00:00:00Z";
    write_text(path, old.dump());

    json sum = r.para_json({"status", "summary"});
    CHECK(sum["total_sessions"] == 3);
    CHECK(sum["active_sessions"] == 2);
    CHECK(sum["stale_sessions"] == 1);
    CHECK(sum["blocked_sessions"] == 1);
    CHECK(sum["test_summary"] == json{{"passed", 1}, {"failed", 1}, {"unknown", 1}});
    CHECK(sum["overall_progress"] == 50);  // 3 of 6 todos
    Completed text = r.para({"status", "summary"});
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("Sessions reporting: 3 (2 active, 1 stale") != std::string::npos);
    CHECK(text.out.find("Progress: 50% of all todos done") != std::string::npos);
    CHECK(r.para({"status", "summary", "extra"}).exit_code == 2);
  }

  TEST_CASE("finish names the files a host program would run or obey, to review before merging") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh",
                          "#!/bin/sh\nmkdir -p sub/.vscode .claude\n"
                          "echo 'export A=1' > .envrc\necho '{}' > sub/.vscode/tasks.json\n"
                          "echo '{}' > .claude/settings.json\necho x > ordinary.txt\n")});
    REQUIRE(r.para({"start", "hooks", "-p", "t"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "hooks"); }));
    json finished = r.para_json({"finish", "Work", "hooks"});
    check_output_schema("para_finish", finished);
    CHECK(finished["review_first"] ==
          json({".claude/settings.json", ".envrc", "sub/.vscode/tasks.json"}));
    CHECK(finished["message"].get<std::string>().find("Review before merging") !=
          std::string::npos);
    // The text a person reads says it too, with the files.
    r.set_agent({r.script("again.sh", "#!/bin/sh\necho 'export B=1' > .envrc\n")});
    REQUIRE(r.para({"start", "hooks2", "-p", "t"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "hooks2"); }));
    const Completed text = r.para({"finish", "Work", "hooks2"});
    CHECK(text.out.find("Review before merging") != std::string::npos);
    CHECK(text.out.find("    .envrc\n") != std::string::npos);

    // The ordinary case: nothing to point out.
    r.set_agent({r.script("plain.sh", "#!/bin/sh\necho x > plain.txt\n")});
    REQUIRE(r.para({"start", "plain", "-p", "t"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "plain"); }));
    json plain = r.para_json({"finish", "Work", "plain"});
    CHECK_FALSE(plain.contains("review_first"));
    CHECK(plain["message"].get<std::string>().find("Review") == std::string::npos);
  }

  TEST_CASE("finish from the main repository names the session and can copy the branch") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh", "#!/bin/sh\necho x > x.txt\n")});
    REQUIRE(r.para({"start", "named", "-p", "t"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "named"); }));
    Completed finish = r.para({"finish", "Work", "named", "-b", "feature/named"});
    REQUIRE_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK(r.repo().git_out({"rev-parse", "feature/named"}) ==
          r.repo().git_out({"rev-parse", "para/named"}));
    Completed again = r.para({"finish", "Again", "named", "-b", "feature/named"});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("already exists") != std::string::npos);
  }

  TEST_CASE("start, cancel, recover: the files are back on para/<name>") {
    ParaRepo r;
    REQUIRE(r.para({"start", "keep"}).exit_code == 0);
    write_text(r.worktree("keep") + "/work.txt", "precious\n");
    r.repo().git_out({"add", "work.txt"}, r.worktree("keep"));
    r.repo().git_out({"commit", "-q", "-m", "work in progress"}, r.worktree("keep"));

    json cancelled = r.para_json({"cancel", "keep"});
    check_output_schema("para_cancel", cancelled);
    CHECK_FALSE(fs::exists(r.worktree("keep")));
    CHECK(r.repo().git({"rev-parse", "--verify", "-q", "para/keep"}).exit_code != 0);
    const std::string archives = r.repo().git_out({"branch", "--list", "para/archived/*"});
    CHECK(archives.find("/keep") != std::string::npos);
    json listed = r.para_json({"recover"});
    check_output_schema("para_recover", listed);
    REQUIRE(listed["archives"].size() == 1);
    CHECK(listed["archives"][0]["name"] == "keep");

    json recovered = r.para_json({"recover", "keep"});
    check_output_schema("para_recover", recovered);
    CHECK(read_text(r.worktree("keep") + "/work.txt") == "precious\n");
    CHECK(r.repo().git_out({"rev-parse", "--abbrev-ref", "HEAD"}, r.worktree("keep")) ==
          "para/keep");
    CHECK(session_entry(r.para_json({"list"}), "keep")["status"] == "Active");
  }

  TEST_CASE("an agent that writes a file and exits 3: its output is logged and 3 is in list") {
    ParaRepo r;
    r.set_agent({r.script("agent.sh",
                          "#!/bin/sh\necho \"agent says hello\"\necho oops >&2\n"
                          "echo data > written.txt\nexit 3\n")});
    REQUIRE(r.para({"start", "three", "-p", "go"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "three"); }));
    json s = session_entry(r.para_json({"list"}), "three");
    CHECK(s["agent"]["state"] == "exited");
    CHECK(s["agent"]["exit_code"] == 3);
    CHECK(read_text(r.worktree("three") + "/written.txt") == "data\n");
    json logs = r.para_json({"logs", "three"});
    const std::string joined = logs["lines"].dump();
    CHECK(joined.find("agent says hello") != std::string::npos);
    CHECK(joined.find("oops") != std::string::npos);
    CHECK(joined.find("exited with code 3") != std::string::npos);
  }

  TEST_CASE("a session outlives the CLI and finish stops the agent and all its children") {
    ParaRepo r;
    const std::string pids = r.scratch() + "/pids";
    // Children in the agent's group, a setsid'd grandchild that leaves the
    // group, and a double fork that leaves the parent chain.
    r.set_agent({r.script("agent.sh",
                          "#!/bin/sh\n"
                          "echo $$ >> " +
                              pids +
                              "\n"
                              "sleep 300 & echo $! >> " +
                              pids +
                              "\n"
                              "setsid sh -c 'echo $$ >> " +
                              pids +
                              "; exec sleep 301' &\n"
                              "sh -c 'sleep 302 & echo $! >> " +
                              pids +
                              "' \n"
                              "exec sleep 303\n")});
    REQUIRE(r.para({"start", "longrun", "-p", "run"}).exit_code == 0);
    REQUIRE(wait_until([&] { return read_pids(pids).size() == 4; }));
    // The para process has exited; the agent is still running.
    json s = session_entry(r.para_json({"list"}), "longrun");
    CHECK(s["agent"]["state"] == "running");
    for (int pid : read_pids(pids)) CHECK(pid_alive(pid));
    const json state = json::parse(read_text(r.state_dir() + "/longrun.state"));
    const int supervisor = state["agent"]["supervisor_pid"].get<int>();
    CHECK(pid_alive(supervisor));

    Completed finish = r.para({"finish", "stop it", "longrun"});
    REQUIRE_MESSAGE(finish.exit_code == 0, finish.err);
    for (int pid : read_pids(pids)) {
      CAPTURE(pid);
      CHECK(wait_until([&] { return !pid_alive(pid); }, std::chrono::seconds(5)));
    }
    CHECK_FALSE(pid_alive(supervisor));
    CHECK(session_entry(r.para_json({"list"}), "longrun")["agent"]["state"] == "stopped");
  }

  TEST_CASE("while the agent runs its supervisor sleeps, and still reaps the orphans it inherits") {
    ParaRepo r;
    const std::string pids = r.scratch() + "/pids";
    // The inner sh exits at once, so its `sleep 1` is orphaned to the
    // supervisor (a subreaper) and becomes its zombie a second later.
    r.set_agent({r.script(
        "agent.sh", "#!/bin/sh\nsh -c 'sleep 1 & echo $! >> " + pids + "'\nexec sleep 300\n")});
    REQUIRE(r.para({"start", "idle", "-p", "run"}).exit_code == 0);
    REQUIRE(wait_until([&] { return read_pids(pids).size() == 1; }));
    const int orphan = read_pids(pids)[0];
    const std::string orphan_dir = "/proc/" + std::to_string(orphan);
    CHECK(wait_until([&] { return !fs::exists(orphan_dir); }, std::chrono::seconds(5)));

    const json state = json::parse(read_text(r.state_dir() + "/idle.state"));
    const std::string status =
        "/proc/" + std::to_string(state["agent"]["supervisor_pid"].get<int>()) + "/status";
    auto wakeups = [&] {
      const std::string text = read_text(status);
      const size_t at = text.find("\nvoluntary_ctxt_switches:");
      REQUIRE(at != std::string::npos);
      return std::stol(text.substr(at + 25));
    };
    // Nothing happens to the session for a second: a supervisor that polled
    // (it once woke every 100 ms and read all of /proc) would wake ~10 times.
    const long before = wakeups();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CHECK(wakeups() - before <= 1);

    Completed cancel = r.para({"cancel", "idle", "--force"});
    CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
  }

  TEST_CASE("cancel also stops the agent and every descendant") {
    ParaRepo r;
    const std::string pids = r.scratch() + "/pids";
    r.set_agent(
        {r.script("agent.sh", "#!/bin/sh\necho $$ >> " + pids + "\nsetsid sh -c 'echo $$ >> " +
                                  pids + "; exec sleep 301' &\nexec sleep 300\n")});
    REQUIRE(r.para({"start", "victim", "-p", "run"}).exit_code == 0);
    REQUIRE(wait_until([&] { return read_pids(pids).size() == 2; }));
    Completed cancel = r.para({"cancel", "victim", "--force"});
    REQUIRE_MESSAGE(cancel.exit_code == 0, cancel.err);
    for (int pid : read_pids(pids)) {
      CAPTURE(pid);
      CHECK(wait_until([&] { return !pid_alive(pid); }, std::chrono::seconds(5)));
    }
    CHECK_FALSE(fs::exists(r.state_dir() + "/victim.state"));
  }

  TEST_CASE("resume repairs a missing worktree and relaunches the agent with the stored settings") {
    ParaRepo r;
    const std::string marker = r.scratch() + "/runs";
    r.set_agent(
        {r.script("agent.sh", "#!/bin/sh\nprintf '%s\\n' \"$1\" >> " + marker + "\n"), "{prompt}"});
    REQUIRE(r.para({"start", "again", "-p", "first task"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "again"); }));
    fs::remove_all(r.worktree("again"));
    json resumed = r.para_json({"resume", "again", "-p", "second task"});
    check_output_schema("para_resume", resumed);
    CHECK(fs::exists(r.worktree("again") + "/README.md"));
    CHECK(read_text(r.worktree("again") + "/.para/sessions/again/resume_context.md")
              .find("second task") != std::string::npos);
    REQUIRE(wait_until([&] { return read_text(marker) == "first task\nsecond task\n"; }));
    // The resume context is never committed.
    REQUIRE(wait_until([&] { return agent_done(r, "again"); }));
    REQUIRE(r.para({"finish", "done", "again"}).exit_code == 0);
    const std::string tree = r.repo().git_out({"ls-tree", "-r", "--name-only", "para/again"});
    CHECK(tree.find(".para") == std::string::npos);
    CHECK(tree.find("CLAUDE.local.md") == std::string::npos);
  }
}

}  // namespace para::test
