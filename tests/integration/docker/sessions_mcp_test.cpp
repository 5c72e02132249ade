// Container sessions through para-mcp-server over stdio (the C++ test
// client of tests/integration/mcp): the same lifecycle as the CLI's.

#include <doctest/doctest.h>

#include <cstdlib>

#include "docker/images.h"

#include "tests/integration/docker/session_helpers.h"
#include "tests/integration/mcp/mcp_client.h"
#include "tests/integration/sandbox/session_fixture.h"

namespace para::test {
namespace {

using nlohmann::json;

TEST_SUITE("docker/sessions") {
  TEST_CASE("through MCP: para_start with container=true, then para_finish") {
    ParaRepo r;
    container_config(r, "echo via-mcp > /workspace/mcp.txt\n");
    std::vector<std::string> argv = {"env", "-C", r.path()};
    for (const std::string& e : r.env()) argv.push_back(e);
    argv.push_back(built_binary("para-mcp-server"));
    StdioClient client(argv);
    client.initialize();
    json started = client.request(
        "tools/call",
        {{"name", "para_start"},
         {"arguments", {{"name", "mcpbox"}, {"prompt", "write"}, {"container", true}}}});
    INFO(started.dump());
    REQUIRE(started["result"].value("isError", false) == false);
    CHECK(started["result"]["structuredContent"]["session"]["name"] == "mcpbox");
    REQUIRE(wait_until([&] { return agent_done(r, "mcpbox"); }, std::chrono::seconds(60)));
    json finished = client.request(
        "tools/call", {{"name", "para_finish"},
                       {"arguments", {{"session", "mcpbox"}, {"commit_message", "from mcp"}}}});
    INFO(finished.dump());
    REQUIRE(finished["result"].value("isError", false) == false);
    CHECK(r.repo().git({"show", "para/mcpbox:mcp.txt"}).out == "via-mcp\n");
    CHECK(session_containers("mcpbox").empty());
  }

  TEST_CASE(
      "through MCP: para_docker_build streams the build's steps as progress "
      "notifications") {
    const char* source = std::getenv("PARA_SOURCE_ROOT");
    REQUIRE_MESSAGE(source != nullptr, "run through meson test");
    ParaRepo r;
    std::vector<std::string> argv = {"env", "-C", r.path()};
    for (const std::string& e : r.env()) argv.push_back(e);
    argv.push_back(built_binary("para-mcp-server"));
    StdioClient client(argv);
    client.initialize();
    const std::string tag = "para-mcp-build-test:latest";
    std::vector<json> others;
    json built = client.request("tools/call",
                                {{"name", "para_docker_build"},
                                 {"arguments",
                                  {{"context", std::string(source) + "/examples/agent-image"},
                                   {"tag", tag},
                                   {"add_files", {"/bin/busybox:busybox"}},
                                   {"no_cache", true}}},
                                 {"_meta", {{"progressToken", "build-1"}}}},
                                &others);
    INFO(built.dump());
    REQUIRE(built["result"].value("isError", false) == false);
    CHECK(built["result"]["structuredContent"]["tag"] == tag);
    std::vector<json> steps;
    for (const json& m : others) {
      if (m.value("method", "") == "notifications/progress") steps.push_back(m["params"]);
    }
    REQUIRE(steps.size() >= 2);  // the Dockerfile has 6 steps
    CHECK(steps.front()["progressToken"] == "build-1");
    CHECK(steps.back()["total"] == 100);
    bool named_a_step = false;
    for (const json& p : steps) {
      named_a_step = named_a_step || p.value("message", "").find("Step ") != std::string::npos;
    }
    CHECK(named_a_step);
    (void)docker::remove_image(docker::test::test_client(), tag, true);

    json missing = client.request(
        "tools/call",
        {{"name", "para_docker_build"}, {"arguments", {{"context", r.path() + "/no-such-dir"}}}});
    CHECK(missing["result"].value("isError", false) == true);
  }
}

}  // namespace
}  // namespace para::test
