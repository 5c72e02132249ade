#include "session/state.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/support.h"

namespace para::session {

using nlohmann::json;

TEST_SUITE("session/state") {
  TEST_CASE("para's state files load, unknown fields survive a rewrite") {
    const json para_state = json::parse(R"({
      "name": "quiet_phoenix", "branch": "para/quiet_phoenix",
      "worktree_path": "/r/.para/worktrees/quiet_phoenix",
      "created_at": "2025-07-15T10:00:00Z", "status": "Review",
      "task_description": "fix it", "last_activity": null,
      "git_stats": null, "session_type": {"Container": {"container_id": null}},
      "parent_branch": "main", "dangerous_skip_permissions": true,
      "sandbox_enabled": true, "sandbox_profile": "standard-proxied",
      "from_the_future": [1, 2]
    })");
    Result<SessionState> s = state_from_json(para_state);
    REQUIRE(s);
    CHECK(s->status == SessionStatus::review);
    CHECK(s->is_container);
    CHECK(s->dangerous_skip_permissions);
    CHECK(s->sandbox_profile == "standard-proxied");
    const json back = state_to_json(*s);
    CHECK(back["from_the_future"] == json({1, 2}));
    CHECK(back["session_type"]["Container"]["container_id"].is_null());
    CHECK(back["status"] == "Review");
  }

  TEST_CASE("state files are readable by their owner only") {
    test::TempDir dir;
    SessionState s;
    s.name = "x";
    s.container = {{"docker_args", {"-e", "TOKEN=secret"}}};
    const std::string path = dir / "x.json";
    REQUIRE(save_state(path, s));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }

  TEST_CASE("a state file with a missing or mistyped field names it") {
    Result<SessionState> s = state_from_json(json{{"name", "x"}});
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("state.branch: is required") != std::string::npos);
    Result<SessionState> t = state_from_json(json{{"name", "x"},
                                                  {"branch", "b"},
                                                  {"worktree_path", "/w"},
                                                  {"created_at", "c"},
                                                  {"status", "Sleeping"}});
    REQUIRE_FALSE(t);
    CHECK(t.error().message.find("state.status") != std::string::npos);
  }

  TEST_CASE("a truncated state file is reported as corrupt with what to do") {
    test::TempDir dir;
    SessionState s;
    s.name = "x";
    s.branch = "para/x";
    s.worktree_path = "/w";
    s.created_at = "2026-01-01T00:00:00Z";
    REQUIRE(save_state(dir / "x.state", s));
    REQUIRE(load_state(dir / "x.state"));
    const std::string full = test::read_text(dir / "x.state");
    test::write_text(dir / "x.state", full.substr(0, full.size() / 2));
    Result<SessionState> broken = load_state(dir / "x.state");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("corrupt") != std::string::npos);
    CHECK(broken.error().message.find("para clean") != std::string::npos);
  }

  TEST_CASE("status files round-trip and partial ones count as no status") {
    test::TempDir dir;
    AgentStatus st{.session_name = "x",
                   .current_task = "t",
                   .test_status = "passed",
                   .todos_completed = 1,
                   .todos_total = 3,
                   .additions = 4,
                   .deletions = 2,
                   .last_update = "2026-01-01T00:00:00Z"};
    test::write_text(dir / "s.json", status_to_json(st).dump());
    std::optional<AgentStatus> back = load_status(dir / "s.json");
    REQUIRE(back);
    CHECK(back->todos_total == 3);
    CHECK(back->additions == 4);
    test::write_text(dir / "s.json", "{\"session_name\": ");
    CHECK_FALSE(load_status(dir / "s.json"));
  }
}

}  // namespace para::session
